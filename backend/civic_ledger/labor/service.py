"""Part-time worker protection: co-signed contracts, confirmed weeks, wage statements, findings.

Every action is EIP-712 typed data signed by its actor (employer, worker, labour office; a
contract by both parties), declared once in :mod:`civic_ledger.labor.actions` and relayed by the
operator through the platform's one pipeline (:mod:`civic_ledger.platform.actions`): the service
rebuilds the typed data from the request, checks that each signature recovers to its party (403
otherwise), simulates, then relays. Reads come from
the chain's events (the chain is the only store); :mod:`civic_ledger.labor.compliance` turns
them into findings, and :mod:`civic_ledger.labor.evidence` into a verifiable bundle. The pure
half — chain records to views and to the compliance report, the shifts' Merkle tree — is
:mod:`civic_ledger.labor.records`; the EIP-712 types are :mod:`civic_ledger.labor.typed`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3.contract import Contract

from civic_ledger.errors import InvalidInput, NotFound
from civic_ledger.labor import compliance as cx
from civic_ledger.labor.actions import ACTIONS, CONTRACT
from civic_ledger.labor.projections import labor_logs
from civic_ledger.labor.records import (
    _b32,
    _hex,
    _ref,
    _terms_from_event,
    build_contract,
    build_minimum_wages,
    build_statement,
    build_weeks,
    days_mask,
    entry_tuple,
    norm_log,
    parse_contract_id,
    run_compliance,
    summarise_week,
    yyyymmdd,
)
from civic_ledger.labor.schemas import (
    ComplianceOut,
    ContractCreate,
    ContractOut,
    ContractTypedDataOut,
    DisputeCreate,
    DisputeRecord,
    DocumentCheckOut,
    EntryProofOut,
    MinimumWageOut,
    MinimumWageSet,
    StatementCreate,
    StatementOut,
    StatementRecord,
    TermsCreate,
    TypedDataOut,
    WeekCreate,
    WeekOut,
    WeekRecord,
    WeekRecordOut,
)
from civic_ledger.platform import actions, eip712
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.relayer import Receipt
from civic_ledger.platform.runtime import Platform

CONTRACT_NAME = CONTRACT
CONTRACT_SIGNING_TTL_S = 24 * 3600

STATUS_NAMES = {1: "recorded", 2: "confirmed", 3: "disputed"}


def labor(platform: Platform) -> Contract:
    return platform.deployment.contract(CONTRACT_NAME)


def _typed_out(typed: eip712.TypedMessage, signer: str, deadline: int) -> dict[str, Any]:
    return {"typed_data": typed.to_dict(), "digest": _hex(typed.digest()), "signer": signer, "deadline": deadline}


def _typed(
    platform: Platform, key: str, message: dict[str, Any], signer: str, ttl_s: int = eip712.DEFAULT_TTL_S
) -> dict[str, Any]:
    """Typed data of action ``key`` for ``signer``; a deadline (0 or ``None``: now + ``ttl_s``) and the
    office's nonce filled in where missing."""
    message["deadline"] = message.get("deadline") or None
    typed = actions.prepare(platform, ACTIONS[key], message, signer=signer, ttl_s=ttl_s)
    return _typed_out(typed, signer, message["deadline"])


def _relay(
    platform: Platform, key: str, message: dict[str, Any], signer: str, signature: str, *cosignatures: str
) -> Receipt:
    """Check the signature(s) of action ``key`` (403 naming the party and its request field), simulate, relay."""
    action = ACTIONS[key]
    names = [f"{who}_signature" for who in (action.who, *(c.label for c in action.cosigners))]
    signed = actions.Signed(platform, action, message, signature, cosignatures)
    return signed.verify(signer=signer, names=names).send()


def _event_from_receipt(platform: Platform, receipt: Receipt, name: str) -> dict[str, Any]:
    events = getattr(labor(platform).events, name)().process_receipt(receipt.raw)
    if not events:
        raise InvalidInput(f"transaction {receipt.tx_hash} emitted no {name} event")
    return norm_log(events[0])


def _logs(
    platform: Platform,
    name: str | tuple[str, ...],
    *,
    contract_id: str | None = None,
    party: str | None = None,
    week_start: int | None = None,
) -> list[dict[str, Any]]:
    """``name`` events from the index (see :mod:`civic_ledger.labor.projections`), never a log scan."""
    with fresh_read(platform, "the labour records") as (conn, _):
        return labor_logs(conn, labor(platform).abi, name, contract_id=contract_id, party=party, week_start=week_start)


def minimum_wages(platform: Platform) -> list[MinimumWageOut]:
    return build_minimum_wages(_logs(platform, "MinimumWageSet"))


