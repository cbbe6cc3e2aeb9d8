"""Chain records of the labour area as views, and the views as a compliance report (pure: no
chain access, so the server and an evidence verifier derive the same things from the same
records). Also the daily entries (shifts) of a week: their validation, their on-chain encoding
and their Merkle tree (the platform's OpenZeppelin ``StandardMerkleTree``).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import date
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import to_checksum_address
from hexbytes import HexBytes

from civic_ledger.errors import InvalidInput
from civic_ledger.labor import compliance as cx
from civic_ledger.labor.schemas import (
    WEEKDAY_NAMES,
    ChainRef,
    ComplianceOut,
    ContractOut,
    DailyEntry,
    EntryProofOut,
    FindingOut,
    MinimumWageOut,
    PeriodOut,
    RuleOut,
    StatementOut,
    TermsCreate,
    WeekCreate,
    WeekEventOut,
    WeekOut,
)
from civic_ledger.platform import merkle
from civic_ledger.platform.merkle import StandardMerkleTree

OPEN_ENDED = 99991231

ROUNDING = (
    "Exact integer/fraction arithmetic; each amount owed is rounded to the won once per pay period and "
    "component (straight time, overtime, holiday work, night premium, weekly holiday pay), halves up; "
    "shortfalls are differences of integers."
)


def _b32(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def _hex(value: bytes | HexBytes | str) -> str:
    if isinstance(value, str):
        return "0x" + value.removeprefix("0x").lower()
    return "0x" + bytes(value).hex()


def days_mask(days: Sequence[str]) -> int:
    return sum(1 << WEEKDAY_NAMES.index(d) for d in set(days))


def mask_days(mask: int) -> list[str]:
    return [WEEKDAY_NAMES[i] for i in range(7) if mask >> i & 1]


def yyyymmdd(value: date) -> int:
    return cx.to_yyyymmdd(value)


def parse_contract_id(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(
            f"contract id {value!r:.80} must be a string: 0x followed by 64 hex digits", code="invalid_contract_id"
        )
    text = value.removeprefix("0x")
    if len(text) != 64:
        raise InvalidInput(
            f"contract id {value!r:.80} must be 0x followed by 64 hex digits", code="invalid_contract_id"
        )
    if not all(c in string.hexdigits for c in text):
        raise InvalidInput(f"contract id {value!r:.80} is not hexadecimal", code="invalid_contract_id")
    return "0x" + text.lower()


def jsonable(value: Any) -> Any:
    """Event args as plain JSON: bytes as 0x-hex, structs as objects, ints as ints."""
    if isinstance(value, (bytes, bytearray)):
        return _hex(bytes(value))
    if hasattr(value, "keys"):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


#: The keys of a decoded event log that say where it is on chain, in the order of its JSON form:
#: (the ``ChainRef`` field that holds it, how it is written as plain JSON).
_LOG_PLACE: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "event": ("event", str),
    "address": ("contract_address", to_checksum_address),
    "transactionHash": ("tx_hash", _hex),
    "blockNumber": ("block_number", int),
    "blockHash": ("block_hash", _hex),
    "logIndex": ("log_index", int),
}


def norm_log(log: Any) -> dict[str, Any]:
    """A decoded event log as plain JSON (the form records take in evidence bundles)."""
    return {**{key: plain(log[key]) for key, (_, plain) in _LOG_PLACE.items()}, "args": jsonable(log["args"])}


def _ref(log: dict[str, Any]) -> ChainRef:
    """Where a log in the plain JSON form of :func:`norm_log` is on chain."""
    return ChainRef(**{name: log[key] for key, (name, _) in _LOG_PLACE.items()})


# ------------------------------------------------------------------ daily entries (shifts) and their Merkle tree


def entry_span(entry: DailyEntry) -> tuple[int, int]:
    """(start minute, end minute) after the start day's midnight; an end not after the start is the next day."""
    start = entry.start.hour * 60 + entry.start.minute
    end = entry.end.hour * 60 + entry.end.minute
    return start, end + 1440 if end <= start else end


def entry_minutes(entry: DailyEntry) -> int:
    start, end = entry_span(entry)
    return end - start - entry.break_minutes


