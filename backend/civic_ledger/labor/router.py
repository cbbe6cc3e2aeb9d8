"""HTTP API of part-time worker protection (`/labor`).

Signed actions follow one pattern (:func:`civic_ledger.platform.actions.add_route_pair`): `POST
…/typed-data` returns the EIP-712 message to sign (nonce, deadline filled in); the actor signs it
with their own key; `POST …` the same fields with `deadline` and `signature` (a contract: both
parties' signatures). The server checks the signer(s), simulates, then relays.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import HTMLResponse

from civic_ledger.api.deps import PlatformDep
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
from civic_ledger.platform import actions
from civic_ledger.types import Address

router = APIRouter(prefix="/labor", tags=["labor"])

Route = actions.Route
_WEEK = [("contract_id", str), ("week_start", date)]
AsOf = Query(
    None, description="Evaluate late and missing payments as of this day (default: today by the chain's clock, KST)."
)


# ------------------------------------------------------------------ minimum wage


@router.get("/minimum-wages", response_model=list[MinimumWageOut], summary="The minimum hourly wage table")
def get_minimum_wages(platform: PlatformDep) -> list[MinimumWageOut]:
    return service.minimum_wages(platform)


actions.add_route_pair(
    router,
    PlatformDep,
    "/minimum-wages",
    Route(
        "minimum_wage_typed_data",
        MinimumWageCreate,
        dict[str, Any],
        summary="Typed data a labour office signs to set a year's minimum wage",
    ),
    Route(
        "set_minimum_wage",
        MinimumWageSet,
        MinimumWageOut,
        summary="Set a year's minimum wage (signed by LABOR_OFFICE)",
        status_code=201,
    ),
    lambda platform, body: service.minimum_wage_typed_data(
        platform, body.year, body.hourly_wage, body.office, body.nonce, body.deadline
    ),
    service.set_minimum_wage,
)


# ------------------------------------------------------------------ contracts


actions.add_route_pair(
    router,
    PlatformDep,
    "/contracts",
    Route(
        "contract_typed_data",
        ContractTypedDataCreate,
        ContractTypedDataOut,
        """Employer and worker sign the same `LaborContract` message; the deadline defaults to 24 h so
    both have time to sign. The response includes the contract id it will get.""",
        summary="Typed data both parties sign to register a contract",
    ),
    Route(
        "register_contract",
        ContractCreate,
        ContractOut,
        """Rejected when a required term is missing (`LaborRecordsMissingTerm`, 422), the wage is below
    the minimum wage of the start year (`LaborRecordsBelowMinimumWage`, 422), the worker is not an
    active citizen, or a signature is not the party's (403).""",
        summary="Register a contract signed by both parties",
        status_code=201,
    ),
    lambda platform, body: service.contract_typed_data(
        platform, TermsCreate(**body.model_dump(exclude={"deadline"})), body.deadline
    ),
    service.register_contract,
)


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


def _by_contract(segment: str, typed: actions.Route, create: actions.Route) -> None:
    """``POST /contracts/{contract_id}/<segment>`` and its ``/typed-data``, served by the service
    functions of the routes' names: ``typed(platform, contract_id, body, body.deadline)`` and
    ``create(platform, contract_id, body)``."""
    prepare, relay = getattr(service, typed.name), getattr(service, create.name)
    actions.add_route_pair(
        router,
        PlatformDep,
        f"/contracts/{{contract_id}}/{segment}",
        typed,
        create,
        lambda platform, body, contract_id: prepare(platform, contract_id, body, body.deadline),
        lambda platform, body, contract_id: relay(platform, contract_id, body),
        [("contract_id", str)],
    )


_by_contract(
    "weeks",
    Route(
        "week_typed_data", WeekTypedDataCreate, TypedDataOut, summary="Typed data the employer signs to record a week"
    ),
    Route(
        "record_week",
        WeekRecord,
        WeekRecordOut,
        """The daily entries stay off chain; their Merkle root, the total minutes and the days worked
    go on chain. The response carries each entry's Merkle proof.""",
        summary="Record a week (signed by the employer)",
        status_code=201,
    ),
)


@router.get(
    "/contracts/{contract_id}/weeks", response_model=list[WeekOut], summary="The contract's weeks with their history"
)
def list_weeks(contract_id: str, platform: PlatformDep) -> list[WeekOut]:
    return service.list_weeks(platform, contract_id)


@router.get("/contracts/{contract_id}/weeks/{week_start}", response_model=WeekOut, summary="One week")
def get_week(contract_id: str, week_start: date, platform: PlatformDep) -> WeekOut:
    return service.get_week(platform, contract_id, week_start)


actions.add_route_pair(
    router,
    PlatformDep,
    "/contracts/{contract_id}/weeks/{week_start}/confirm",
    Route(
        "confirm_typed_data",
        ConfirmTypedDataCreate,
        TypedDataOut,
        summary="Typed data the worker signs to confirm a week as recorded",
        optional=True,
    ),
    Route("confirm_week", Signed, WeekOut, summary="Confirm a week (signed by the worker)"),
    lambda platform, body, contract_id, week_start: service.confirm_typed_data(
        platform, contract_id, week_start, body.deadline if body else None
    ),
    lambda platform, body, contract_id, week_start: service.confirm_week(
        platform, contract_id, week_start, body.deadline, body.signature
    ),
    _WEEK,
)
actions.add_route_pair(
    router,
    PlatformDep,
    "/contracts/{contract_id}/weeks/{week_start}/dispute",
    Route(
        "dispute_typed_data",
        DisputeTypedDataCreate,
        TypedDataOut,
        summary="Typed data the worker signs to dispute a week",
    ),
    Route(
        "dispute_week",
        DisputeRecord,
        WeekOut,
        """The reason stays off chain (its keccak-256 goes on chain); the employer may then record a
    corrected revision of the week.""",
        summary="Dispute a week (signed by the worker)",
    ),
    lambda platform, body, contract_id, week_start: service.dispute_typed_data(
        platform, contract_id, week_start, body, body.deadline
    ),
    lambda platform, body, contract_id, week_start: service.dispute_week(platform, contract_id, week_start, body),
    _WEEK,
)


# ------------------------------------------------------------------ statements


_by_contract(
    "statements",
    Route(
        "statement_typed_data",
        StatementTypedDataCreate,
        TypedDataOut,
        summary="Typed data the employer signs to record a wage statement",
    ),
    Route(
        "record_statement",
        StatementRecord,
        StatementOut,
        summary="Record a wage statement (signed by the employer)",
        status_code=201,
    ),
)


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
