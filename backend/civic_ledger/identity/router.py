"""HTTP routes of the identity area (``/identity``) and of Sign-In with Ethereum (``/auth``).

Registrar actions come in pairs (:func:`civic_ledger.platform.actions.add_route_pair`): ``POST
.../typed-data`` returns the EIP-712 message to sign (nonce and deadline filled in), then ``POST
...`` with the same fields, ``nonce``, ``deadline`` and the registrar's ``signature`` relays it; a
key rotation carries the old and the new key's signatures. The server never holds a registrar's or
citizen's key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from civic_ledger.api.deps import PlatformDep
from civic_ledger.identity import auth, service
from civic_ledger.identity.deps import AuthDep, CityAdmin, CurrentSession
from civic_ledger.identity.schemas import (
    CitizenChangeOut,
    CitizenCreate,
    CitizenHistoryOut,
    CitizenOut,
    CitizenTypedDataCreate,
    CitizenUpdate,
    CitizenUpdateTypedData,
    DistrictOut,
    LoginRequest,
    MeOut,
    NonceOut,
    RecoveryCreate,
    RecoveryTypedData,
    RegistrarCreate,
    RegistrarOut,
    RegistrationTypedDataOut,
    ReinstatementCreate,
    ReinstatementTypedData,
    RotationCreate,
    RotationTypedData,
    SessionOut,
    SuspensionCreate,
    SuspensionTypedData,
    TypedDataOut,
)
from civic_ledger.platform import actions
from civic_ledger.types import Address

router = APIRouter(prefix="/identity", tags=["identity"])
auth_router = APIRouter(prefix="/auth", tags=["auth"])

CitizenId = Annotated[
    int, Path(ge=1, le=2**256 - 1, description="Stable citizen id (from a lookup or the registration).")
]

_SIGNED: dict[int | str, dict[str, Any]] = {
    403: {"description": "Signature not by the claimed signer, or the registrar lacks REGISTRAR_ROLE."},
    404: {"description": "Unknown citizen."},
    409: {"description": "Already registered / address used / nonce already used / not suspended."},
    422: {"description": "Invalid field, or a contract error such as an expired deadline."},
}


# -- lookups -------------------------------------------------------------------------------


@router.get("/districts", response_model=list[DistrictOut], summary="The 25 autonomous districts and their codes")
def districts() -> list[DistrictOut]:
    return service.list_districts()


@router.get("/citizens/by-id/{citizen_id}", response_model=CitizenOut, summary="Look up a citizen by id")
def citizen_by_id(citizen_id: CitizenId, platform: PlatformDep) -> CitizenOut:
    return service.citizen_by_id(platform, citizen_id)


@router.get(
    "/citizens/by-id/{citizen_id}/history",
    response_model=CitizenHistoryOut,
    summary="Every change of a citizen's identity",
    responses={404: {"description": "`citizen_not_found`: no citizen has this id."}},
)
def citizen_history(citizen_id: CitizenId, platform: PlatformDep) -> CitizenHistoryOut:
    """Registration, updates, suspensions, reinstatements and key rotations, oldest first, from the
    server's index (O(this citizen's changes)). A verifier reads the same from the registry's events
    filtered by the citizen id topic (docs/verification.md)."""
    return service.citizen_history(platform, citizen_id)


@router.get(
    "/citizens/{address}",
    response_model=CitizenOut,
    summary="Look up the citizen bound to an address",
    responses={404: {"description": "`citizen_not_found`, or `account_retired` for a rotated-away key."}},
)
def citizen_by_address(address: Address, platform: PlatformDep) -> CitizenOut:
    """Active?, citizen id, district (code and names), birth year and age band, residency, since,
    status and suspension reason. No personal data exists on chain."""
    return service.citizen_by_address(platform, address)


# -- signed actions: registration, changes, recovery, rotation ------------------------------


def _route(name: str, body: type, response: type, doc: str | None = None, **post: Any) -> actions.Route:
    return actions.Route(name, body, response, doc, responses=_SIGNED, **post)


actions.add_route_pair(
    router,
    PlatformDep,
    "/citizens",
    _route(
        "register_typed_data",
        CitizenTypedDataCreate,
        RegistrationTypedDataOut,
        """The `RegisterCitizen` message for the registrar to sign. An optional `record` is only hashed
    (salted; the salt is returned and nothing is kept).""",
        summary="Typed data of a registration",
    ),
    _route(
        "register",
        CitizenCreate,
        CitizenChangeOut,
        "Relays `registerCitizen`; emits `CitizenRegistered`.",
        summary="Register a citizen (registrar-signed)",
        status_code=201,
    ),
    service.register_typed_data,
    service.register,
)


def _change(action: str, typed: tuple[type, type, str], change: tuple[type, str, str]) -> None:
    """A registrar's change of identity ``citizen_id``: ``POST /citizens/by-id/{citizen_id}/<action>``
    and its ``/typed-data`` (``service.<action>`` and ``service.<action>_typed_data``); ``typed``: the
    typed-data request, answer and summary; ``change``: the request, summary and description."""
    prepare, relay = getattr(service, f"{action}_typed_data"), getattr(service, action)
    (typed_body, typed_out, typed_summary), (body, summary, doc) = typed, change
    actions.add_route_pair(
        router,
        PlatformDep,
        f"/citizens/by-id/{{citizen_id}}/{action}",
        _route(f"{action}_typed_data", typed_body, typed_out, summary=typed_summary),
        _route(action, body, CitizenChangeOut, doc, summary=summary),
        lambda platform, body, citizen_id: prepare(platform, citizen_id, body),
        lambda platform, body, citizen_id: relay(platform, citizen_id, body),
        [("citizen_id", CitizenId)],
    )


_change(
    "update",
    (CitizenUpdateTypedData, RegistrationTypedDataOut, "Typed data of an attribute update"),
    (CitizenUpdate, "Replace a citizen's attributes", "Relays `updateCitizen`; emits `CitizenUpdated`."),
)
_change(
    "suspend",
    (SuspensionTypedData, TypedDataOut, "Typed data of a suspension"),
    (
        SuspensionCreate,
        "Suspend a citizen (lost device, death, moved away)",
        "Relays `suspendCitizen`; emits `CitizenSuspended`. The key stops signing in at once.",
    ),
)
_change(
    "reinstate",
    (ReinstatementTypedData, TypedDataOut, "Typed data of a reinstatement"),
    (ReinstatementCreate, "Reinstate a suspended citizen", "Relays `reinstateCitizen`; emits `CitizenReinstated`."),
)
_change(
    "recover",
    (RecoveryTypedData, TypedDataOut, "Typed data of a key recovery by a registrar"),
    (
        RecoveryCreate,
        "Move a citizen to a new key after an in-person check (old key lost)",
        "Relays `recoverKey`; emits `CitizenKeyRotated` with `byRegistrar` set. The old key is retired.",
    ),
)
actions.add_route_pair(  # citizen self-rotation: both keys sign
    router,
    PlatformDep,
    "/rotations",
    _route(
        "rotation_typed_data",
        RotationTypedData,
        TypedDataOut,
        summary="Typed data of a key rotation (both keys sign it)",
    ),
    _route(
        "rotate",
        RotationCreate,
        CitizenChangeOut,
        "Relays `rotateKey`; emits `CitizenKeyRotated`. The old key stops working at once, for good.",
        summary="Rotate a citizen's key (signed by old and new key)",
    ),
    service.rotation_typed_data,
    service.rotate,
)


# -- registrars (city admin) -----------------------------------------------------------------


@router.get("/registrars/{address}", response_model=RegistrarOut, summary="Does this address hold REGISTRAR_ROLE?")
def registrar(address: Address, platform: PlatformDep) -> RegistrarOut:
    return service.registrar_status(platform, address)


@router.post(
    "/registrars",
    response_model=RegistrarOut,
    status_code=201,
    summary="Grant REGISTRAR_ROLE (city admin)",
    responses={
        401: {"description": "Not signed in."},
        403: {"description": "Not the city admin."},
        409: {"description": "Already a registrar."},
    },
)
def grant_registrar(body: RegistrarCreate, platform: PlatformDep, admin: CityAdmin) -> RegistrarOut:
    """Needs a session of a holder of CitizenRegistry's `DEFAULT_ADMIN_ROLE`; the operator relays `grantRole`."""
    return service.grant_registrar(platform, body.address)


