"""HTTP routes of the identity area (``/identity``) and of Sign-In with Ethereum (``/auth``).

Registrar actions come in pairs (:class:`civic_ledger.platform.routes.Pair`): ``POST
.../typed-data`` returns the EIP-712 message to sign (nonce and deadline filled in), then ``POST
...`` with the same fields, ``nonce``, ``deadline`` and the registrar's ``signature`` relays it; a
key rotation carries the old and the new key's signatures. The server never holds a registrar's or
citizen's key.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from civic_ledger.api.deps import PlatformDep
from civic_ledger.identity import auth, schemas, service
from civic_ledger.identity.deps import AuthDep, CityAdmin, CurrentSession
from civic_ledger.platform import routes
from civic_ledger.types import Address

router = APIRouter(prefix="/identity", tags=["identity"])
auth_router = APIRouter(prefix="/auth", tags=["auth"])

CitizenId = Annotated[
    int, Path(ge=1, le=2**256 - 1, description="Stable citizen id (from a lookup or the registration).")
]
_CITIZEN = [("citizen_id", CitizenId)]
_ADDRESS = [("address", Address)]

_SIGNED: dict[int | str, dict[str, Any]] = {
    403: {"description": "Signature not by the claimed signer, or the registrar lacks REGISTRAR_ROLE."},
    404: {"description": "Unknown citizen."},
    409: {"description": "Already registered / address used / nonce already used / not suspended."},
    422: {"description": "Invalid field, or a contract error such as an expired deadline."},
}
#: A signed change of a citizen answers the change; both routes list the refusals of a signed action.
Pair = partial(routes.Pair, response=schemas.CitizenChangeOut, responses=_SIGNED)


# -- lookups -------------------------------------------------------------------------------

LOOKUPS: list[routes.Entry] = [
    routes.get(
        "/districts",
        service.list_districts,
        list[schemas.DistrictOut],
        "The 25 autonomous districts and their codes",
        name="districts",
        platform=False,
    ),
    routes.get(
        "/citizens/by-id/{citizen_id}",
        service.citizen_by_id,
        schemas.CitizenOut,
        "Look up a citizen by id",
        params=_CITIZEN,
    ),
    routes.get(
        "/citizens/by-id/{citizen_id}/history",
        service.citizen_history,
        schemas.CitizenHistoryOut,
        "Every change of a citizen's identity",
        params=_CITIZEN,
        responses={404: {"description": "`citizen_not_found`: no citizen has this id."}},
        doc="""Registration, updates, suspensions, reinstatements and key rotations, oldest first, from the
    server's index (O(this citizen's changes)). A verifier reads the same from the registry's events
    filtered by the citizen id topic (docs/verification.md).""",
    ),
    routes.get(
        "/citizens/{address}",
        service.citizen_by_address,
        schemas.CitizenOut,
        "Look up the citizen bound to an address",
        params=_ADDRESS,
        responses={404: {"description": "`citizen_not_found`, or `account_retired` for a rotated-away key."}},
        doc="""Active?, citizen id, district (code and names), birth year and age band, residency, since,
    status and suspension reason. No personal data exists on chain.""",
    ),
]

# -- signed actions: registration, changes, recovery, rotation ------------------------------
# A registrar's change of citizen ``citizen_id`` is ``POST /citizens/by-id/{citizen_id}/<change>``
# (``service.<change>``) with its ``/typed-data`` (``service.<change>_typed_data``).

SIGNED: list[routes.Entry] = [
    Pair(
        "register",
        "/citizens",
        schemas.CitizenTypedDataCreate,
        schemas.CitizenCreate,
        service.register_typed_data,
        service.register,
        typed_response=schemas.RegistrationTypedDataOut,
        typed_summary="Typed data of a registration",
        typed_doc="""The `RegisterCitizen` message for the registrar to sign. An optional `record` is only hashed
    (salted; the salt is returned and nothing is kept).""",
        summary="Register a citizen (registrar-signed)",
        doc="Relays `registerCitizen`; emits `CitizenRegistered`.",
        status_code=201,
    ),
    Pair(
        "update",
        "/citizens/by-id/{citizen_id}/update",
        schemas.CitizenUpdateTypedData,
        schemas.CitizenUpdate,
        service.update_typed_data,
        service.update,
        params=_CITIZEN,
        typed_response=schemas.RegistrationTypedDataOut,
        typed_summary="Typed data of an attribute update",
        summary="Replace a citizen's attributes",
        doc="Relays `updateCitizen`; emits `CitizenUpdated`.",
    ),
    Pair(
        "suspend",
        "/citizens/by-id/{citizen_id}/suspend",
        schemas.SuspensionTypedData,
        schemas.SuspensionCreate,
        service.suspend_typed_data,
        service.suspend,
        params=_CITIZEN,
        typed_response=schemas.TypedDataOut,
        typed_summary="Typed data of a suspension",
        summary="Suspend a citizen (lost device, death, moved away)",
        doc="Relays `suspendCitizen`; emits `CitizenSuspended`. The key stops signing in at once.",
    ),
    Pair(
        "reinstate",
        "/citizens/by-id/{citizen_id}/reinstate",
        schemas.ReinstatementTypedData,
        schemas.ReinstatementCreate,
        service.reinstate_typed_data,
        service.reinstate,
        params=_CITIZEN,
        typed_response=schemas.TypedDataOut,
        typed_summary="Typed data of a reinstatement",
        summary="Reinstate a suspended citizen",
        doc="Relays `reinstateCitizen`; emits `CitizenReinstated`.",
    ),
    Pair(
        "recover",
        "/citizens/by-id/{citizen_id}/recover",
        schemas.RecoveryTypedData,
        schemas.RecoveryCreate,
        service.recover_typed_data,
        service.recover,
        params=_CITIZEN,
        typed_response=schemas.TypedDataOut,
        typed_summary="Typed data of a key recovery by a registrar",
        summary="Move a citizen to a new key after an in-person check (old key lost)",
        doc="Relays `recoverKey`; emits `CitizenKeyRotated` with `byRegistrar` set. The old key is retired.",
    ),
    Pair(  # citizen self-rotation: both keys sign
        "rotate",
        "/rotations",
        schemas.RotationTypedData,
        schemas.RotationCreate,
        service.rotation_typed_data,
        service.rotate,
        typed_name="rotation_typed_data",
        typed_response=schemas.TypedDataOut,
        typed_summary="Typed data of a key rotation (both keys sign it)",
        summary="Rotate a citizen's key (signed by old and new key)",
        doc="Relays `rotateKey`; emits `CitizenKeyRotated`. The old key stops working at once, for good.",
    ),
]

# -- registrars (city admin) -----------------------------------------------------------------

REGISTRARS: list[routes.Entry] = [
    routes.get(
        "/registrars/{address}",
        service.registrar_status,
        schemas.RegistrarOut,
        "Does this address hold REGISTRAR_ROLE?",
        name="registrar",
        params=_ADDRESS,
    ),
    routes.delete(
        "/registrars/{address}",
        service.revoke_registrar,
        schemas.RegistrarOut,
        "Revoke REGISTRAR_ROLE (city admin)",
        params=_ADDRESS,
        guard=CityAdmin,
        responses={
            401: {"description": "Not signed in."},
            403: {"description": "Not the city admin."},
            404: {"description": "Not a registrar."},
        },
        doc="The registrar's signed messages not yet relayed stop working at once.",
    ),
]

routes.add_routes(router, PlatformDep, [*LOOKUPS, *SIGNED, *REGISTRARS])


@router.post(
    "/registrars",
    response_model=schemas.RegistrarOut,
    status_code=201,
    summary="Grant REGISTRAR_ROLE (city admin)",
    responses={
        401: {"description": "Not signed in."},
        403: {"description": "Not the city admin."},
        409: {"description": "Already a registrar."},
    },
)
def grant_registrar(body: schemas.RegistrarCreate, platform: PlatformDep, admin: CityAdmin) -> schemas.RegistrarOut:
    """Needs a session of a holder of CitizenRegistry's `DEFAULT_ADMIN_ROLE`; the operator relays `grantRole`."""
    return service.grant_registrar(platform, body.address)


