"""Part-time worker protection: co-signed contracts, confirmed weeks, wage statements, findings.

Every action is EIP-712 typed data signed by its actor (employer, worker, labour office) and
relayed by the operator; the service rebuilds the typed data from the request, checks that the
signature recovers to the right party (403 otherwise), simulates, then relays. Reads come from
the chain's events (the chain is the only store); :mod:`civic_ledger.labor.compliance` turns
them into findings, and :mod:`civic_ledger.labor.evidence` into a verifiable bundle.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3.contract import Contract

from civic_ledger.errors import ContractError, Forbidden, InvalidInput, NotFound
from civic_ledger.labor import compliance as cx
from civic_ledger.labor.schemas import (
    WEEKDAY_NAMES,
    ChainRef,
    ComplianceOut,
    ContractCreate,
    ContractOut,
    ContractTypedDataOut,
    DailyEntry,
    DisputeCreate,
    DisputeRecord,
    DocumentCheckOut,
    EntryProofOut,
    FindingOut,
    MinimumWageOut,
    MinimumWageSet,
    PeriodOut,
    StatementCreate,
    StatementOut,
    StatementRecord,
    TermsCreate,
    TypedDataOut,
    WeekCreate,
    WeekEventOut,
    WeekOut,
    WeekRecord,
    WeekRecordOut,
)
from civic_ledger.platform import eip712
from civic_ledger.platform.relayer import Receipt
from civic_ledger.platform.runtime import Platform

CONTRACT_NAME = "LaborRecords"
OPEN_ENDED = 99991231
CONTRACT_SIGNING_TTL_S = 24 * 3600

ROUNDING = (
    "Exact integer/fraction arithmetic; each amount owed is rounded to the won once per pay period and "
    "component (base pay, weekly holiday pay), halves up; shortfalls are differences of integers."
)

# ------------------------------------------------------------------ EIP-712 types

LABOR_CONTRACT_TYPES = {
    "LaborContract": [
        {"name": "employer", "type": "address"},
        {"name": "worker", "type": "address"},
        {"name": "documentHash", "type": "bytes32"},
        {"name": "workplaceId", "type": "bytes32"},
        {"name": "hourlyWage", "type": "uint32"},
        {"name": "dailyMinutes", "type": "uint16"},
        {"name": "weeklyMinutes", "type": "uint16"},
        {"name": "workDays", "type": "uint8"},
        {"name": "startDate", "type": "uint32"},
        {"name": "endDate", "type": "uint32"},
        {"name": "payCycle", "type": "uint8"},
        {"name": "payDay", "type": "uint8"},
        {"name": "deadline", "type": "uint256"},
    ]
}
RECORD_WEEK_TYPES = {
    "RecordWeek": [
        {"name": "contractId", "type": "bytes32"},
        {"name": "weekStart", "type": "uint32"},
        {"name": "minutesWorked", "type": "uint32"},
        {"name": "daysWorked", "type": "uint8"},
        {"name": "entriesRoot", "type": "bytes32"},
        {"name": "revision", "type": "uint8"},
        {"name": "deadline", "type": "uint256"},
    ]
}
CONFIRM_WEEK_TYPES = {
    "ConfirmWeek": [
        {"name": "contractId", "type": "bytes32"},
        {"name": "weekStart", "type": "uint32"},
        {"name": "revision", "type": "uint8"},
        {"name": "minutesWorked", "type": "uint32"},
        {"name": "daysWorked", "type": "uint8"},
        {"name": "entriesRoot", "type": "bytes32"},
        {"name": "deadline", "type": "uint256"},
    ]
}
DISPUTE_WEEK_TYPES = {
    "DisputeWeek": [
        {"name": "contractId", "type": "bytes32"},
        {"name": "weekStart", "type": "uint32"},
        {"name": "revision", "type": "uint8"},
        {"name": "claimedMinutes", "type": "uint32"},
        {"name": "claimedDays", "type": "uint8"},
        {"name": "reasonHash", "type": "bytes32"},
        {"name": "deadline", "type": "uint256"},
    ]
}
RECORD_WAGE_STATEMENT_TYPES = {
    "RecordWageStatement": [
        {"name": "contractId", "type": "bytes32"},
        {"name": "periodStart", "type": "uint32"},
        {"name": "periodEnd", "type": "uint32"},
        {"name": "paymentDate", "type": "uint32"},
        {"name": "statementHash", "type": "bytes32"},
        {"name": "grossPay", "type": "uint64"},
        {"name": "basePay", "type": "uint64"},
        {"name": "holidayPay", "type": "uint64"},
        {"name": "overtimePay", "type": "uint64"},
        {"name": "otherPay", "type": "uint64"},
        {"name": "deductions", "type": "uint64"},
        {"name": "revision", "type": "uint8"},
        {"name": "deadline", "type": "uint256"},
    ]
}
SET_MINIMUM_WAGE_TYPES = {
    "SetMinimumWage": [
        {"name": "year", "type": "uint16"},
        {"name": "hourlyWage", "type": "uint32"},
        {"name": "office", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}

#: Python type definitions next to the contract constant each must hash to (tested).
TYPEHASH_CONSTANTS = {
    "LABOR_CONTRACT_TYPEHASH": ("LaborContract", LABOR_CONTRACT_TYPES),
    "RECORD_WEEK_TYPEHASH": ("RecordWeek", RECORD_WEEK_TYPES),
    "CONFIRM_WEEK_TYPEHASH": ("ConfirmWeek", CONFIRM_WEEK_TYPES),
    "DISPUTE_WEEK_TYPEHASH": ("DisputeWeek", DISPUTE_WEEK_TYPES),
    "RECORD_WAGE_STATEMENT_TYPEHASH": ("RecordWageStatement", RECORD_WAGE_STATEMENT_TYPES),
    "SET_MINIMUM_WAGE_TYPEHASH": ("SetMinimumWage", SET_MINIMUM_WAGE_TYPES),
}

STATUS_NAMES = {1: "recorded", 2: "confirmed", 3: "disputed"}


# ------------------------------------------------------------------ small helpers


def labor(platform: Platform) -> Contract:
    return platform.deployment.contract(CONTRACT_NAME)


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


def _domain(platform: Platform) -> dict[str, Any]:
    return eip712.domain(CONTRACT_NAME, platform.chain.chain_id, labor(platform).address)


def _typed_out(typed: eip712.TypedMessage, signer: str, deadline: int) -> dict[str, Any]:
    return {"typed_data": typed.to_dict(), "digest": _hex(typed.digest()), "signer": signer, "deadline": deadline}


def _check_signer(typed: eip712.TypedMessage, signature: str, expected: str, role: str) -> None:
    recovered = typed.recover(signature)
    if recovered.lower() != expected.lower():
        raise Forbidden(
            f"{role}_signature is not a signature of this message by the {role} {expected} (it recovers to {recovered}); "
            "sign the typed data returned by the typed-data endpoint with the same fields and deadline",
            code="invalid_signature",
            details={"expected": expected, "recovered": recovered, "role": role},
        )


#: Contract errors whose name the platform's generic rule classifies wrongly, with their status.
_STATUS = {"LaborRecordsMinimumWageUnknown": 422}
_HINT = {
    "LaborRecordsMinimumWageUnknown": "no minimum wage is set for that year (GET /labor/minimum-wages): "
    "a contract can start, and a week be recorded, only in a year with a minimum wage",
}


def _relay(platform: Platform, fn: Any) -> Receipt:
    """Simulate, then relay; a contract error gets the right status and a hint."""
    try:
        return platform.relayer.transact(fn, simulate=True)
    except ContractError as exc:
        if exc.error_name in _STATUS:
            exc.status = _STATUS[exc.error_name]
        hint = _HINT.get(exc.error_name)
        if hint and hint not in exc.message:
            exc.message = f"{exc.message}: {hint}"
        raise


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


def _event_from_receipt(platform: Platform, receipt: Receipt, name: str) -> dict[str, Any]:
    events = getattr(labor(platform).events, name)().process_receipt(receipt.raw)
    if not events:
        raise InvalidInput(f"transaction {receipt.tx_hash} emitted no {name} event")
    return norm_log(events[0])


def _logs(platform: Platform, name: str, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    event = getattr(labor(platform).events, name)()
    from_block = int(platform.deployment.entries[CONTRACT_NAME]["block"])
    logs = [norm_log(lg) for lg in event.get_logs(from_block=from_block, argument_filters=filters or {})]
    return sorted(logs, key=lambda lg: (lg["blockNumber"], lg["logIndex"]))


# ------------------------------------------------------------------ Merkle tree of daily entries


def entry_minutes(entry: DailyEntry) -> int:
    start = entry.start.hour * 60 + entry.start.minute
    end = entry.end.hour * 60 + entry.end.minute
    return end - start - entry.break_minutes


def entry_encoding(entry: DailyEntry) -> bytes:
    start = entry.start.hour * 60 + entry.start.minute
    end = entry.end.hour * 60 + entry.end.minute
    return abi_encode(["uint32", "uint16", "uint16", "uint16"], [yyyymmdd(entry.date), start, end, entry.break_minutes])


def entry_leaf(entry: DailyEntry) -> bytes:
    return keccak(keccak(entry_encoding(entry)))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def merkle_root_and_proofs(leaves: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """Sorted-pair Merkle tree (OpenZeppelin MerkleProof compatible); an odd node moves up as is."""
    if not leaves:
        return b"\x00" * 32, []
    proofs: list[list[bytes]] = [[] for _ in leaves]
    positions = list(range(len(leaves)))  # index of each leaf's node in the current level
    level = list(leaves)
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            nxt.append(_pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i])
        for leaf_index, pos in enumerate(positions):
            sibling = pos ^ 1
            if sibling < len(level):
                proofs[leaf_index].append(level[sibling])
            positions[leaf_index] = pos // 2
        level = nxt
    return level[0], proofs


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
        worked = entry_minutes(entry)
        if worked <= 0:
            raise InvalidInput(
                f"entries.{i}: end {entry.end} minus start {entry.start} minus the break is not positive",
                code="invalid_entry",
            )
        minutes += worked
        mask |= 1 << offset
    ordered = sorted(week.entries, key=lambda e: (e.date, e.start))
    leaves = [entry_leaf(e) for e in ordered]
    root, proofs = merkle_root_and_proofs(leaves)
    out = [
        EntryProofOut(entry=e, leaf=_hex(leaf), proof=[_hex(p) for p in proof], root=_hex(root))
        for e, leaf, proof in zip(ordered, leaves, proofs, strict=True)
    ]
    return minutes, mask, root, out


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


def minimum_wages(platform: Platform) -> list[MinimumWageOut]:
    return build_minimum_wages(_logs(platform, "MinimumWageSet"))


def minimum_wage_typed_data(
    platform: Platform, year: int, hourly_wage: int, office: str, nonce: int | None, deadline: int | None
) -> dict[str, Any]:
    contract = labor(platform)
    nonce = int(contract.functions.nonces(office).call()) if nonce is None else nonce
    deadline = deadline or eip712.deadline(now=platform.chain.now())
    typed = eip712.TypedMessage(
        _domain(platform),
        "SetMinimumWage",
        SET_MINIMUM_WAGE_TYPES,
        {"year": year, "hourlyWage": hourly_wage, "office": office, "nonce": nonce, "deadline": deadline},
    )
    out = _typed_out(typed, office, deadline)
    out["nonce"] = nonce
    return out


def set_minimum_wage(platform: Platform, body: MinimumWageSet) -> MinimumWageOut:
    typed = eip712.TypedMessage(
        _domain(platform),
        "SetMinimumWage",
        SET_MINIMUM_WAGE_TYPES,
        {
            "year": body.year,
            "hourlyWage": body.hourly_wage,
            "office": body.office,
            "nonce": body.nonce,
            "deadline": body.deadline,
        },
    )
    _check_signer(typed, body.signature, body.office, "office")
    fn = labor(platform).functions.setMinimumWage(
        body.year, body.hourly_wage, body.office, body.nonce, body.deadline, _b32(body.signature)
    )
    receipt = _relay(platform, fn)
    log = _event_from_receipt(platform, receipt, "MinimumWageSet")
    return MinimumWageOut(year=body.year, hourly_wage=body.hourly_wage, set_by=body.office, ref=_ref(log))


# ------------------------------------------------------------------ contracts


def terms_message(terms: TermsCreate, deadline: int) -> dict[str, Any]:
    return {
        "employer": terms.employer,
        "worker": terms.worker,
        "documentHash": _b32(terms.document_hash),
        "workplaceId": _b32(terms.workplace_id),
        "hourlyWage": terms.hourly_wage,
        "dailyMinutes": terms.daily_minutes,
        "weeklyMinutes": terms.weekly_minutes,
        "workDays": days_mask(terms.work_days),
        "startDate": yyyymmdd(terms.start_date),
        "endDate": yyyymmdd(terms.end_date),
        "payCycle": 1 if terms.pay_cycle == "weekly" else 2,
        "payDay": terms.pay_day,
        "deadline": deadline,
    }


def terms_tuple(terms: TermsCreate) -> tuple[Any, ...]:
    m = terms_message(terms, 0)
    return tuple(m[f["name"]] for f in LABOR_CONTRACT_TYPES["LaborContract"][:-1])


def contract_id_of(employer: str, worker: str, document_hash: str) -> str:
    return _hex(keccak(abi_encode(["address", "address", "bytes32"], [employer, worker, _b32(document_hash)])))


def contract_typed_message(platform: Platform, terms: TermsCreate, deadline: int) -> eip712.TypedMessage:
    return eip712.TypedMessage(_domain(platform), "LaborContract", LABOR_CONTRACT_TYPES, terms_message(terms, deadline))


def contract_typed_data(platform: Platform, terms: TermsCreate, deadline: int | None) -> ContractTypedDataOut:
    deadline = deadline or eip712.deadline(CONTRACT_SIGNING_TTL_S, now=platform.chain.now())
    typed = contract_typed_message(platform, terms, deadline)
    return ContractTypedDataOut(
        **_typed_out(typed, terms.employer, deadline),
        contract_id=contract_id_of(terms.employer, terms.worker, terms.document_hash),
        signers=[terms.employer, terms.worker],
    )


def register_contract(platform: Platform, body: ContractCreate) -> ContractOut:
    typed = contract_typed_message(platform, body.terms, body.deadline)
    _check_signer(typed, body.employer_signature, body.terms.employer, "employer")
    _check_signer(typed, body.worker_signature, body.terms.worker, "worker")
    fn = labor(platform).functions.registerContract(
        terms_tuple(body.terms), body.deadline, _b32(body.employer_signature), _b32(body.worker_signature)
    )
    receipt = _relay(platform, fn)
    log = _event_from_receipt(platform, receipt, "LaborContractRegistered")
    return ContractOut(contract_id=_hex(log["args"]["contractId"]), terms=body.terms, registered=_ref(log))


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
    )


def _contract_log(platform: Platform, contract_id: str) -> Any:
    logs = _logs(platform, "LaborContractRegistered", {"contractId": _b32(contract_id)})
    if not logs:
        raise NotFound(f"no labour contract {contract_id}", code="LaborRecordsUnknownContract")
    return logs[0]


def build_contract(log: dict[str, Any]) -> ContractOut:
    return ContractOut(
        contract_id=_hex(log["args"]["contractId"]), terms=_terms_from_event(log["args"]), registered=_ref(log)
    )


def get_contract(platform: Platform, contract_id: str) -> ContractOut:
    return build_contract(_contract_log(platform, parse_contract_id(contract_id)))


def list_contracts(platform: Platform, party: str | None = None) -> list[ContractOut]:
    out: list[ContractOut] = []
    for log in _logs(platform, "LaborContractRegistered"):
        args = log["args"]
        if party and party.lower() not in (args["employer"].lower(), args["worker"].lower()):
            continue
        out.append(
            ContractOut(contract_id=_hex(args["contractId"]), terms=_terms_from_event(args), registered=_ref(log))
        )
    return out


def check_document(
    platform: Platform, contract_id: str, document_hash: str | None, document_text: str | None
) -> DocumentCheckOut:
    contract_id = parse_contract_id(contract_id)
    if (document_hash is None) == (document_text is None):
        raise InvalidInput("give exactly one of document_hash or document_text", code="invalid_input")
    given = document_hash if document_hash is not None else _hex(keccak(text=document_text or ""))
    stored = labor(platform).functions.contractOf(_b32(contract_id)).call()
    registered = _hex(stored[-1])
    if int(stored[0], 16) == 0:
        raise NotFound(f"no labour contract {contract_id}", code="LaborRecordsUnknownContract")
    matches = registered.lower() == given.lower()
    return DocumentCheckOut(
        contract_id=contract_id,
        matches=matches,
        given_hash=given,
        registered_hash=registered,
        message="the document is the one both parties signed"
        if matches
        else "the document differs from the one both parties signed (hash mismatch): it was altered or is another document",
    )


# ------------------------------------------------------------------ weeks


def _week_state(platform: Platform, contract_id: str, week_start: date) -> tuple[str, int, int, int, str]:
    """(status, revision, minutes, days mask, root) of a week on chain; 404 when never recorded."""
    w = labor(platform).functions.weekOf(_b32(contract_id), yyyymmdd(week_start)).call()
    minutes, days, status, revision, root = int(w[0]), int(w[1]), int(w[2]), int(w[3]), _hex(w[4])
    if status == 0:
        raise NotFound(
            f"the week of {week_start} of contract {contract_id} was never recorded", code="LaborRecordsUnknownWeek"
        )
    return STATUS_NAMES[status], revision, minutes, days, root


def _employer_of(platform: Platform, contract_id: str) -> tuple[str, str]:
    c = labor(platform).functions.contractOf(_b32(contract_id)).call()
    employer, worker = c[0], c[7]
    if int(employer, 16) == 0:
        raise NotFound(f"no labour contract {contract_id}", code="LaborRecordsUnknownContract")
    return employer, worker


def week_typed_message(
    platform: Platform, contract_id: str, week: WeekCreate, deadline: int
) -> tuple[eip712.TypedMessage, list[EntryProofOut]]:
    minutes, mask, root, proofs = summarise_week(week)
    typed = eip712.TypedMessage(
        _domain(platform),
        "RecordWeek",
        RECORD_WEEK_TYPES,
        {
            "contractId": _b32(contract_id),
            "weekStart": yyyymmdd(week.week_start),
            "minutesWorked": minutes,
            "daysWorked": mask,
            "entriesRoot": root,
            "revision": week.revision,
            "deadline": deadline,
        },
    )
    return typed, proofs


def week_typed_data(platform: Platform, contract_id: str, week: WeekCreate, deadline: int | None) -> TypedDataOut:
    contract_id = parse_contract_id(contract_id)
    employer, _ = _employer_of(platform, contract_id)
    deadline = deadline or eip712.deadline(now=platform.chain.now())
    typed, _ = week_typed_message(platform, contract_id, week, deadline)
    return TypedDataOut(**_typed_out(typed, employer, deadline))


def record_week(platform: Platform, contract_id: str, body: WeekRecord) -> WeekRecordOut:
    contract_id = parse_contract_id(contract_id)
    employer, _ = _employer_of(platform, contract_id)
    typed, proofs = week_typed_message(platform, contract_id, body, body.deadline)
    _check_signer(typed, body.signature, employer, "employer")
    m = typed.message
    fn = labor(platform).functions.recordWeek(
        _b32(contract_id),
        (m["weekStart"], m["minutesWorked"], m["daysWorked"], m["entriesRoot"], m["revision"]),
        body.deadline,
        _b32(body.signature),
    )
    _relay(platform, fn)
    week = get_week(platform, contract_id, body.week_start)
    return WeekRecordOut(**week.model_dump(), proofs=proofs)


def confirm_typed_message(platform: Platform, contract_id: str, week_start: date, deadline: int) -> eip712.TypedMessage:
    status, revision, minutes, days, root = _week_state(platform, contract_id, week_start)
    return eip712.TypedMessage(
        _domain(platform),
        "ConfirmWeek",
        CONFIRM_WEEK_TYPES,
        {
            "contractId": _b32(contract_id),
            "weekStart": yyyymmdd(week_start),
            "revision": revision,
            "minutesWorked": minutes,
            "daysWorked": days,
            "entriesRoot": _b32(root),
            "deadline": deadline,
        },
    )


def confirm_typed_data(platform: Platform, contract_id: str, week_start: date, deadline: int | None) -> TypedDataOut:
    contract_id = parse_contract_id(contract_id)
    _, worker = _employer_of(platform, contract_id)
    deadline = deadline or eip712.deadline(now=platform.chain.now())
    return TypedDataOut(
        **_typed_out(confirm_typed_message(platform, contract_id, week_start, deadline), worker, deadline)
    )


def confirm_week(platform: Platform, contract_id: str, week_start: date, deadline: int, signature: str) -> WeekOut:
    contract_id = parse_contract_id(contract_id)
    _, worker = _employer_of(platform, contract_id)
    typed = confirm_typed_message(platform, contract_id, week_start, deadline)
    _check_signer(typed, signature, worker, "worker")
    fn = labor(platform).functions.confirmWeek(_b32(contract_id), yyyymmdd(week_start), deadline, _b32(signature))
    _relay(platform, fn)
    return get_week(platform, contract_id, week_start)


def dispute_typed_message(
    platform: Platform, contract_id: str, week_start: date, body: DisputeCreate, deadline: int
) -> eip712.TypedMessage:
    _, revision, _, _, _ = _week_state(platform, contract_id, week_start)
    return eip712.TypedMessage(
        _domain(platform),
        "DisputeWeek",
        DISPUTE_WEEK_TYPES,
        {
            "contractId": _b32(contract_id),
            "weekStart": yyyymmdd(week_start),
            "revision": revision,
            "claimedMinutes": body.claimed_minutes,
            "claimedDays": days_mask(body.claimed_days),
            "reasonHash": keccak(text=body.reason),
            "deadline": deadline,
        },
    )


def dispute_typed_data(
    platform: Platform, contract_id: str, week_start: date, body: DisputeCreate, deadline: int | None
) -> TypedDataOut:
    contract_id = parse_contract_id(contract_id)
    _, worker = _employer_of(platform, contract_id)
    deadline = deadline or eip712.deadline(now=platform.chain.now())
    return TypedDataOut(
        **_typed_out(dispute_typed_message(platform, contract_id, week_start, body, deadline), worker, deadline)
    )


def dispute_week(platform: Platform, contract_id: str, week_start: date, body: DisputeRecord) -> WeekOut:
    contract_id = parse_contract_id(contract_id)
    _, worker = _employer_of(platform, contract_id)
    typed = dispute_typed_message(platform, contract_id, week_start, body, body.deadline)
    _check_signer(typed, body.signature, worker, "worker")
    m = typed.message
    fn = labor(platform).functions.disputeWeek(
        _b32(contract_id),
        m["weekStart"],
        m["revision"],
        m["claimedMinutes"],
        m["claimedDays"],
        m["reasonHash"],
        body.deadline,
        _b32(body.signature),
    )
    _relay(platform, fn)
    return get_week(platform, contract_id, week_start)


def _week_logs(platform: Platform, contract_id: str, week_start: date | None = None) -> list[dict[str, Any]]:
    filters: dict[str, Any] = {"contractId": _b32(contract_id)}
    if week_start is not None:
        filters["weekStart"] = yyyymmdd(week_start)
    return [lg for name in ("WeekRecorded", "WeekConfirmed", "WeekDisputed") for lg in _logs(platform, name, filters)]


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
        history=history,
    )


def list_weeks(platform: Platform, contract_id: str) -> list[WeekOut]:
    contract_id = parse_contract_id(contract_id)
    _employer_of(platform, contract_id)
    return build_weeks(contract_id, _week_logs(platform, contract_id))


def get_week(platform: Platform, contract_id: str, week_start: date) -> WeekOut:
    contract_id = parse_contract_id(contract_id)
    weeks = build_weeks(contract_id, _week_logs(platform, contract_id, week_start))
    if not weeks:
        raise NotFound(
            f"the week of {week_start} of contract {contract_id} was never recorded", code="LaborRecordsUnknownWeek"
        )
    return weeks[0]


# ------------------------------------------------------------------ statements


def statement_typed_message(
    platform: Platform, contract_id: str, s: StatementCreate, deadline: int
) -> eip712.TypedMessage:
    return eip712.TypedMessage(
        _domain(platform),
        "RecordWageStatement",
        RECORD_WAGE_STATEMENT_TYPES,
        {
            "contractId": _b32(contract_id),
            "periodStart": yyyymmdd(s.period_start),
            "periodEnd": yyyymmdd(s.period_end),
            "paymentDate": yyyymmdd(s.payment_date),
            "statementHash": _b32(s.statement_hash),
            "grossPay": s.gross_pay,
            "basePay": s.base_pay,
            "holidayPay": s.holiday_pay,
            "overtimePay": s.overtime_pay,
            "otherPay": s.other_pay,
            "deductions": s.deductions,
            "revision": s.revision,
            "deadline": deadline,
        },
    )


def check_pay_period(platform: Platform, contract_id: str, s: StatementCreate) -> None:
    """A statement covers exactly one pay period of the contract's cycle (a week, or a month)."""
    pay_cycle = int(labor(platform).functions.contractOf(_b32(contract_id)).call()[5])
    start, end = cx.period_of(s.period_start, pay_cycle)
    if (s.period_start, s.period_end) != (start, end):
        cycle = "weekly (Monday to Sunday)" if pay_cycle == cx.WEEKLY else "monthly (the 1st to the month's last day)"
        raise InvalidInput(
            f"period_start {s.period_start} / period_end {s.period_end} is not a pay period of this contract, which is paid "
            f"{cycle}: the period containing {s.period_start} is {start} to {end}",
            code="invalid_pay_period",
            details={"expected_period_start": start.isoformat(), "expected_period_end": end.isoformat()},
        )