@router.delete(
    "/registrars/{address}",
    response_model=RegistrarOut,
    summary="Revoke REGISTRAR_ROLE (city admin)",
    responses={
        401: {"description": "Not signed in."},
        403: {"description": "Not the city admin."},
        404: {"description": "Not a registrar."},
    },
)
def revoke_registrar(address: Address, platform: PlatformDep, admin: CityAdmin) -> RegistrarOut:
    """The registrar's signed messages not yet relayed stop working at once."""
    return service.revoke_registrar(platform, address)


# -- Sign-In with Ethereum -----------------------------------------------------------------


@auth_router.get("/nonce", response_model=NonceOut, summary="A single-use SIWE nonce (valid 5 minutes)")
def nonce(
    authn: AuthDep,
    address: Annotated[Address | None, Query(description="If given, a complete message to sign is returned.")] = None,
) -> NonceOut:
    """Also returns the domain, URI and chain id the EIP-4361 message must name."""
    return authn.new_nonce(address)


@auth_router.post(
    "/login",
    response_model=SessionOut,
    summary="Sign in with a signed EIP-4361 message",
    responses={
        401: {"description": "Bad signature, wrong domain/URI/chain, expired, unknown or expired nonce."},
        403: {"description": "Not an active citizen (suspended, rotated away) and no agency role."},
        409: {"description": "Nonce already used."},
        422: {"description": "Not an EIP-4361 message."},
    },
)
def login(body: LoginRequest, authn: AuthDep) -> SessionOut:
    return authn.login(body.message, body.signature)


@auth_router.get("/me", response_model=MeOut, summary="Who is signed in (checked on chain now)")
def me(session: CurrentSession, authn: AuthDep) -> MeOut:
    return auth.me(session, authn)


@auth_router.post("/logout", status_code=204, summary="Sign out: the token stops working now")
def logout(session: CurrentSession, authn: AuthDep) -> None:
    """Revokes this session token until it would have expired (kept in this server's memory)."""
    authn.revoked.revoke(session)