def entry_tuple(entry: DailyEntry) -> tuple[int, int, int, int, bool]:
    """The entry as the contract's `DayEntry` struct (and Merkle leaf) fields."""
    start, end = entry_span(entry)
    return yyyymmdd(entry.date), start, end, entry.break_minutes, entry.holiday


ENTRY_ENCODING = ["uint32", "uint16", "uint16", "uint16", "bool"]  # the `DayEntry` fields, a Merkle leaf each


def entry_encoding(entry: DailyEntry) -> bytes:
    return abi_encode(ENTRY_ENCODING, list(entry_tuple(entry)))


def entry_from_chain(value: Any) -> DailyEntry:
    """A `DayEntry` of a WeekRecorded event (a JSON object or a tuple) as a DailyEntry."""
    keys = ["date", "startMinute", "endMinute", "breakMinutes", "holiday"]
    v = {k: (value[k] if hasattr(value, "keys") else value[i]) for i, k in enumerate(keys)}
    start, end = int(v["startMinute"]), int(v["endMinute"]) % 1440
    return DailyEntry(
        date=cx.from_yyyymmdd(int(v["date"])),
        start=f"{start // 60:02d}:{start % 60:02d}",  # type: ignore[arg-type]
        end=f"{end // 60:02d}:{end % 60:02d}",  # type: ignore[arg-type]
        break_minutes=int(v["breakMinutes"]),
        holiday=bool(v["holiday"]),
    )


def entry_leaf(entry: DailyEntry) -> bytes:
    return merkle.leaf_hash(ENTRY_ENCODING, entry_tuple(entry))


def entries_tree(entries: Sequence[DailyEntry]) -> StandardMerkleTree:
    """``StandardMerkleTree.of(entries, ENTRY_ENCODING)``: the tree whose root ``LaborRecords``
    computes from a week's shifts (``entriesRoot``)."""
    return StandardMerkleTree.of([entry_tuple(e) for e in entries], ENTRY_ENCODING)


def summarise_week(week: WeekCreate) -> tuple[int, int, bytes, list[EntryProofOut]]:
    """Validate the entries of a week; (minutes, days mask, Merkle root, proofs)."""
    if week.week_start.weekday() != 0:
        raise InvalidInput(
            f"week_start {week.week_start} is a {week.week_start:%A}, not a Monday", code="invalid_week_start"
        )
    minutes = 0
    mask = 0
    for i, entry in enumerate(week.entries):
        offset = (entry.date - week.week_start).days
        if not 0 <= offset <= 6:
            raise InvalidInput(
                f"entries.{i}.date {entry.date} is not in the week starting {week.week_start}", code="invalid_entry"
            )
        start, end = entry_span(entry)
        if entry.break_minutes >= end - start:
            raise InvalidInput(
                f"entries.{i}: the break of {entry.break_minutes} min is not shorter than the shift {entry.start}–"
                f"{entry.end} ({end - start} min{'; it ends the next day' if end > 1440 else ''})",
                code="invalid_entry",
            )
        minutes += entry_minutes(entry)
        mask |= 1 << offset
    ordered = sorted(week.entries, key=lambda e: (e.date, e.start))
    previous_end, previous = -1, None
    for entry in ordered:
        start, end = entry_span(entry)
        offset = (entry.date - week.week_start).days
        if offset * 1440 + start < previous_end:
            raise InvalidInput(
                f"the shift {entry.date} {entry.start}–{entry.end} overlaps the shift {previous}", code="invalid_entry"
            )
        previous_end, previous = offset * 1440 + end, f"{entry.date} {entry.start}–{entry.end}"
    if not ordered:
        return minutes, mask, b"\x00" * 32, []  # the contract's root of a week without entries
    tree = entries_tree(ordered)
    out = [
        EntryProofOut(entry=e, leaf=_hex(tree.leaf_hash(value)), proof=tree.proof(i), root=tree.root)
        for (i, value), e in zip(tree.entries(), ordered, strict=True)
    ]
    return minutes, mask, tree.root_bytes, out


# ------------------------------------------------------------------ minimum wage


