"""HTTP API of part-time worker protection (`/labor`).

Signed actions follow one pattern (:class:`civic_ledger.platform.routes.Pair`): `POST
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
from civic_ledger.labor import evidence, schemas, service
from civic_ledger.platform import routes
from civic_ledger.types import Address

router = APIRouter(prefix="/labor", tags=["labor"])

_CONTRACT = [("contract_id", str)]
_WEEK = [("contract_id", str), ("week_start", date)]
AsOf = Query(
    None, description="Evaluate late and missing payments as of this day (default: today by the chain's clock, KST)."
)
_AS_OF = ("as_of", date | None, AsOf)


# ------------------------------------------------------------------ minimum wage and contracts

CONTRACTS: list[routes.Entry] = [
    routes.get(
        "/minimum-wages",
        service.minimum_wages,
        list[schemas.MinimumWageOut],
        "The minimum hourly wage table",
        name="get_minimum_wages",
    ),
    routes.Pair(
        "set_minimum_wage",
        "/minimum-wages",
        schemas.MinimumWageCreate,
        schemas.MinimumWageSet,
        lambda platform, body: service.minimum_wage_typed_data(
            platform, body.year, body.hourly_wage, body.office, body.nonce, body.deadline
        ),
        service.set_minimum_wage,
        typed_name="minimum_wage_typed_data",
        typed_response=schemas.MinimumWageTypedDataOut,
        typed_summary="Typed data a labour office signs to set a year's minimum wage",
        response=schemas.MinimumWageOut,
        summary="Set a year's minimum wage (signed by LABOR_OFFICE)",
        status_code=201,
    ),
    routes.Pair(
        "register_contract",
        "/contracts",
        schemas.ContractTypedDataCreate,
        schemas.ContractCreate,
        lambda platform, body: service.contract_typed_data(
            platform, schemas.TermsCreate(**body.model_dump(exclude={"deadline"})), body.deadline
        ),
        service.register_contract,
        typed_name="contract_typed_data",
        typed_response=schemas.ContractTypedDataOut,
        typed_summary="Typed data both parties sign to register a contract",
        typed_doc="""Employer and worker sign the same `LaborContract` message; the deadline defaults to 24 h so
    both have time to sign. The response includes the contract id it will get.""",
        response=schemas.ContractOut,
        summary="Register a contract signed by both parties",
        doc="""Rejected when a required term is missing (`LaborRecordsMissingTerm`, 422), the wage is below
    the minimum wage of the start year (`LaborRecordsBelowMinimumWage`, 422), the worker is not an
    active citizen, or a signature is not the party's (403).""",
        status_code=201,
    ),
    routes.get(
        "/contracts",
        service.list_contracts,
        list[schemas.ContractOut],
        "Contracts, optionally of one party",
        params=[("party", Address | None, None)],
    ),
    routes.get(
        "/contracts/{contract_id}",
        service.get_contract,
        schemas.ContractOut,
        "One contract's terms and its chain record",
        params=_CONTRACT,
    ),
]

# ------------------------------------------------------------------ weeks and statements
# The employer signs a week or a statement, the worker confirms or disputes a week.