def statement_typed_data(
    platform: Platform, contract_id: str, s: StatementCreate, deadline: int | None
) -> TypedDataOut:
    contract_id = parse_contract_id(contract_id)
    employer, _ = _employer_of(platform, contract_id)
    check_pay_period(platform, contract_id, s)
    deadline = deadline or eip712.deadline(now=platform.chain.now())
    return TypedDataOut(**_typed_out(statement_typed_message(platform, contract_id, s, deadline), employer, deadline))


def record_statement(platform: Platform, contract_id: str, body: StatementRecord) -> StatementOut:
    contract_id = parse_contract_id(contract_id)
    employer, _ = _employer_of(platform, contract_id)
    check_pay_period(platform, contract_id, body)
    if body.gross_pay >= 2**64:
        raise InvalidInput("the sum of the pay components does not fit 64 bits", code="invalid_amount")
    typed = statement_typed_message(platform, contract_id, body, body.deadline)
    _check_signer(typed, body.signature, employer, "employer")
    m = typed.message
    fn = labor(platform).functions.recordWageStatement(
        _b32(contract_id),
        (
            m["periodStart"],
            m["periodEnd"],
            m["paymentDate"],
            m["statementHash"],
            m["grossPay"],
            m["basePay"],
            m["holidayPay"],
            m["overtimePay"],
            m["otherPay"],
            m["deductions"],
            m["revision"],
        ),
        body.deadline,
        _b32(body.signature),
    )
    receipt = _relay(platform, fn)
    log = _event_from_receipt(platform, receipt, "WageStatementRecorded")
    return build_statement(contract_id, log)


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


