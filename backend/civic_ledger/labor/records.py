"""Chain records of the labour area as views, and the views as a compliance report (pure: no
chain access, so the server and an evidence verifier derive the same things from the same
records). Also the daily entries (shifts) of a week: their validation, their on-chain encoding
and their Merkle tree (the platform's OpenZeppelin ``StandardMerkleTree``).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
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


def norm_log(log: Any) -> dict[str, Any]:
    """A decoded event log as plain JSON (the form records take in evidence bundles)."""
    return {
        "event": str(log["event"]),
        "address": to_checksum_address(log["address"]),
        "transactionHash": _hex(log["transactionHash"]),
        "blockNumber": int(log["blockNumber"]),
        "blockHash": _hex(log["blockHash"]),
        "logIndex": int(log["logIndex"]),
        "args": jsonable(log["args"]),
    }


def _ref(log: dict[str, Any]) -> ChainRef:
    return ChainRef(
        event=log["event"],
        contract_address=log["address"],
        tx_hash=log["transactionHash"],
        block_number=log["blockNumber"],
        block_hash=log["blockHash"],
        log_index=log["logIndex"],
    )


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


def _week_histories(logs: list[dict[str, Any]]) -> dict[int, list[WeekEventOut]]:
    by_week: dict[int, list[WeekEventOut]] = {}
    for log in sorted(logs, key=lambda lg: (lg["blockNumber"], lg["logIndex"])):
        a = log["args"]
        if log["event"] == "WeekRecorded":
            ev = WeekEventOut(
                action="recorded",
                revision=a["revision"],
                ref=_ref(log),
                minutes_worked=a["minutesWorked"],
                days_worked=mask_days(a["daysWorked"]),
                entries_root=_hex(a["entriesRoot"]),
                entries=[entry_from_chain(e) for e in a.get("entries", [])],
            )
        elif log["event"] == "WeekConfirmed":
            ev = WeekEventOut(action="confirmed", revision=a["revision"], ref=_ref(log))
        elif log["event"] == "WeekDisputed":
            ev = WeekEventOut(
                action="disputed",
                revision=a["revision"],
                ref=_ref(log),
                claimed_minutes=a["claimedMinutes"],
                claimed_days=mask_days(a["claimedDays"]),
                reason_hash=_hex(a["reasonHash"]),
            )
        else:
            continue
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


def build_statement(contract_id: str, log: dict[str, Any]) -> StatementOut:
    s = log["args"]["statement"]
    keys = [
        "periodStart",
        "periodEnd",
        "paymentDate",
        "statementHash",
        "grossPay",
        "basePay",
        "holidayPay",
        "overtimePay",
        "otherPay",
        "deductions",
        "revision",
    ]
    v = {k: (s[k] if hasattr(s, "keys") else s[i]) for i, k in enumerate(keys)}
    return StatementOut(
        contract_id=contract_id,
        period_start=cx.from_yyyymmdd(v["periodStart"]),
        period_end=cx.from_yyyymmdd(v["periodEnd"]),
        payment_date=cx.from_yyyymmdd(v["paymentDate"]),
        statement_hash=_hex(v["statementHash"]),
        gross_pay=v["grossPay"],
        base_pay=v["basePay"],
        holiday_pay=v["holidayPay"],
        overtime_pay=v["overtimePay"],
        other_pay=v["otherPay"],
        deductions=v["deductions"],
        net_pay=v["grossPay"] - v["deductions"],
        revision=v["revision"],
        ref=_ref(log),
    )


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
    return cx.Statement(
        period_start=s.period_start,
        period_end=s.period_end,
        payment_date=s.payment_date,
        gross_pay=s.gross_pay,
        base_pay=s.base_pay,
        holiday_pay=s.holiday_pay,
        overtime_pay=s.overtime_pay,
        other_pay=s.other_pay,
        deductions=s.deductions,
        revision=s.revision,
    )


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
        findings=[
            FindingOut(
                kind=f.kind,
                legal_basis=f.legal_basis,
                period_start=f.period_start,
                period_end=f.period_end,
                amount_owed=f.amount_owed,
                message=f.message,
                weeks=list(f.weeks),
                details=f.details,
            )
            for f in report.findings
        ],
        periods=[
            PeriodOut(
                period_start=p.period_start,
                period_end=p.period_end,
                due_date=p.due_date,
                weeks=p.weeks,
                minutes_worked=p.minutes_worked,
                hourly_rate_owed=p.hourly_rate_owed,
                base_owed=p.base_owed,
                overtime_owed=p.overtime_owed,
                holiday_work_owed=p.holiday_work_owed,
                night_owed=p.night_owed,
                holiday_owed=p.holiday_owed,
                overtime_minutes=p.overtime_minutes,
                holiday_work_minutes=p.holiday_work_minutes,
                night_minutes=p.night_minutes,
                holiday_weeks=p.holiday_weeks,
                paid_gross=p.statement.gross_pay if p.statement else None,
                statement_payment_date=p.statement.payment_date if p.statement else None,
                amount_short=p.shortfall,
            )
            for p in report.periods
        ],
        rules=[
            RuleOut(rule=r.rule, legal_basis=r.legal_basis, applies=r.applies, reason=r.reason) for r in report.rules
        ],
        rounding=ROUNDING,
    )