# -- Sign-In with Ethereum -----------------------------------------------------------------


@auth_router.get("/nonce", response_model=schemas.NonceOut, summary="A single-use SIWE nonce (valid 5 minutes)")
def nonce(
    authn: AuthDep,
    address: Annotated[Address | None, Query(description="If given, a complete message to sign is returned.")] = None,
) -> schemas.NonceOut:
    """Also returns the domain, URI and chain id the EIP-4361 message must name."""
    return authn.new_nonce(address)


@auth_router.post(
    "/login",
    response_model=schemas.SessionOut,
    summary="Sign in with a signed EIP-4361 message",
    responses={
        401: {"description": "Bad signature, wrong domain/URI/chain, expired, unknown or expired nonce."},
        403: {"description": "Not an active citizen (suspended, rotated away) and no agency role."},
        409: {"description": "Nonce already used."},
        422: {"description": "Not an EIP-4361 message."},
    },
)
def login(body: schemas.LoginRequest, authn: AuthDep) -> schemas.SessionOut:
    return authn.login(body.message, body.signature)


@auth_router.get("/me", response_model=schemas.MeOut, summary="Who is signed in (checked on chain now)")
def me(session: CurrentSession, authn: AuthDep) -> schemas.MeOut:
    return auth.me(session, authn)


@auth_router.post("/logout", status_code=204, summary="Sign out: the token stops working now")
def logout(session: CurrentSession, authn: AuthDep) -> None:
    """Revokes this session token until it would have expired (kept in this server's memory)."""
    authn.revoked.revoke(session)