def _wage_message(year: int, hourly_wage: int, office: str, nonce: int | None, deadline: int | None) -> dict[str, Any]:
    return {"year": year, "hourlyWage": hourly_wage, "office": office, "nonce": nonce, "deadline": deadline}


def minimum_wage_typed_data(
    platform: Platform, year: int, hourly_wage: int, office: str, nonce: int | None, deadline: int | None
) -> dict[str, Any]:
    message = _wage_message(year, hourly_wage, office, nonce, deadline)
    out = _typed(platform, "set_minimum_wage", message, office)
    out["nonce"] = message["nonce"]
    return out


def set_minimum_wage(platform: Platform, body: MinimumWageSet) -> MinimumWageOut:
    message = _wage_message(body.year, body.hourly_wage, body.office, body.nonce, body.deadline)
    receipt = _relay(platform, "set_minimum_wage", message, body.office, body.signature)
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
        "breakMinutes": terms.break_minutes,
        "fiveOrMoreEmployees": terms.five_or_more_employees,
        "deadline": deadline,
    }


def terms_tuple(terms: TermsCreate) -> tuple[Any, ...]:
    """The contract's ``Terms`` struct of ``terms`` (what ``registerContract`` takes before the deadline)."""
    return tuple(ACTIONS["register_contract"].args_of(terms_message(terms, 0))[0])


def contract_id_of(employer: str, worker: str, document_hash: str) -> str:
    return _hex(keccak(abi_encode(["address", "address", "bytes32"], [employer, worker, _b32(document_hash)])))


def contract_typed_data(platform: Platform, terms: TermsCreate, deadline: int | None) -> ContractTypedDataOut:
    """Both parties sign the same ``LaborContract``; the deadline defaults to 24 h (time for both)."""
    out = _typed(
        platform, "register_contract", terms_message(terms, deadline or 0), terms.employer, CONTRACT_SIGNING_TTL_S
    )
    return ContractTypedDataOut(
        **out,
        contract_id=contract_id_of(terms.employer, terms.worker, terms.document_hash),
        signers=[terms.employer, terms.worker],
    )


def register_contract(platform: Platform, body: ContractCreate) -> ContractOut:
    message = terms_message(body.terms, body.deadline)
    receipt = _relay(
        platform, "register_contract", message, body.terms.employer, body.employer_signature, body.worker_signature
    )
    log = _event_from_receipt(platform, receipt, "LaborContractRegistered")
    return ContractOut(contract_id=_hex(log["args"]["contractId"]), terms=body.terms, registered=_ref(log))


def _contract_log(platform: Platform, contract_id: str) -> Any:
    logs = _logs(platform, "LaborContractRegistered", contract_id=contract_id)
    if not logs:
        raise NotFound(f"no labour contract {contract_id}", code="LaborRecordsUnknownContract")
    return logs[0]


def get_contract(platform: Platform, contract_id: str) -> ContractOut:
    return build_contract(_contract_log(platform, parse_contract_id(contract_id)))


def list_contracts(platform: Platform, party: str | None = None) -> list[ContractOut]:
    out: list[ContractOut] = []
    for log in _logs(platform, "LaborContractRegistered", party=party or None):
        args = log["args"]
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
    employer, worker = c[0], c[8]
    if int(employer, 16) == 0:
        raise NotFound(f"no labour contract {contract_id}", code="LaborRecordsUnknownContract")
    return employer, worker


def _week_message(
    contract_id: str, week: WeekCreate, deadline: int | None
) -> tuple[dict[str, Any], list[EntryProofOut]]:
    """The ``RecordWeek`` message (with the shifts as the contract's tuples, ``entries``) and the proofs."""
    minutes, mask, root, proofs = summarise_week(week)
    ordered = sorted(week.entries, key=lambda e: (e.date, e.start))
    message = {
        "contractId": _b32(contract_id),
        "weekStart": yyyymmdd(week.week_start),
        "minutesWorked": minutes,
        "daysWorked": mask,
        "entriesRoot": root,
        "revision": week.revision,
        "deadline": deadline,
        "entries": [entry_tuple(e) for e in ordered],
    }
    return message, proofs


def week_typed_data(platform: Platform, contract_id: str, week: WeekCreate, deadline: int | None) -> TypedDataOut:
    contract_id = parse_contract_id(contract_id)
    employer, _ = _employer_of(platform, contract_id)
    message, _ = _week_message(contract_id, week, deadline)
    return TypedDataOut(**_typed(platform, "record_week", message, employer))


