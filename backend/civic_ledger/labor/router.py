"""HTTP API of part-time worker protection (`/labor`).

Signed actions follow one pattern: `POST …/typed-data` returns the EIP-712 message to sign (nonce,
deadline filled in); the actor signs it with their own key; `POST …` the same fields with
`deadline` and `signature`. The server checks the signer, simulates, then relays.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import HTMLResponse

from civic_ledger.api.deps import PlatformDep
from civic_ledger.api.types import Address
from civic_ledger.labor import evidence, service
from civic_ledger.labor.schemas import (
    ComplianceOut,
    ConfirmTypedDataCreate,
    ContractCreate,
    ContractOut,
    ContractTypedDataCreate,
    ContractTypedDataOut,
    DisputeRecord,
    DisputeTypedDataCreate,
    DocumentCheck,
    DocumentCheckOut,
    MinimumWageCreate,
    MinimumWageOut,
    MinimumWageSet,
    Signed,
    StatementOut,
    StatementRecord,
    StatementTypedDataCreate,
    TermsCreate,
    TypedDataOut,
    VerifyOut,
    WeekOut,
    WeekRecord,
    WeekRecordOut,
    WeekTypedDataCreate,
)

router = APIRouter(prefix="/labor", tags=["labor"])

AsOf = Query(
    None, description="Evaluate late and missing payments as of this day (default: today by the chain's clock, KST)."
)


# ------------------------------------------------------------------ minimum wage


@router.get("/minimum-wages", response_model=list[MinimumWageOut], summary="The minimum hourly wage table")
def get_minimum_wages(platform: PlatformDep) -> list[MinimumWageOut]:
    return service.minimum_wages(platform)


@router.post("/minimum-wages/typed-data", summary="Typed data a labour office signs to set a year's minimum wage")
def minimum_wage_typed_data(body: MinimumWageCreate, platform: PlatformDep) -> dict[str, Any]:
    return service.minimum_wage_typed_data(
        platform, body.year, body.hourly_wage, body.office, body.nonce, body.deadline
    )


@router.post(
    "/minimum-wages",
    response_model=MinimumWageOut,
    status_code=201,
    summary="Set a year's minimum wage (signed by LABOR_OFFICE)",
)
def set_minimum_wage(body: MinimumWageSet, platform: PlatformDep) -> MinimumWageOut:
    return service.set_minimum_wage(platform, body)


# ------------------------------------------------------------------ contracts


@router.post(
    "/contracts/typed-data",
    response_model=ContractTypedDataOut,
    summary="Typed data both parties sign to register a contract",
)
def contract_typed_data(body: ContractTypedDataCreate, platform: PlatformDep) -> ContractTypedDataOut:
    """Employer and worker sign the same `LaborContract` message; the deadline defaults to 24 h so
    both have time to sign. The response includes the contract id it will get."""
    terms = TermsCreate(**body.model_dump(exclude={"deadline"}))
    return service.contract_typed_data(platform, terms, body.deadline)


@router.post(
    "/contracts", response_model=ContractOut, status_code=201, summary="Register a contract signed by both parties"
)
def register_contract(body: ContractCreate, platform: PlatformDep) -> ContractOut:
    """Rejected when a required term is missing (`LaborRecordsMissingTerm`, 422), the wage is below
    the minimum wage of the start year (`LaborRecordsBelowMinimumWage`, 422), the worker is not an
    active citizen, or a signature is not the party's (403)."""
    return service.register_contract(platform, body)


@router.get("/contracts", response_model=list[ContractOut], summary="Contracts, optionally of one party")
def list_contracts(platform: PlatformDep, party: Address | None = None) -> list[ContractOut]:
    return service.list_contracts(platform, party)


@router.get("/contracts/{contract_id}", response_model=ContractOut, summary="One contract's terms and its chain record")
def get_contract(contract_id: str, platform: PlatformDep) -> ContractOut:
    return service.get_contract(platform, contract_id)


@router.post(
    "/contracts/{contract_id}/document-check",
    response_model=DocumentCheckOut,
    summary="Is this the document both parties signed?",
)
def check_document(contract_id: str, body: DocumentCheck, platform: PlatformDep) -> DocumentCheckOut:
    return service.check_document(platform, contract_id, body.document_hash, body.document_text)


# ------------------------------------------------------------------ weeks


@router.post(
    "/contracts/{contract_id}/weeks/typed-data",
    response_model=TypedDataOut,
    summary="Typed data the employer signs to record a week",
)
def week_typed_data(contract_id: str, body: WeekTypedDataCreate, platform: PlatformDep) -> TypedDataOut:
    return service.week_typed_data(platform, contract_id, body, body.deadline)


@router.post(
    "/contracts/{contract_id}/weeks",
    response_model=WeekRecordOut,
    status_code=201,
    summary="Record a week (signed by the employer)",
)
def record_week(contract_id: str, body: WeekRecord, platform: PlatformDep) -> WeekRecordOut:
    """The daily entries stay off chain; their Merkle root, the total minutes and the days worked
    go on chain. The response carries each entry's Merkle proof."""
    return service.record_week(platform, contract_id, body)


