"""HTTP routes of the used-car history area: thin wrappers around :mod:`civic_ledger.vehicles.service`.

Every record is a pair of routes, generated from the one table of actions
(:data:`civic_ledger.vehicles.actions.ACTIONS`): ``POST .../typed-data`` answers the EIP-712 typed
data for the named signer to sign, ``POST ...`` relays it signed. No session is needed: the
signature is the authority, and the contract checks the signer's role. A VIN that is not 17
characters of the ISO 3779 alphabet is a 422 naming the VIN.
"""

# No ``from __future__ import annotations``: the routes are made in a loop, and FastAPI reads their
# annotations (the request models differ per record) when they are registered.

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from civic_ledger.api.deps import PlatformDep
from civic_ledger.vehicles import html, reads, service
from civic_ledger.vehicles.schemas import REQUESTS, InspectionOut, RecordOut, TypedDataOut, VehicleOut

router = APIRouter(prefix="/vehicles", tags=["vehicles"])

VinPath = Annotated[str, Path(description="The VIN (17 characters, ISO 3779; spaces and hyphens are ignored).")]

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


@router.post("/typed-data", response_model=TypedDataOut, summary="Typed data to register a vehicle (registry)")
def register_typed_data(body: REQUESTS["register"][0], platform: PlatformDep) -> TypedDataOut:  # type: ignore[valid-type]
    return service.typed_data(platform, "register", body.vin, body)  # type: ignore[attr-defined]


@router.post("", response_model=RecordOut, status_code=201, summary="Register a vehicle (registry-signed)")
def register(body: REQUESTS["register"][1], platform: PlatformDep) -> RecordOut:  # type: ignore[valid-type]
    """403 when the signer is no REGISTRY_ROLE holder or the owner is neither an active citizen nor a dealer;
    409 when the VIN is registered already."""
    return service.relay(platform, "register", body.vin, body)  # type: ignore[attr-defined]


@router.get("/inspections/{inspection_id}", response_model=InspectionOut, summary="One inspection record")
def get_inspection(inspection_id: Annotated[int, Path(ge=1, le=2**48 - 1)], platform: PlatformDep) -> InspectionOut:
    return reads.inspection(platform, inspection_id)


@router.get("/{vin}", response_model=VehicleOut, summary="A vehicle now: owner, highest reading, open offer")
def get_vehicle(vin: VinPath, platform: PlatformDep) -> VehicleOut:
    return reads.vehicle(platform, vin)


@router.get("/{vin}/history", summary="The buyer's history report: timeline and flags (JSON or HTML)")
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


def _add(key: str, segment: str, summary: str) -> None:
    typed_model, create_model = REQUESTS[key]

    def typed(vin: VinPath, body: typed_model, platform: PlatformDep) -> TypedDataOut:  # type: ignore[valid-type]
        return service.typed_data(platform, key, vin, body)

    def create(vin: VinPath, body: create_model, platform: PlatformDep) -> RecordOut:  # type: ignore[valid-type]
        return service.relay(platform, key, vin, body)

    typed.__name__, create.__name__ = f"{key}_typed_data", f"record_{key}"
    router.post(f"/{{vin}}/{segment}/typed-data", response_model=TypedDataOut, summary=f"Typed data: {summary}")(typed)
    router.post(f"/{{vin}}/{segment}", response_model=RecordOut, status_code=201, summary=f"Relay {summary}")(create)


for _key, (_segment, _summary) in PATHS.items():
    _add(_key, _segment, _summary)
