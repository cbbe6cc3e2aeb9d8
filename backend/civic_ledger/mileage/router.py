"""HTTP routes of the mileage area: thin wrappers around :mod:`civic_ledger.mileage.service`.

City actions (programs, validity, merchants, settlements) need a signed-in holder of the role
(``Authorization: Bearer``, from ``/auth/login``); awards and redemptions need the EIP-712
signature of the program's awarder or of the citizen instead. Reports accept ``?format=csv``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from civic_ledger.api.deps import PlatformDep
from civic_ledger.identity.auth import AgencyPrincipal
from civic_ledger.identity.deps import CityAdmin, require_role
from civic_ledger.mileage import service
from civic_ledger.mileage.schemas import (
    AdvanceTime,
    AwardBatchCreate,
    AwardBatchOut,
    AwardBatchTypedDataRequest,
    AwardCreate,
    AwardOut,
    AwardTypedDataRequest,
    BalanceOut,
    LegacyImportCreate,
    LegacyImportOut,
    LegacyTypedDataRequest,
    LiabilityOut,
    MerchantCreate,
    MerchantOut,
    MerchantReportOut,
    PolicyOut,
    ProgramCreate,
    ProgramOut,
    ProgramUpdate,
    RedemptionCreate,
    RedemptionOut,
    RedemptionTypedDataRequest,
    SettlementCreate,
    SettlementOut,
    StatementOut,
    TypedDataOut,
    ValidityUpdate,
)
from civic_ledger.platform import actions
from civic_ledger.types import Address

router = APIRouter(prefix="/mileage", tags=["mileage"])

MerchantRegistrar = Annotated[AgencyPrincipal, Depends(require_role(service.CONTRACT, "MERCHANT_REGISTRAR_ROLE"))]
Treasury = Annotated[AgencyPrincipal, Depends(require_role(service.CONTRACT, "TREASURY_ROLE"))]
FormatQ = Annotated[Literal["json", "csv"], Query(description="`csv` for a spreadsheet export.")]
ProgramId = Annotated[int, Path(ge=1, le=2**32 - 1, description="Program id (from 1).")]
MerchantId = Annotated[int, Path(ge=1, le=2**32 - 1, description="Merchant id (from 1).")]


def _csv(body: str, filename: str) -> Response:
    return Response(body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# -- policy and programs -------------------------------------------------------------------


@router.get("/policy", response_model=PolicyOut, summary="Epochs and validity of points")
def get_policy(platform: PlatformDep) -> PolicyOut:
    return service.policy(platform)


@router.put("/policy", response_model=PolicyOut, summary="Set the validity of points (city admin)")
def put_policy(body: ValidityUpdate, platform: PlatformDep, admin: CityAdmin) -> PolicyOut:
    """Only before the first merchant is registered (409 `CivicMileagePolicyLocked` after)."""
    return service.set_validity(platform, body.validity_epochs)


@router.post(
    "/dev/advance-time",
    response_model=PolicyOut,
    summary="Development chains only: move the chain clock ahead (city admin)",
)
def advance_time(body: AdvanceTime, platform: PlatformDep, admin: CityAdmin) -> PolicyOut:
    """For demonstrating expiry on the embedded chain or anvil; 403 on any other chain."""
    return service.advance_time(platform, body.epochs * service.EPOCH_LENGTH + body.seconds)


@router.post("/programs", response_model=ProgramOut, status_code=201, summary="Register a program (city admin)")
def create_program(body: ProgramCreate, platform: PlatformDep, admin: CityAdmin) -> ProgramOut:
    return service.register_program(platform, body)


@router.get("/programs", response_model=list[ProgramOut], summary="All programs")
def list_programs(platform: PlatformDep) -> list[ProgramOut]:
    return service.programs(platform)


@router.get("/programs/{program_id}", response_model=ProgramOut, summary="One program")
def get_program(program_id: ProgramId, platform: PlatformDep) -> ProgramOut:
    return service.program(platform, program_id)


@router.put("/programs/{program_id}", response_model=ProgramOut, summary="Change awarder / cap, or close (city admin)")
def put_program(program_id: ProgramId, body: ProgramUpdate, platform: PlatformDep, admin: CityAdmin) -> ProgramOut:
    return service.update_program(platform, program_id, body)


# -- awards (signed by the program's awarder) ----------------------------------------------


_PROGRAM = [("program_id", ProgramId)]
Route = actions.Route

actions.add_route_pair(
    router,
    PlatformDep,
    "/programs/{program_id}/awards",
    Route("award_typed_data", AwardTypedDataRequest, TypedDataOut, summary="EIP-712 `Award` for the awarder to sign"),
    Route(
        "create_award",
        AwardCreate,
        AwardOut,
        """Idempotent per `(program, ref)`: a reference awarded before answers `awarded: false` and
    sends nothing. 403 when the signature is not the program awarder's; 409 over the annual cap
    or for a suspended citizen; 422 for an address that is no citizen.""",
        summary="Relay a signed award",
    ),
    lambda platform, body, program_id: service.award_typed_data(platform, program_id, body, body.ttl_s),
    lambda platform, body, program_id: service.award(platform, program_id, body),
    _PROGRAM,
)
actions.add_route_pair(
    router,
    PlatformDep,
    "/programs/{program_id}/awards/batch",
    Route(
        "award_batch_typed_data",
        AwardBatchTypedDataRequest,
        TypedDataOut,
        summary="EIP-712 `AwardBatch` for the awarder to sign",
    ),
    Route(
        "create_award_batch",
        AwardBatchCreate,
        AwardBatchOut,
        "Duplicates, suspended citizens and non-citizens are skipped (listed in `skipped`).",
        summary="Relay a signed batch of up to 256 awards",
    ),
    lambda platform, body, program_id: service.award_batch_typed_data(platform, program_id, body.awards, body.ttl_s),
    lambda platform, body, program_id: service.award_batch(platform, program_id, body),
    _PROGRAM,
)
actions.add_route_pair(
    router,
    PlatformDep,
    "/programs/{program_id}/legacy-imports",
    Route(
        "legacy_typed_data",
        LegacyTypedDataRequest,
        TypedDataOut,
        summary="EIP-712 `ImportLegacy` for the awarder to sign",
    ),
    Route(
        "create_legacy_import",
        LegacyImportCreate,
        LegacyImportOut,
        "Once per (program, citizen): importing the same file again skips everyone (`AlreadyImported`).",
        summary="Relay a signed import of legacy balances",
    ),
    lambda platform, body, program_id: service.legacy_typed_data(platform, program_id, body.entries, body.ttl_s),
    lambda platform, body, program_id: service.import_legacy(platform, program_id, body),
    _PROGRAM,
)


# -- merchants -----------------------------------------------------------------------------


@router.post(
    "/merchants",
    response_model=MerchantOut,
    status_code=201,
    summary="Register a ZeroPay merchant (MERCHANT_REGISTRAR_ROLE)",
)
def create_merchant(body: MerchantCreate, platform: PlatformDep, registrar: MerchantRegistrar) -> MerchantOut:
    return service.register_merchant(platform, body)


@router.get("/merchants", response_model=list[MerchantOut], summary="All merchants")
def list_merchants(platform: PlatformDep) -> list[MerchantOut]:
    return service.merchants(platform)


@router.get("/merchants/{merchant_id}", response_model=MerchantOut, summary="One merchant")
def get_merchant(merchant_id: MerchantId, platform: PlatformDep) -> MerchantOut:
    return service.merchant(platform, merchant_id)


@router.post(
    "/merchants/{merchant_id}/deactivate",
    response_model=MerchantOut,
    summary="Stop a merchant accepting points (MERCHANT_REGISTRAR_ROLE)",
)
def deactivate_merchant(merchant_id: MerchantId, platform: PlatformDep, registrar: MerchantRegistrar) -> MerchantOut:
    return service.deactivate_merchant(platform, merchant_id)


@router.post(
    "/merchants/{merchant_id}/settlements",
    response_model=SettlementOut,
    status_code=201,
    summary="Settle a merchant's redeemed points (TREASURY_ROLE)",
)
def create_settlement(
    merchant_id: MerchantId, body: SettlementCreate, platform: PlatformDep, treasury: Treasury
) -> SettlementOut:
    return service.settle(platform, merchant_id, body)


# -- redemptions (signed by the citizen) ---------------------------------------------------


actions.add_route_pair(
    router,
    PlatformDep,
    "/redemptions",
    Route(
        "redemption_typed_data",
        RedemptionTypedDataRequest,
        TypedDataOut,
        summary="EIP-712 `Redeem` for the citizen to sign",
    ),
    Route(
        "create_redemption",
        RedemptionCreate,
        RedemptionOut,
        """Spends the oldest unexpired points first. 403 for a signature not by the citizen; 404 for an
    unknown or inactive merchant; 409 for more than the unexpired balance or a used nonce.""",
        summary="Relay a signed redemption",
        status_code=201,
    ),
    lambda platform, body: service.redemption_typed_data(
        platform, body.citizen, body.merchant_id, body.amount, body.order_ref, body.ttl_s
    ),
    lambda platform, body: service.redeem(platform, body),
)


# -- balances and reports ------------------------------------------------------------------


@router.get("/balances/{account}", response_model=BalanceOut, summary="A citizen's points by epoch")
def get_balance(account: Address, platform: PlatformDep) -> BalanceOut:
    return service.balance(platform, account)


@router.get(
    "/reports/liability",
    response_model=LiabilityOut,
    summary="Outstanding points per program (awarded − redeemed − expired)",
)
def liability_report(platform: PlatformDep, format: FormatQ = "json") -> LiabilityOut | Response:
    report = service.liability(platform)
    if format == "csv":
        return _csv(service.to_csv([*report.rows, report.total]), "mileage-liability.csv")
    return report


@router.get("/reports/merchants", response_model=MerchantReportOut, summary="Redemptions per merchant per epoch")
def merchant_report(platform: PlatformDep, format: FormatQ = "json") -> MerchantReportOut | Response:
    report = service.merchant_report(platform)
    if format == "csv":
        return _csv(service.to_csv(report.rows), "mileage-merchant-redemptions.csv")
    return report


@router.get("/reports/statements/{account}", response_model=StatementOut, summary="A citizen's statement")
def statement_report(account: Address, platform: PlatformDep, format: FormatQ = "json") -> StatementOut | Response:
    report = service.statement_of(platform, account)
    if format == "csv":
        return _csv(service.to_csv(report.entries), f"mileage-statement-{report.citizen_id}.csv")
    return report