def list_statements(platform: Platform, contract_id: str) -> list[StatementOut]:
    contract_id = parse_contract_id(contract_id)
    _employer_of(platform, contract_id)
    return [
        build_statement(contract_id, log)
        for log in _logs(platform, "WageStatementRecorded", {"contractId": _b32(contract_id)})
    ]


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
    )


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
                holiday_owed=p.holiday_owed,
                holiday_weeks=p.holiday_weeks,
                paid_gross=p.statement.gross_pay if p.statement else None,
                statement_payment_date=p.statement.payment_date if p.statement else None,
                amount_short=p.shortfall,
            )
            for p in report.periods
        ],
        rounding=ROUNDING,
    )


def chain_today(platform: Platform) -> date:
    """Today by the chain's latest block time (UTC+9, Seoul)."""
    ts = int(platform.chain.w3.eth.get_block("latest")["timestamp"])
    return (datetime.fromtimestamp(ts, tz=UTC) + timedelta(hours=9)).date()


def compliance(platform: Platform, contract_id: str, as_of: date | None = None) -> ComplianceOut:
    contract = get_contract(platform, contract_id)
    table = {m.year: m.hourly_wage for m in minimum_wages(platform)}
    return run_compliance(
        contract.contract_id,
        contract.terms,
        list_weeks(platform, contract.contract_id),
        list_statements(platform, contract.contract_id),
        table,
        as_of or chain_today(platform),
    )
