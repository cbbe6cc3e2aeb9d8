from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from civic_ledger.api.deps import PlatformDep
from civic_ledger.identity.deps import CurrentAgency
from civic_ledger.roles import service
from civic_ledger.roles.schemas import RoleGrant, RoleMembershipOut, RoleMembersOut, RoleOut
from civic_ledger.types import Address

router = APIRouter(prefix="/roles", tags=["roles"])

_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in."},
    403: {"description": "The session's key is not an admin of that contract."},
    404: {"description": "Unknown contract or role."},
}


@router.get("", response_model=list[RoleOut], summary="Every role of every deployed contract")
def list_roles(platform: PlatformDep) -> list[RoleOut]:
    return service.list_roles(platform)


@router.get(
    "/{contract}/{role}/members",
    response_model=RoleMembersOut,
    summary="Who holds this role now (from the event index)",
    responses={404: {"description": "Unknown contract or role."}, 503: {"description": "The index is catching up."}},
)
def members(contract: str, role: str, platform: PlatformDep) -> RoleMembersOut:
    """Every account holding `role` of `contract`, with the grant that made it a member — e.g. who
    can register citizens: `GET /roles/CitizenRegistry/REGISTRAR_ROLE/members`."""
    return service.members(platform, contract, role)


@router.get(
    "/{contract}/{role}/{account}", response_model=RoleMembershipOut, summary="Does this account hold this role?"
)
def check(contract: str, role: str, account: Address, platform: PlatformDep) -> RoleMembershipOut:
    return service.has_role(platform, contract, role, account)


@router.post(
    "",
    response_model=RoleMembershipOut,
    status_code=201,
    summary="Grant a role (an admin of that contract, signed in)",
    responses={**_ADMIN_ERRORS, 409: {"description": "Already held."}},
)
def grant(body: RoleGrant, platform: PlatformDep, agency: CurrentAgency) -> RoleMembershipOut:
    """E.g. `{"contract": "MVoting", "role": "POLL_ADMIN_ROLE", "account": "0x…"}` lets that
    agency key create polls. The caller must hold the contract's DEFAULT_ADMIN_ROLE; the
    operator relays `grantRole`."""
    service.check_admin(platform, body.contract, agency.address)
    return service.grant(platform, body.contract, body.role, body.account)


@router.delete(
    "/{contract}/{role}/{account}",
    response_model=RoleMembershipOut,
    summary="Revoke a role (an admin of that contract, signed in)",
    responses={**_ADMIN_ERRORS, 409: {"description": "An admin revoking its own DEFAULT_ADMIN_ROLE."}},
)
def revoke(
    contract: str, role: str, account: Address, platform: PlatformDep, agency: CurrentAgency
) -> RoleMembershipOut:
    service.check_admin(platform, contract, agency.address)
    return service.revoke(platform, contract, role, account, by=agency.address)