RECORDS: list[routes.Entry] = [
    routes.Pair(
        "record_week",
        "/contracts/{contract_id}/weeks",
        schemas.WeekTypedDataCreate,
        schemas.WeekRecord,
        lambda platform, contract_id, body: service.week_typed_data(platform, contract_id, body, body.deadline),
        service.record_week,
        params=_CONTRACT,
        typed_name="week_typed_data",
        typed_response=schemas.TypedDataOut,
        typed_summary="Typed data the employer signs to record a week",
        response=schemas.WeekRecordOut,
        summary="Record a week (signed by the employer)",
        doc="""The daily entries stay off chain; their Merkle root, the total minutes and the days worked
    go on chain. The response carries each entry's Merkle proof.""",
        status_code=201,
    ),
    routes.get(
        "/contracts/{contract_id}/weeks",
        service.list_weeks,
        list[schemas.WeekOut],
        "The contract's weeks with their history",
        params=_CONTRACT,
    ),
    routes.get(
        "/contracts/{contract_id}/weeks/{week_start}", service.get_week, schemas.WeekOut, "One week", params=_WEEK
    ),
    routes.Pair(
        "confirm_week",
        "/contracts/{contract_id}/weeks/{week_start}/confirm",
        schemas.ConfirmTypedDataCreate,
        schemas.Signed,
        lambda platform, contract_id, week_start, body: service.confirm_typed_data(
            platform, contract_id, week_start, body.deadline if body else None
        ),
        lambda platform, contract_id, week_start, body: service.confirm_week(
            platform, contract_id, week_start, body.deadline, body.signature
        ),
        params=_WEEK,
        optional=True,
        typed_name="confirm_typed_data",
        typed_response=schemas.TypedDataOut,
        typed_summary="Typed data the worker signs to confirm a week as recorded",
        response=schemas.WeekOut,
        summary="Confirm a week (signed by the worker)",
    ),
    routes.Pair(
        "dispute_week",
        "/contracts/{contract_id}/weeks/{week_start}/dispute",
        schemas.DisputeTypedDataCreate,
        schemas.DisputeRecord,
        lambda platform, contract_id, week_start, body: service.dispute_typed_data(
            platform, contract_id, week_start, body, body.deadline
        ),
        service.dispute_week,
        params=_WEEK,
        typed_name="dispute_typed_data",
        typed_response=schemas.TypedDataOut,
        typed_summary="Typed data the worker signs to dispute a week",
        response=schemas.WeekOut,
        summary="Dispute a week (signed by the worker)",
        doc="""The reason stays off chain (its keccak-256 goes on chain); the employer may then record a
    corrected revision of the week.""",
    ),
    routes.Pair(
        "record_statement",
        "/contracts/{contract_id}/statements",
        schemas.StatementTypedDataCreate,
        schemas.StatementRecord,
        lambda platform, contract_id, body: service.statement_typed_data(platform, contract_id, body, body.deadline),
        service.record_statement,
        params=_CONTRACT,
        typed_name="statement_typed_data",
        typed_response=schemas.TypedDataOut,
        typed_summary="Typed data the employer signs to record a wage statement",
        response=schemas.StatementOut,
        summary="Record a wage statement (signed by the employer)",
        status_code=201,
    ),
    routes.get(
        "/contracts/{contract_id}/statements",
        service.list_statements,
        list[schemas.StatementOut],
        "The contract's wage statements",
        params=_CONTRACT,
    ),
]

# ------------------------------------------------------------------ compliance and evidence

FINDINGS: list[routes.Entry] = [
    routes.get(
        "/contracts/{contract_id}/compliance",
        service.compliance,
        schemas.ComplianceOut,
        "Findings: minimum wage, holiday pay, late or missing pay",
        name="get_compliance",
        params=[*_CONTRACT, _AS_OF],
    ),
    routes.get(
        "/contracts/{contract_id}/evidence",
        evidence.build_bundle,
        schemas.EvidenceBundle,
        "Evidence bundle (JSON) with the chain reference of every record",
        name="get_evidence",
        params=[*_CONTRACT, _AS_OF],
    ),
]

routes.add_routes(router, PlatformDep, [*CONTRACTS, *RECORDS, *FINDINGS])


@router.post(
    "/contracts/{contract_id}/document-check",
    response_model=schemas.DocumentCheckOut,
    summary="Is this the document both parties signed?",
)
def check_document(contract_id: str, body: schemas.DocumentCheck, platform: PlatformDep) -> schemas.DocumentCheckOut:
    return service.check_document(platform, contract_id, body.document_hash, body.document_text)


@router.get(
    "/contracts/{contract_id}/evidence.html", response_class=HTMLResponse, summary="Evidence report (printable HTML)"
)
def get_evidence_html(contract_id: str, platform: PlatformDep, as_of: date | None = AsOf) -> HTMLResponse:
    return HTMLResponse(evidence.render_html(evidence.build_bundle(platform, contract_id, as_of)))


@router.post(
    "/evidence/verify",
    response_model=schemas.VerifyOut,
    summary="Re-check an evidence bundle's chain references against this node",
)
def verify_evidence(
    platform: PlatformDep,
    bundle: Annotated[
        dict[str, Any], Body(description="A bundle from `/evidence`.", examples=[schemas.EVIDENCE_BUNDLE_EXAMPLE])
    ],
) -> schemas.VerifyOut:
    """LaborRecords' address, deploy block and ABI are the server's deployment's, never the bundle's
    (`deployment` in the answer says which; a bundle naming another contract fails the `deployment` check)."""
    from civic_ledger.platform.trust import TrustedDeployment

    return evidence.verify_bundle(TrustedDeployment.from_platform(platform), bundle)
