"""Agency keys are not citizens: the separation of duties between the city's agencies and its citizens.

A key that holds an agency role (``REGISTRAR_ROLE``, ``POLL_ADMIN_ROLE``, ``TREASURY_ROLE``, any
``*_ROLE`` or ``DEFAULT_ADMIN_ROLE`` of a deployed AccessControl contract) could otherwise also be
registered as a citizen and then vote or earn mileage. Identity refuses binding such a key to a
citizen (registration, recovery, rotation) unless the city allows it (``allow_agency_citizens``).
On chain, CitizenRegistry refuses a registrar binding its own key whatever the setting.
"""

from __future__ import annotations

import logging
from typing import Any

from eth_utils import to_checksum_address

from civic_ledger.errors import Forbidden
from civic_ledger.platform.access import role_ids
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.runtime import Platform
from civic_ledger.roles.projections import CONTRACTS as ROLE_CONTRACTS
from civic_ledger.roles.projections import role_key, roles_held

log = logging.getLogger("civic_ledger.identity")

#: How long the agency-key check waits for the index to reach the chain's head before asking the
#: chain instead (normally a few milliseconds: the indexer thread is woken).
INDEX_WAIT_S = 1.0


def read(platform: Platform, fn: Any) -> Any:
    """A view call. An explicit ``from`` spares web3 a lookup of the node's accounts on every call."""
    return fn.call({"from": platform.operator.address})


def agency_roles(platform: Platform) -> list[tuple[str, str, bytes]]:
    """Every (contract, role name, role id) of the deployment's AccessControl contracts."""
    return [
        (name, role, role_id)
        for name, contract in platform.deployment.contracts.items()
        for role, role_id in role_ids(platform.chain.chain_id, contract, platform.operator.address)
    ]


def agency_roles_of(platform: Platform, account: str, only: set[str] | None = None) -> list[str]:
    """``Contract.ROLE`` names of the AccessControl roles ``account`` holds now (restricted to ``only``).

    One indexed lookup in the role-membership read model (:mod:`civic_ledger.roles.projections`),
    read once the index holds the chain's head as it was when the check began, so a grant or revoke
    acknowledged before it is never missed. On chain instead (one ``hasRole`` per role) for a contract
    that read model does not follow, or when the index can not get to the head within
    :data:`INDEX_WAIT_S` (just after a restart over a long history): slower, never wrong."""
    wanted = [
        (name, role, role_id)
        for name, role, role_id in agency_roles(platform)
        if only is None or f"{name}.{role}" in only
    ]
    if not wanted:
        return []
    held = _held_in_index(platform, account)
    if held is None:
        return agency_roles_on_chain(platform, account, only)
    return [
        f"{name}.{role}"
        for name, role, role_id in wanted
        if (
            (name, role_key(role_id)) in held
            if name in ROLE_CONTRACTS
            else read(platform, platform.deployment.contract(name).functions.hasRole(role_id, account))
        )
    ]


def agency_roles_on_chain(platform: Platform, account: str, only: set[str] | None = None) -> list[str]:
    """:func:`agency_roles_of` asked of the chain: one ``hasRole`` view call per (contract, role)."""
    held = []
    for name, role, role_id in agency_roles(platform):
        label = f"{name}.{role}"
        if only is not None and label not in only:
            continue
        if read(platform, platform.deployment.contract(name).functions.hasRole(role_id, account)):
            held.append(label)
    return held


def _held_in_index(platform: Platform, account: str) -> set[tuple[str, str]] | None:
    """(contract, role id) of the roles ``account`` holds at the chain's head, from the index; None
    when the index does not get there within :data:`INDEX_WAIT_S`."""
    head = platform.chain.head()
    if not platform.indexer.wait_for(head, INDEX_WAIT_S):
        log.warning(
            "agency roles of %s read on chain: the index is at block %d of %d", account, platform.indexer.cursor, head
        )
        return None
    with fresh_read(platform, "the agency roles", block=head) as (conn, _):
        return roles_held(conn, account)


def require_not_agency(platform: Platform, account: str, field: str = "account") -> None:
    """403 ``agency_key_as_citizen`` when ``account`` holds any agency role (unless the city allows it).

    A key that registers citizens, awards mileage or administers polls must not also vote or earn
    as a citizen: the separation of duties would be gone. ``allow_agency_citizens`` lifts the rule
    (the contract still refuses a registrar binding its own key)."""
    if platform.settings.allow_agency_citizens:
        return
    roles = agency_roles_of(platform, account)
    if roles:
        raise Forbidden(
            f"{field} {to_checksum_address(account)} holds the agency role {', '.join(roles)}: an agency key can not "
            "be bound to a citizen (it could vote or earn mileage); use a separate personal key, or set "
            "CIVIC_ALLOW_AGENCY_CITIZENS=true if the city allows agency keys as citizens",
            code="agency_key_as_citizen",
            details={"account": to_checksum_address(account), "roles": roles},
        )