def record_week(platform: Platform, contract_id: str, body: WeekRecord) -> WeekRecordOut:
    contract_id = parse_contract_id(contract_id)
    employer, _ = _employer_of(platform, contract_id)
    message, proofs = _week_message(contract_id, body, body.deadline)
    _relay(platform, "record_week", message, employer, body.signature)
    week = get_week(platform, contract_id, body.week_start)
    return WeekRecordOut(**week.model_dump(), proofs=proofs)


def _confirm_message(platform: Platform, contract_id: str, week_start: date, deadline: int | None) -> dict[str, Any]:
    """``ConfirmWeek`` of the week as recorded on chain (its revision, minutes, days and root)."""
    _, revision, minutes, days, root = _week_state(platform, contract_id, week_start)
    return {
        "contractId": _b32(contract_id),
        "weekStart": yyyymmdd(week_start),
        "revision": revision,
        "minutesWorked": minutes,
        "daysWorked": days,
        "entriesRoot": _b32(root),
        "deadline": deadline,
    }


def confirm_typed_data(platform: Platform, contract_id: str, week_start: date, deadline: int | None) -> TypedDataOut:
    contract_id = parse_contract_id(contract_id)
    _, worker = _employer_of(platform, contract_id)
    return TypedDataOut(
        **_typed(platform, "confirm_week", _confirm_message(platform, contract_id, week_start, deadline), worker)
    )


def confirm_week(platform: Platform, contract_id: str, week_start: date, deadline: int, signature: str) -> WeekOut:
    contract_id = parse_contract_id(contract_id)
    _, worker = _employer_of(platform, contract_id)
    _relay(platform, "confirm_week", _confirm_message(platform, contract_id, week_start, deadline), worker, signature)
    return get_week(platform, contract_id, week_start)


def _dispute_message(
    platform: Platform, contract_id: str, week_start: date, body: DisputeCreate, deadline: int | None
) -> dict[str, Any]:
    _, revision, _, _, _ = _week_state(platform, contract_id, week_start)
    return {
        "contractId": _b32(contract_id),
        "weekStart": yyyymmdd(week_start),
        "revision": revision,
        "claimedMinutes": body.claimed_minutes,
        "claimedDays": days_mask(body.claimed_days),
        "reasonHash": keccak(text=body.reason),
        "deadline": deadline,
    }


def dispute_typed_data(
    platform: Platform, contract_id: str, week_start: date, body: DisputeCreate, deadline: int | None
) -> TypedDataOut:
    contract_id = parse_contract_id(contract_id)
    _, worker = _employer_of(platform, contract_id)
    message = _dispute_message(platform, contract_id, week_start, body, deadline)
    return TypedDataOut(**_typed(platform, "dispute_week", message, worker))


def dispute_week(platform: Platform, contract_id: str, week_start: date, body: DisputeRecord) -> WeekOut:
    contract_id = parse_contract_id(contract_id)
    _, worker = _employer_of(platform, contract_id)
    message = _dispute_message(platform, contract_id, week_start, body, body.deadline)
    _relay(platform, "dispute_week", message, worker, body.signature)
    return get_week(platform, contract_id, week_start)


def _week_logs(platform: Platform, contract_id: str, week_start: date | None = None) -> list[dict[str, Any]]:
    week = None if week_start is None else yyyymmdd(week_start)
    return _logs(platform, ("WeekRecorded", "WeekConfirmed", "WeekDisputed"), contract_id=contract_id, week_start=week)


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


def _statement_message(contract_id: str, s: StatementCreate, deadline: int | None) -> dict[str, Any]:
    return {
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
    }


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
    return TypedDataOut(**_typed(platform, "record_statement", _statement_message(contract_id, s, deadline), employer))


def record_statement(platform: Platform, contract_id: str, body: StatementRecord) -> StatementOut:
    contract_id = parse_contract_id(contract_id)
    employer, _ = _employer_of(platform, contract_id)
    check_pay_period(platform, contract_id, body)
    if body.gross_pay >= 2**64:
        raise InvalidInput("the sum of the pay components does not fit 64 bits", code="invalid_amount")
    message = _statement_message(contract_id, body, body.deadline)
    receipt = _relay(platform, "record_statement", message, employer, body.signature)
    log = _event_from_receipt(platform, receipt, "WageStatementRecorded")
    return build_statement(contract_id, log)


def list_statements(platform: Platform, contract_id: str) -> list[StatementOut]:
    contract_id = parse_contract_id(contract_id)
    _employer_of(platform, contract_id)
    return [
        build_statement(contract_id, log) for log in _logs(platform, "WageStatementRecorded", contract_id=contract_id)
    ]


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
