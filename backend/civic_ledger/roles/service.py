"""Grant, revoke and check OpenZeppelin AccessControl roles of the deployed contracts.

Roles are discovered from the ABIs: every ``*_ROLE`` constant plus ``DEFAULT_ADMIN_ROLE``.
Granting is an operator transaction (the operator holds ``DEFAULT_ADMIN_ROLE`` of every
contract); the API lets only a signed-in holder of the target contract's admin role ask for it.
"""

from __future__ import annotations

from typing import Any

from civic_ledger.errors import Conflict, Forbidden, NotFound
from civic_ledger.platform.access import role_ids
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.relayer import Receipt
from civic_ledger.platform.runtime import Platform
from civic_ledger.roles import projections
from civic_ledger.roles.schemas import RoleMemberOut, RoleMembershipOut, RoleMembersOut, RoleOut

ADMIN_ROLE = "DEFAULT_ADMIN_ROLE"


def list_roles(platform: Platform) -> list[RoleOut]:
    return [
        RoleOut(contract=name, role=role, role_id="0x" + role_id.hex())
        for name, contract in platform.deployment.contracts.items()
        for role, role_id in role_ids(platform.chain.chain_id, contract, platform.operator.address)
    ]


def _resolve(platform: Platform, contract_name: str, role: str) -> tuple[Any, bytes]:
    contract = platform.deployment.contracts.get(contract_name)
    if contract is None:
        known = ", ".join(sorted(platform.deployment.contracts))
        raise NotFound(f"no deployed contract named {contract_name!r} (deployed: {known})", code="unknown_contract")
    ids = dict(role_ids(platform.chain.chain_id, contract, platform.operator.address))
    if role not in ids:
        raise NotFound(f"{contract_name} has no role {role!r} (roles: {', '.join(ids)})", code="unknown_role")
    return contract, ids[role]


def has_role(platform: Platform, contract_name: str, role: str, account: str) -> RoleMembershipOut:
    contract, role_id = _resolve(platform, contract_name, role)
    return _membership(contract_name, role, account, bool(contract.functions.hasRole(role_id, account).call()))


def members(platform: Platform, contract_name: str, role: str) -> RoleMembersOut:
    """Who holds ``role`` now, from the role-membership read model (AccessControl can not list them
    on chain): one index range, O(members)."""
    _, role_id = _resolve(platform, contract_name, role)
    if contract_name not in projections.CONTRACTS:
        raise NotFound(f"the members of {contract_name}'s roles are not indexed", code="role_members_not_indexed")
    with fresh_read(platform, f"the members of {contract_name}.{role}") as (conn, block):
        found = projections.members(conn, contract_name, role_id)
    return RoleMembersOut(
        contract=contract_name,
        role=role,
        role_id=projections.role_key(role_id),
        block=block,
        members=[RoleMemberOut(account=m.account, granted_block=m.block, granted_tx=m.tx_hash) for m in found],
    )


def check_admin(platform: Platform, contract_name: str, admin: str) -> None:
    """403 unless ``admin`` holds the admin role of ``contract_name`` now."""
    if not has_role(platform, contract_name, ADMIN_ROLE, admin).has_role:
        raise Forbidden(f"{admin} is not an admin of {contract_name}", code="not_contract_admin")


def grant(platform: Platform, contract_name: str, role: str, account: str) -> RoleMembershipOut:
    contract, role_id = _resolve(platform, contract_name, role)
    if contract.functions.hasRole(role_id, account).call():
        raise Conflict(f"{account} already holds {contract_name}.{role}", code="role_already_granted")
    return _change(platform, contract.functions.grantRole(role_id, account), contract_name, role, account, True)


def revoke(
    platform: Platform, contract_name: str, role: str, account: str, *, by: str | None = None
) -> RoleMembershipOut:
    """Revoke ``role``; ``by`` (the signed-in admin) may not drop its own admin role.

    Dropping it could leave the contract with no admin at all, for good (nobody could grant
    roles again): another admin must revoke it instead."""
    contract, role_id = _resolve(platform, contract_name, role)
    if role == ADMIN_ROLE and by is not None and by.lower() == account.lower():
        raise Conflict(
            f"{account} may not revoke its own {ADMIN_ROLE} of {contract_name}: that could leave the contract "
            "without any admin; grant the role to another admin first and let it revoke this one",
            code="self_admin_revoke",
        )
    if not contract.functions.hasRole(role_id, account).call():
        raise NotFound(f"{account} does not hold {contract_name}.{role}", code="role_not_held")
    return _change(platform, contract.functions.revokeRole(role_id, account), contract_name, role, account, False)


def _change(platform: Platform, fn: Any, contract_name: str, role: str, account: str, held: bool) -> RoleMembershipOut:
    """Send the grant or revoke (simulated first, so a revert costs no gas) and say what holds now."""
    return _membership(contract_name, role, account, held, platform.relayer.transact(fn, simulate=True))


def _membership(
    contract_name: str, role: str, account: str, held: bool, receipt: Receipt | None = None
) -> RoleMembershipOut:
    """Whether ``account`` holds ``role``, and the transaction (if any) that made it so."""
    tx = {} if receipt is None else {"tx_hash": receipt.tx_hash, "block_number": receipt.block_number}
    return RoleMembershipOut(contract=contract_name, role=role, account=account, has_role=held, **tx)
