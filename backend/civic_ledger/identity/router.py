"""HTTP routes of the identity area (``/identity``) and of Sign-In with Ethereum (``/auth``).

Registrar actions come in pairs: ``POST .../typed-data`` returns the EIP-712 message to sign
(nonce and deadline filled in), then ``POST ...`` with the same fields, ``nonce``, ``deadline``
and the registrar's ``signature`` relays it. The server never holds a registrar's or citizen's key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from civic_ledger.api.deps import PlatformDep
from civic_ledger.api.types import Address
from civic_ledger.identity import auth, service
from civic_ledger.identity.auth import AuthDep, CityAdmin, CurrentSession
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


# -- registration --------------------------------------------------------------------------


@router.post(
    "/citizens/typed-data",
    response_model=RegistrationTypedDataOut,
    summary="Typed data of a registration",
    responses=_SIGNED,
)
def register_typed_data(body: CitizenTypedDataCreate, platform: PlatformDep) -> RegistrationTypedDataOut:
    """The `RegisterCitizen` message for the registrar to sign. An optional `record` is only hashed
    (salted; the salt is returned and nothing is kept)."""
    return service.register_typed_data(platform, body)


@router.post(
    "/citizens",
    response_model=CitizenChangeOut,
    status_code=201,
    summary="Register a citizen (registrar-signed)",
    responses=_SIGNED,
)
def register(body: CitizenCreate, platform: PlatformDep) -> CitizenChangeOut:
    """Relays `registerCitizen`; emits `CitizenRegistered`."""
    return service.register(platform, body)


@router.post(
    "/citizens/by-id/{citizen_id}/update/typed-data",
    response_model=RegistrationTypedDataOut,
    summary="Typed data of an attribute update",
    responses=_SIGNED,
)
def update_typed_data(
    citizen_id: CitizenId, body: CitizenUpdateTypedData, platform: PlatformDep
) -> RegistrationTypedDataOut:
    return service.update_typed_data(platform, citizen_id, body)


@router.post(
    "/citizens/by-id/{citizen_id}/update",
    response_model=CitizenChangeOut,
    summary="Replace a citizen's attributes",
    responses=_SIGNED,
)
def update(citizen_id: CitizenId, body: CitizenUpdate, platform: PlatformDep) -> CitizenChangeOut:
    """Relays `updateCitizen`; emits `CitizenUpdated`."""
    return service.update(platform, citizen_id, body)


@router.post(
    "/citizens/by-id/{citizen_id}/suspend/typed-data",
    response_model=TypedDataOut,
    summary="Typed data of a suspension",
    responses=_SIGNED,
)
def suspend_typed_data(citizen_id: CitizenId, body: SuspensionTypedData, platform: PlatformDep) -> TypedDataOut:
    return service.suspend_typed_data(platform, citizen_id, body)


@router.post(
    "/citizens/by-id/{citizen_id}/suspend",
    response_model=CitizenChangeOut,
    summary="Suspend a citizen (lost device, death, moved away)",
    responses=_SIGNED,
)
def suspend(citizen_id: CitizenId, body: SuspensionCreate, platform: PlatformDep) -> CitizenChangeOut:
    """Relays `suspendCitizen`; emits `CitizenSuspended`. The key stops signing in at once."""
    return service.suspend(platform, citizen_id, body)


@router.post(
    "/citizens/by-id/{citizen_id}/reinstate/typed-data",
    response_model=TypedDataOut,
    summary="Typed data of a reinstatement",
    responses=_SIGNED,
)
def reinstate_typed_data(citizen_id: CitizenId, body: ReinstatementTypedData, platform: PlatformDep) -> TypedDataOut:
    return service.reinstate_typed_data(platform, citizen_id, body)


@router.post(
    "/citizens/by-id/{citizen_id}/reinstate",
    response_model=CitizenChangeOut,
    summary="Reinstate a suspended citizen",
    responses=_SIGNED,
)
def reinstate(citizen_id: CitizenId, body: ReinstatementCreate, platform: PlatformDep) -> CitizenChangeOut:
    """Relays `reinstateCitizen`; emits `CitizenReinstated`."""
    return service.reinstate(platform, citizen_id, body)


@router.post(
    "/citizens/by-id/{citizen_id}/recover/typed-data",
    response_model=TypedDataOut,
    summary="Typed data of a key recovery by a registrar",
    responses=_SIGNED,
)
def recover_typed_data(citizen_id: CitizenId, body: RecoveryTypedData, platform: PlatformDep) -> TypedDataOut:
    return service.recover_typed_data(platform, citizen_id, body)


@router.post(
    "/citizens/by-id/{citizen_id}/recover",
    response_model=CitizenChangeOut,
    summary="Move a citizen to a new key after an in-person check (old key lost)",
    responses=_SIGNED,
)
def recover(citizen_id: CitizenId, body: RecoveryCreate, platform: PlatformDep) -> CitizenChangeOut:
    """Relays `recoverKey`; emits `CitizenKeyRotated` with `byRegistrar` set. The old key is retired."""
    return service.recover(platform, citizen_id, body)


# -- citizen self-rotation -----------------------------------------------------------------


@router.post(
    "/rotations/typed-data",
    response_model=TypedDataOut,
    summary="Typed data of a key rotation (both keys sign it)",
    responses=_SIGNED,
)
def rotation_typed_data(body: RotationTypedData, platform: PlatformDep) -> TypedDataOut:
    return service.rotation_typed_data(platform, body)


@router.post(
    "/rotations",
    response_model=CitizenChangeOut,
    summary="Rotate a citizen's key (signed by old and new key)",
    responses=_SIGNED,
)
def rotate(body: RotationCreate, platform: PlatformDep) -> CitizenChangeOut:
    """Relays `rotateKey`; emits `CitizenKeyRotated`. The old key stops working at once, for good."""
    return service.rotate(platform, body)


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
