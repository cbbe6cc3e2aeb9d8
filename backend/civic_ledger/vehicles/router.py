"""HTTP routes of the used-car history area: thin wrappers around :mod:`civic_ledger.vehicles.service`.

Every record is a pair of routes (:class:`civic_ledger.platform.routes.Pair`), one for each action of
the one table of actions (:data:`civic_ledger.vehicles.actions.ACTIONS`): ``POST .../typed-data``
answers the EIP-712 typed data for the named signer to sign, ``POST ...`` relays it signed. No
session is needed: the signature is the authority, and the contract checks the signer's role. A VIN
that is not 17 characters of the ISO 3779 alphabet is a 422 naming the VIN.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from civic_ledger.api.deps import PlatformDep
from civic_ledger.platform import routes
from civic_ledger.types import example_document
from civic_ledger.vehicles import html, reads, service
from civic_ledger.vehicles.schemas import REQUESTS, InspectionOut, RecordOut, TypedDataOut, VehicleOut

router = APIRouter(prefix="/vehicles", tags=["vehicles"])

VinPath = Annotated[str, Path(description="The VIN (17 characters, ISO 3779; spaces and hyphens are ignored).")]
_VIN = [("vin", VinPath)]

#: action key → (path below /vehicles/{vin}, summary)
PATHS: dict[str, tuple[str, str]] = {
    "reading": ("readings", "an odometer reading (inspector, registry, shop, dealer or owner)"),
    "inspection": ("inspections", "a performance/condition inspection record (inspector)"),
    "claim": ("claims", "an accident / flood / total-loss claim (insurer)"),
    "encumbrance": ("encumbrances", "set or lift a lien or seizure (registry)"),
    "maintenance": ("maintenance", "a maintenance entry with its odometer reading (shop)"),
    "purchase": ("purchases", "a dealer's purchase from the owner (dealer and seller sign)"),
    "offer": ("offers", "the owner's sale offer, bound to the current inspection (seller)"),
    "accept": ("acceptances", "the buyer's acceptance of an offer, naming its inspection (buyer)"),
}


def _record(key: str, segment: str, summary: str) -> routes.Pair:
    """The routes of record ``key`` of a registered vehicle: ``POST /{vin}/<segment>`` and its ``/typed-data``."""
    return routes.Pair(
        f"record_{key}",
        f"/{{vin}}/{segment}",
        *REQUESTS[key],
        lambda platform, vin, body: service.typed_data(platform, key, vin, body),
        lambda platform, vin, body: service.relay(platform, key, vin, body),
        params=_VIN,
        typed_name=f"{key}_typed_data",
        typed_response=TypedDataOut,
        typed_summary=f"Typed data: {summary}",
        response=RecordOut,
        summary=f"Relay {summary}",
        status_code=201,
    )


VEHICLES: list[routes.Entry] = [
    routes.Pair(
        "register",
        "",
        *REQUESTS["register"],
        lambda platform, body: service.typed_data(platform, "register", body.vin, body),
        lambda platform, body: service.relay(platform, "register", body.vin, body),
        typed_response=TypedDataOut,
        typed_summary="Typed data to register a vehicle (registry)",
        response=RecordOut,
        summary="Register a vehicle (registry-signed)",
        doc="""403 when the signer is no REGISTRY_ROLE holder or the owner is neither an active citizen nor a dealer;
    409 when the VIN is registered already.""",
        status_code=201,
    ),
    routes.get(  # before /{vin}/...: an inspection id is no VIN
        "/inspections/{inspection_id}",
        reads.inspection,
        InspectionOut,
        "One inspection record",
        name="get_inspection",
        params=[("inspection_id", Annotated[int, Path(ge=1, le=2**48 - 1)])],
    ),
    routes.get(
        "/{vin}",
        reads.vehicle,
        VehicleOut,
        "A vehicle now: owner, highest reading, open offer",
        name="get_vehicle",
        params=_VIN,
    ),
    *(_record(key, segment, summary) for key, (segment, summary) in PATHS.items()),
]

routes.add_routes(router, PlatformDep, VEHICLES)


@router.get(
    "/{vin}/history",
    summary="The buyer's history report: timeline and flags (JSON or HTML)",
    responses={
        200: {"content": {"application/json": {"example": example_document("vehicles-history")}, "text/html": {}}}
    },
)
def get_history(
    vin: VinPath,
    platform: PlatformDep,
    format: Annotated[Literal["json", "html"], Query(description="`html`: a page with a mileage chart.")] = "json",
) -> Any:
    """Registration, owners, trades, readings, inspections, claims, liens and maintenance, with flags
    (rollback refused, implausible mileage, flood, total loss, active lien, inspection expired,
    inspection/odometer mismatch). `civic-ledger vehicles verify` re-derives it from a node."""
    report = reads.history(platform, vin)
    return HTMLResponse(html.render(report)) if format == "html" else report
