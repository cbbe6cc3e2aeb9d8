"""HTTP routes of the mileage area: thin wrappers around :mod:`civic_ledger.mileage.service`.

City actions (programs, validity, merchants, settlements) need a signed-in holder of the role
(``Authorization: Bearer``, from ``/auth/login``); awards and redemptions need the EIP-712
signature of the program's awarder or of the citizen instead. Reports accept ``?format=csv``.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from civic_ledger.api.deps import PlatformDep
from civic_ledger.identity.auth import AgencyPrincipal
from civic_ledger.identity.deps import CityAdmin, require_role
from civic_ledger.mileage import schemas, service
from civic_ledger.platform import routes
from civic_ledger.types import Address

router = APIRouter(prefix="/mileage", tags=["mileage"])

MerchantRegistrar = Annotated[AgencyPrincipal, Depends(require_role(service.CONTRACT, "MERCHANT_REGISTRAR_ROLE"))]
Treasury = Annotated[AgencyPrincipal, Depends(require_role(service.CONTRACT, "TREASURY_ROLE"))]
FormatQ = Annotated[Literal["json", "csv"], Query(description="`csv` for a spreadsheet export.")]
ProgramId = Annotated[int, Path(ge=1, le=2**32 - 1, description="Program id (from 1).")]
MerchantId = Annotated[int, Path(ge=1, le=2**32 - 1, description="Merchant id (from 1).")]
_PROGRAM = [("program_id", ProgramId)]
_MERCHANT = [("merchant_id", MerchantId)]
#: Every signed action answers the typed data for its signer to sign.
Pair = partial(routes.Pair, typed_response=schemas.TypedDataOut)


def _csv(body: str, filename: str) -> Response:
    return Response(body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# -- policy and programs -------------------------------------------------------------------


@router.put("/policy", response_model=schemas.PolicyOut, summary="Set the validity of points (city admin)")
def put_policy(body: schemas.ValidityUpdate, platform: PlatformDep, admin: CityAdmin) -> schemas.PolicyOut:
    """Only before the first merchant is registered (409 `CivicMileagePolicyLocked` after)."""
    return service.set_validity(platform, body.validity_epochs)


@router.post(
    "/dev/advance-time",
    response_model=schemas.PolicyOut,
    summary="Development chains only: move the chain clock ahead (city admin)",
)
def advance_time(body: schemas.AdvanceTime, platform: PlatformDep, admin: CityAdmin) -> schemas.PolicyOut:
    """For demonstrating expiry on the embedded chain or anvil; 403 on any other chain."""
    return service.advance_time(platform, body.epochs * service.EPOCH_LENGTH + body.seconds)


PROGRAMS: list[routes.Entry] = [
    routes.get("/policy", service.policy, schemas.PolicyOut, "Epochs and validity of points", name="get_policy"),
    routes.post(
        "/programs",
        service.register_program,
        schemas.ProgramOut,
        "Register a program (city admin)",
        name="create_program",
        body=schemas.ProgramCreate,
        guard=CityAdmin,
        status_code=201,
    ),
    routes.get("/programs", service.programs, list[schemas.ProgramOut], "All programs", name="list_programs"),
    routes.get(
        "/programs/{program_id}",
        service.program,
        schemas.ProgramOut,
        "One program",
        name="get_program",
        params=_PROGRAM,
    ),
    routes.put(
        "/programs/{program_id}",
        service.update_program,
        schemas.ProgramOut,
        "Change awarder / cap, or close (city admin)",
        name="put_program",
        params=_PROGRAM,
        body=schemas.ProgramUpdate,
        guard=CityAdmin,
    ),
]

# -- awards (signed by the program's awarder) ----------------------------------------------

AWARDS: list[routes.Entry] = [
    Pair(
        "create_award",
        "/programs/{program_id}/awards",
        schemas.AwardTypedDataRequest,
        schemas.AwardCreate,
        lambda platform, program_id, body: service.award_typed_data(platform, program_id, body, body.ttl_s),
        service.award,
        params=_PROGRAM,
        typed_name="award_typed_data",
        typed_summary="EIP-712 `Award` for the awarder to sign",
        response=schemas.AwardOut,
        summary="Relay a signed award",
        doc="""Idempotent per `(program, ref)`: a reference awarded before answers `awarded: false` and
    sends nothing. 403 when the signature is not the program awarder's; 409 over the annual cap
    or for a suspended citizen; 422 for an address that is no citizen.""",
    ),
    Pair(
        "create_award_batch",
        "/programs/{program_id}/awards/batch",
        schemas.AwardBatchTypedDataRequest,
        schemas.AwardBatchCreate,
        lambda platform, program_id, body: service.award_batch_typed_data(
            platform, program_id, body.awards, body.ttl_s
        ),
        service.award_batch,
        params=_PROGRAM,
        typed_name="award_batch_typed_data",
        typed_summary="EIP-712 `AwardBatch` for the awarder to sign",
        response=schemas.AwardBatchOut,
        summary="Relay a signed batch of up to 256 awards",
        doc="Duplicates, suspended citizens and non-citizens are skipped (listed in `skipped`).",
    ),
    Pair(
        "create_legacy_import",
        "/programs/{program_id}/legacy-imports",
        schemas.LegacyTypedDataRequest,
        schemas.LegacyImportCreate,
        lambda platform, program_id, body: service.legacy_typed_data(platform, program_id, body.entries, body.ttl_s),
        service.import_legacy,
        params=_PROGRAM,
        typed_name="legacy_typed_data",
        typed_summary="EIP-712 `ImportLegacy` for the awarder to sign",
        response=schemas.LegacyImportOut,
        summary="Relay a signed import of legacy balances",
        doc="Once per (program, citizen): importing the same file again skips everyone (`AlreadyImported`).",
    ),
]

# -- merchants -----------------------------------------------------------------------------

MERCHANTS: list[routes.Entry] = [
    routes.post(
        "/merchants",
        service.register_merchant,
        schemas.MerchantOut,
        "Register a ZeroPay merchant (MERCHANT_REGISTRAR_ROLE)",
        name="create_merchant",
        body=schemas.MerchantCreate,
        guard=MerchantRegistrar,
        status_code=201,
    ),
    routes.get("/merchants", service.merchants, list[schemas.MerchantOut], "All merchants", name="list_merchants"),
    routes.get(
        "/merchants/{merchant_id}",
        service.merchant,
        schemas.MerchantOut,
        "One merchant",
        name="get_merchant",
        params=_MERCHANT,
    ),
    routes.post(
        "/merchants/{merchant_id}/deactivate",
        service.deactivate_merchant,
        schemas.MerchantOut,
        "Stop a merchant accepting points (MERCHANT_REGISTRAR_ROLE)",
        params=_MERCHANT,
        guard=MerchantRegistrar,
    ),
    routes.post(
        "/merchants/{merchant_id}/settlements",
        service.settle,
        schemas.SettlementOut,
        "Settle a merchant's redeemed points (TREASURY_ROLE)",
        name="create_settlement",
        params=_MERCHANT,
        body=schemas.SettlementCreate,
        guard=Treasury,
        status_code=201,
    ),
]

# -- redemptions (signed by the citizen), balances -----------------------------------------

POINTS: list[routes.Entry] = [
    Pair(
        "create_redemption",
        "/redemptions",
        schemas.RedemptionTypedDataRequest,
        schemas.RedemptionCreate,
        lambda platform, body: service.redemption_typed_data(
            platform, body.citizen, body.merchant_id, body.amount, body.order_ref, body.ttl_s
        ),
        service.redeem,
        typed_name="redemption_typed_data",
        typed_summary="EIP-712 `Redeem` for the citizen to sign",
        response=schemas.RedemptionOut,
        summary="Relay a signed redemption",
        doc="""Spends the oldest unexpired points first. 403 for a signature not by the citizen; 404 for an
    unknown or inactive merchant; 409 for more than the unexpired balance or a used nonce.""",
        status_code=201,
    ),
    routes.get(
        "/balances/{account}",
        service.balance,
        schemas.BalanceOut,
        "A citizen's points by epoch",
        name="get_balance",
        params=[("account", Address)],
    ),
]

routes.add_routes(router, PlatformDep, [*PROGRAMS, *AWARDS, *MERCHANTS, *POINTS])


# -- reports -------------------------------------------------------------------------------


@router.get(
    "/reports/liability",
    response_model=schemas.LiabilityOut,
    summary="Outstanding points per program (awarded − redeemed − expired)",
)
def liability_report(platform: PlatformDep, format: FormatQ = "json") -> schemas.LiabilityOut | Response:
    report = service.liability(platform)
    if format == "csv":
        return _csv(service.to_csv([*report.rows, report.total]), "mileage-liability.csv")
    return report


@router.get(
    "/reports/merchants", response_model=schemas.MerchantReportOut, summary="Redemptions per merchant per epoch"
)
def merchant_report(platform: PlatformDep, format: FormatQ = "json") -> schemas.MerchantReportOut | Response:
    report = service.merchant_report(platform)
    if format == "csv":
        return _csv(service.to_csv(report.rows), "mileage-merchant-redemptions.csv")
    return report


@router.get("/reports/statements/{account}", response_model=schemas.StatementOut, summary="A citizen's statement")
def statement_report(
    account: Address, platform: PlatformDep, format: FormatQ = "json"
) -> schemas.StatementOut | Response:
    report = service.statement_of(platform, account)
    if format == "csv":
        return _csv(service.to_csv(report.entries), f"mileage-statement-{report.citizen_id}.csv")
    return report