def build_minimum_wages(logs: list[dict[str, Any]]) -> list[MinimumWageOut]:
    latest: dict[int, MinimumWageOut] = {}
    for log in logs:
        args = log["args"]
        office = args["office"]
        latest[int(args["year"])] = MinimumWageOut(
            year=int(args["year"]),
            hourly_wage=int(args["hourlyWage"]),
            set_by=None if int(office, 16) == 0 else office,
            ref=_ref(log),
        )
    return [latest[y] for y in sorted(latest)]


def _terms_from_event(args: Any) -> TermsCreate:
    t = args["terms"]
    get = (lambda k, i: t[k]) if hasattr(t, "keys") else (lambda k, i: t[i])
    return TermsCreate(
        employer=get("employer", 0),
        worker=get("worker", 1),
        document_hash=_hex(get("documentHash", 2)),
        workplace_id=_hex(get("workplaceId", 3)),
        hourly_wage=int(get("hourlyWage", 4)),
        daily_minutes=int(get("dailyMinutes", 5)),
        weekly_minutes=int(get("weeklyMinutes", 6)),
        work_days=mask_days(int(get("workDays", 7))),  # type: ignore[arg-type]
        start_date=cx.from_yyyymmdd(int(get("startDate", 8))),
        end_date=cx.from_yyyymmdd(int(get("endDate", 9))),
        pay_cycle="weekly" if int(get("payCycle", 10)) == 1 else "monthly",
        pay_day=int(get("payDay", 11)),
        break_minutes=int(get("breakMinutes", 12)),
        five_or_more_employees=bool(get("fiveOrMoreEmployees", 13)),
    )


def build_contract(log: dict[str, Any]) -> ContractOut:
    return ContractOut(
        contract_id=_hex(log["args"]["contractId"]), terms=_terms_from_event(log["args"]), registered=_ref(log)
    )


#: Each chain event of a week: the ``action`` it is, and its fields of ``WeekEventOut`` beyond
#: ``revision`` and ``ref``, each read from the event's args.
_WEEK_EVENTS: dict[str, tuple[str, dict[str, Callable[[Any], Any]]]] = {
    "WeekRecorded": (
        "recorded",
        {
            "minutes_worked": lambda a: a["minutesWorked"],
            "days_worked": lambda a: mask_days(a["daysWorked"]),
            "entries_root": lambda a: _hex(a["entriesRoot"]),
            "entries": lambda a: [entry_from_chain(e) for e in a.get("entries", [])],
        },
    ),
    "WeekConfirmed": ("confirmed", {}),
    "WeekDisputed": (
        "disputed",
        {
            "claimed_minutes": lambda a: a["claimedMinutes"],
            "claimed_days": lambda a: mask_days(a["claimedDays"]),
            "reason_hash": lambda a: _hex(a["reasonHash"]),
        },
    ),
}


def _week_histories(logs: list[dict[str, Any]]) -> dict[int, list[WeekEventOut]]:
    by_week: dict[int, list[WeekEventOut]] = {}
    for log in sorted(logs, key=lambda lg: (lg["blockNumber"], lg["logIndex"])):
        if log["event"] not in _WEEK_EVENTS:
            continue
        action, readers = _WEEK_EVENTS[log["event"]]
        a = log["args"]
        ev = WeekEventOut(
            action=action,  # type: ignore[arg-type]
            revision=a["revision"],
            ref=_ref(log),
            **{name: read(a) for name, read in readers.items()},
        )
        by_week.setdefault(int(a["weekStart"]), []).append(ev)
    return by_week


def build_weeks(contract_id: str, logs: list[dict[str, Any]]) -> list[WeekOut]:
    histories = _week_histories(logs)
    return [_week_out(contract_id, k, histories[k]) for k in sorted(histories)]


def _week_out(contract_id: str, week_key: int, history: list[WeekEventOut]) -> WeekOut:
    last_record = [e for e in history if e.action == "recorded"][-1]
    status = "recorded"
    for e in history:
        if e.revision == last_record.revision and e.action != "recorded":
            status = e.action
    return WeekOut(
        contract_id=contract_id,
        week_start=cx.from_yyyymmdd(week_key),
        status=status,  # type: ignore[arg-type]
        revision=last_record.revision,
        minutes_worked=last_record.minutes_worked or 0,
        days_worked=last_record.days_worked or [],
        entries_root=last_record.entries_root or "0x" + "00" * 32,
        entries=last_record.entries or [],
        history=history,
    )