@router.get(
    "/contracts/{contract_id}/weeks", response_model=list[WeekOut], summary="The contract's weeks with their history"
)
def list_weeks(contract_id: str, platform: PlatformDep) -> list[WeekOut]:
    return service.list_weeks(platform, contract_id)


@router.get("/contracts/{contract_id}/weeks/{week_start}", response_model=WeekOut, summary="One week")
def get_week(contract_id: str, week_start: date, platform: PlatformDep) -> WeekOut:
    return service.get_week(platform, contract_id, week_start)


@router.post(
    "/contracts/{contract_id}/weeks/{week_start}/confirm/typed-data",
    response_model=TypedDataOut,
    summary="Typed data the worker signs to confirm a week as recorded",
)
def confirm_typed_data(
    contract_id: str, week_start: date, platform: PlatformDep, body: ConfirmTypedDataCreate | None = None
) -> TypedDataOut:
    return service.confirm_typed_data(platform, contract_id, week_start, body.deadline if body else None)


@router.post(
    "/contracts/{contract_id}/weeks/{week_start}/confirm",
    response_model=WeekOut,
    summary="Confirm a week (signed by the worker)",
)
def confirm_week(contract_id: str, week_start: date, body: Signed, platform: PlatformDep) -> WeekOut:
    return service.confirm_week(platform, contract_id, week_start, body.deadline, body.signature)


@router.post(
    "/contracts/{contract_id}/weeks/{week_start}/dispute/typed-data",
    response_model=TypedDataOut,
    summary="Typed data the worker signs to dispute a week",
)
def dispute_typed_data(
    contract_id: str, week_start: date, body: DisputeTypedDataCreate, platform: PlatformDep
) -> TypedDataOut:
    return service.dispute_typed_data(platform, contract_id, week_start, body, body.deadline)


@router.post(
    "/contracts/{contract_id}/weeks/{week_start}/dispute",
    response_model=WeekOut,
    summary="Dispute a week (signed by the worker)",
)
def dispute_week(contract_id: str, week_start: date, body: DisputeRecord, platform: PlatformDep) -> WeekOut:
    """The reason stays off chain (its keccak-256 goes on chain); the employer may then record a
    corrected revision of the week."""
    return service.dispute_week(platform, contract_id, week_start, body)


# ------------------------------------------------------------------ statements


@router.post(
    "/contracts/{contract_id}/statements/typed-data",
    response_model=TypedDataOut,
    summary="Typed data the employer signs to record a wage statement",
)
def statement_typed_data(contract_id: str, body: StatementTypedDataCreate, platform: PlatformDep) -> TypedDataOut:
    return service.statement_typed_data(platform, contract_id, body, body.deadline)


@router.post(
    "/contracts/{contract_id}/statements",
    response_model=StatementOut,
    status_code=201,
    summary="Record a wage statement (signed by the employer)",
)
def record_statement(contract_id: str, body: StatementRecord, platform: PlatformDep) -> StatementOut:
    return service.record_statement(platform, contract_id, body)


@router.get(
    "/contracts/{contract_id}/statements", response_model=list[StatementOut], summary="The contract's wage statements"
)
def list_statements(contract_id: str, platform: PlatformDep) -> list[StatementOut]:
    return service.list_statements(platform, contract_id)


# ------------------------------------------------------------------ compliance and evidence


@router.get(
    "/contracts/{contract_id}/compliance",
    response_model=ComplianceOut,
    summary="Findings: minimum wage, holiday pay, late or missing pay",
)
def get_compliance(contract_id: str, platform: PlatformDep, as_of: date | None = AsOf) -> ComplianceOut:
    return service.compliance(platform, contract_id, as_of)


@router.get(
    "/contracts/{contract_id}/evidence", summary="Evidence bundle (JSON) with the chain reference of every record"
)
def get_evidence(contract_id: str, platform: PlatformDep, as_of: date | None = AsOf) -> dict[str, Any]:
    return evidence.build_bundle(platform, contract_id, as_of)


@router.get(
    "/contracts/{contract_id}/evidence.html", response_class=HTMLResponse, summary="Evidence report (printable HTML)"
)
def get_evidence_html(contract_id: str, platform: PlatformDep, as_of: date | None = AsOf) -> HTMLResponse:
    return HTMLResponse(evidence.render_html(evidence.build_bundle(platform, contract_id, as_of)))


@router.post(
    "/evidence/verify",
    response_model=VerifyOut,
    summary="Re-check an evidence bundle's chain references against this node",
)
def verify_evidence(
    platform: PlatformDep, bundle: Annotated[dict[str, Any], Body(description="A bundle from `/evidence`.")]
) -> VerifyOut:
    """LaborRecords' address, deploy block and ABI are the server's deployment's, never the bundle's
    (`deployment` in the answer says which; a bundle naming another contract fails the `deployment` check)."""
    from civic_ledger.platform.trust import TrustedDeployment

    return evidence.verify_bundle(TrustedDeployment.from_platform(platform), bundle)
