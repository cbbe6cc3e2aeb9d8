"""Role membership read model maintained by the platform indexer: who holds which role, now.

``roles_members``: one row per (account, contract, role id) holding an OpenZeppelin AccessControl
role, kept from ``RoleGranted`` / ``RoleRevoked`` of every deployed contract
(:data:`civic_ledger.platform.deploy.CONTRACTS`; a contract without AccessControl never emits
them). OpenZeppelin emits each only when membership changes (a grant of a held role, a revoke of
one not held, emit nothing), so the rows are exactly ``hasRole`` at the indexed block.

- "which roles does this key hold" (identity's agency-key check, sign-in, every agency request)
  is one primary-key range read;
- "who holds this role" is one range of ``roles_members_by_role``.

The row keeps the position of the grant that made it so (deterministic: ``index verify``
compares digests). No rollback function: a reorg replays it from the stored role events
(O(role changes), a few per agency key).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from eth_utils import to_checksum_address

from civic_ledger.platform.deploy import CONTRACTS as DEPLOYED
from civic_ledger.platform.indexer import Event, Projection

TABLE = "roles_members"

#: The contracts whose role events are followed (every deployed one).
CONTRACTS: frozenset[str] = frozenset(spec.name for spec in DEPLOYED)

SCHEMA = f"""
CREATE TABLE {TABLE} (
    account TEXT NOT NULL,
    contract TEXT NOT NULL,
    role TEXT NOT NULL,
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    PRIMARY KEY (account, contract, role)
) WITHOUT ROWID;
CREATE INDEX {TABLE}_by_role ON {TABLE} (contract, role, block, log_index);
"""


def _apply(conn: sqlite3.Connection, e: Event) -> None:
    account, role = str(e.args["account"]), str(e.args["role"]).lower()
    if e.event == "RoleGranted":
        conn.execute(
            f"INSERT OR IGNORE INTO {TABLE} (account, contract, role, block, log_index) VALUES (?, ?, ?, ?, ?)",
            (account, e.contract, role, e.block, e.log_index),
        )
    else:
        conn.execute(
            f"DELETE FROM {TABLE} WHERE account = ? AND contract = ? AND role = ?", (account, e.contract, role)
        )


MEMBERS = Projection(
    name=TABLE,
    consumes=frozenset((c, event) for c in CONTRACTS for event in ("RoleGranted", "RoleRevoked")),
    schema=SCHEMA,
    tables=(TABLE,),
    apply=_apply,
)

PROJECTIONS = [MEMBERS]


def role_key(role_id: bytes) -> str:
    """A role id as stored (``0x``-hex, lower case: the decoder's ``bytes32``)."""
    return "0x" + bytes(role_id).hex()


def roles_held(conn: sqlite3.Connection, account: str) -> set[tuple[str, str]]:
    """(contract, role id as :func:`role_key`) of every role ``account`` holds at the snapshot."""
    rows = conn.execute(f"SELECT contract, role FROM {TABLE} WHERE account = ?", (to_checksum_address(account),))
    return {(str(c), str(r)) for c, r in rows}


@dataclass(frozen=True)
class Member:
    account: str
    block: int  # the block of the grant that made it a member
    tx_hash: str


def members(conn: sqlite3.Connection, contract: str, role_id: bytes) -> list[Member]:
    """Holders of ``contract``'s role ``role_id`` at the snapshot, in the order they were granted."""
    rows = conn.execute(
        f"SELECT m.account, m.block, e.tx_hash FROM {TABLE} m "
        "JOIN events e ON e.block = m.block AND e.log_index = m.log_index "
        "WHERE m.contract = ? AND m.role = ? ORDER BY m.block, m.log_index",
        (contract, role_key(role_id)),
    )
    return [Member(str(a), int(b), str(t)) for a, b, t in rows]