def _as_is(value: Any) -> Any:
    return value


#: The components of a ``WageStatement`` struct, in order: the ``StatementOut`` field each fills, and
#: how (dates are yyyymmdd on chain, the hash bytes32).
_STATEMENT: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "periodStart": ("period_start", cx.from_yyyymmdd),
    "periodEnd": ("period_end", cx.from_yyyymmdd),
    "paymentDate": ("payment_date", cx.from_yyyymmdd),
    "statementHash": ("statement_hash", _hex),
    "grossPay": ("gross_pay", _as_is),
    "basePay": ("base_pay", _as_is),
    "holidayPay": ("holiday_pay", _as_is),
    "overtimePay": ("overtime_pay", _as_is),
    "otherPay": ("other_pay", _as_is),
    "deductions": ("deductions", _as_is),
    "revision": ("revision", _as_is),
}


def build_statement(contract_id: str, log: dict[str, Any]) -> StatementOut:
    s = log["args"]["statement"]
    v = {
        name: convert(s[key] if hasattr(s, "keys") else s[i])
        for i, (key, (name, convert)) in enumerate(_STATEMENT.items())
    }
    return StatementOut(contract_id=contract_id, **v, net_pay=v["gross_pay"] - v["deductions"], ref=_ref(log))


# ------------------------------------------------------------------ compliance


def engine_terms(terms: TermsCreate) -> cx.Terms:
    return cx.Terms(
        hourly_wage=terms.hourly_wage,
        daily_minutes=terms.daily_minutes,
        weekly_minutes=terms.weekly_minutes,
        work_days=days_mask(terms.work_days),
        start_date=terms.start_date,
        end_date=terms.end_date,
        pay_cycle=1 if terms.pay_cycle == "weekly" else 2,
        pay_day=terms.pay_day,
        break_minutes=terms.break_minutes,
        five_or_more=terms.five_or_more_employees,
    )


def engine_shift(entry: DailyEntry) -> cx.Shift:
    start, end = entry_span(entry)
    return cx.Shift(entry.date, start, end, entry.break_minutes, entry.holiday)


def engine_week(week: WeekOut) -> cx.WeekLog:
    claimed_minutes = claimed_days = None
    if week.status == "disputed":
        dispute = [e for e in week.history if e.action == "disputed" and e.revision == week.revision][-1]
        claimed_minutes = dispute.claimed_minutes
        claimed_days = days_mask(dispute.claimed_days or [])
    return cx.WeekLog(
        week_start=week.week_start,
        minutes_worked=week.minutes_worked,
        days_worked=days_mask(week.days_worked),
        status=week.status,
        revision=week.revision,
        claimed_minutes=claimed_minutes,
        claimed_days=claimed_days,
        shifts=tuple(engine_shift(e) for e in week.entries),
    )


def engine_statement(s: StatementOut) -> cx.Statement:
    return cx.Statement(**{f.name: getattr(s, f.name) for f in fields(cx.Statement)})


def run_compliance(
    contract_id: str,
    terms: TermsCreate,
    weeks: list[WeekOut],
    statements: list[StatementOut],
    table: dict[int, int],
    as_of: date,
) -> ComplianceOut:
    report = cx.check(
        engine_terms(terms), [engine_week(w) for w in weeks], [engine_statement(s) for s in statements], table, as_of
    )
    return ComplianceOut(
        contract_id=contract_id,
        as_of=as_of,
        total_amount_owed=report.total_amount_owed,
        findings=[FindingOut.model_validate(f, from_attributes=True) for f in report.findings],
        periods=[
            PeriodOut.model_validate(
                {
                    **vars(p),
                    "paid_gross": p.statement.gross_pay if p.statement else None,
                    "statement_payment_date": p.statement.payment_date if p.statement else None,
                    "amount_short": p.shortfall,
                }
            )
            for p in report.periods
        ],
        rules=[RuleOut.model_validate(r, from_attributes=True) for r in report.rules],
        rounding=ROUNDING,
    )
