"""M-Voting read models maintained by the platform indexer (:mod:`civic_ledger.platform.indexer`).

``voting_receipts``: one row per accepted ballot (``BallotCast``), keyed by its ballot hash (the
EIP-712 digest the voter signed): poll, voter, voter key, version, choice, commitment, where it
is on chain, and ``replaced_by`` (the ballot hash of the same voter key's next version, NULL while
it is the current ballot). A receipt lookup is one primary-key read.

``voting_by_poll``: each poll's ``PollCreated`` (question and option texts) and ``PollFinalized``
(the published counts) by poll id: one point read each.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from eth_utils import to_checksum_address

from civic_ledger.platform.indexer import Event, Projection
from civic_ledger.platform.indexer.keyed import first_event, keyed_events

RECEIPTS_SCHEMA = """
CREATE TABLE voting_receipts (
    ballot_hash TEXT PRIMARY KEY,
    poll_id TEXT NOT NULL,
    voter TEXT NOT NULL,
    citizen_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    choice TEXT NOT NULL,
    commitment TEXT NOT NULL,
    block INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    log_index INTEGER NOT NULL,
    replaced_by TEXT
) WITHOUT ROWID;
CREATE INDEX voting_receipts_current ON voting_receipts (poll_id, citizen_id) WHERE replaced_by IS NULL;
CREATE INDEX voting_receipts_by_block ON voting_receipts (block);
CREATE INDEX voting_receipts_by_voter ON voting_receipts (poll_id, voter, block);
"""


def _apply_receipt(conn: sqlite3.Connection, e: Event) -> None:
    a = e.args
    ballot_hash = str(a["ballotHash"]).lower()
    poll_id, citizen_id = str(a["pollId"]), str(a["citizenId"])
    conn.execute(
        "UPDATE voting_receipts SET replaced_by = ? "
        "WHERE poll_id = ? AND citizen_id = ? AND replaced_by IS NULL AND ballot_hash != ?",
        (ballot_hash, poll_id, citizen_id, ballot_hash),
    )
    conn.execute(
        "INSERT OR REPLACE INTO voting_receipts (ballot_hash, poll_id, voter, citizen_id, version, choice, "
        "commitment, block, tx_hash, log_index, replaced_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        (
            ballot_hash,
            poll_id,
            str(a["voter"]),
            citizen_id,
            int(a["version"]),
            str(a["choice"]),
            str(a["commitment"]),
            e.block,
            e.tx_hash,
            e.log_index,
        ),
    )


def _rollback_receipts(conn: sqlite3.Connection, block: int) -> None:
    """Undo ballots above ``block``: the ballots they replaced are current again."""
    conn.execute(
        "UPDATE voting_receipts SET replaced_by = NULL "
        "WHERE replaced_by IN (SELECT ballot_hash FROM voting_receipts WHERE block > ?)",
        (block,),
    )
    conn.execute("DELETE FROM voting_receipts WHERE block > ?", (block,))


RECEIPTS = Projection(
    name="voting_receipts",
    consumes=frozenset({("MVoting", "BallotCast")}),
    schema=RECEIPTS_SCHEMA,
    tables=("voting_receipts",),
    apply=_apply_receipt,
    rollback=_rollback_receipts,
    version=2,
)

#: A poll's creation (its texts: only their hashes are in storage) and its finalization, by poll id.
BY_POLL = keyed_events("voting_by_poll", "MVoting", {"PollCreated": ("pollId",), "PollFinalized": ("pollId",)})

PROJECTIONS = [RECEIPTS, BY_POLL]


def poll_event(conn: sqlite3.Connection, poll_id: int, event: str) -> Event | None:
    """The ``PollCreated`` / ``PollFinalized`` event of a poll, or None."""
    return first_event(conn, "voting_by_poll", "pollId", poll_id, event)


def latest_voter_key(conn: sqlite3.Connection, poll_id: int, voter: str) -> int | None:
    """The voter key (citizen id) of ``voter``'s last ballot in a poll, or None."""
    row = conn.execute(
        "SELECT citizen_id FROM voting_receipts WHERE poll_id = ? AND voter = ? ORDER BY block DESC, log_index DESC "
        "LIMIT 1",
        (str(poll_id), to_checksum_address(voter)),
    ).fetchone()
    return None if row is None else int(row[0])


_COLUMNS = (
    "ballot_hash",
    "poll_id",
    "voter",
    "citizen_id",
    "version",
    "choice",
    "commitment",
    "block",
    "tx_hash",
    "log_index",
    "replaced_by",
)


def find_receipt(conn: sqlite3.Connection, ballot_hash: str) -> dict[str, Any] | None:
    """The receipt row of ``ballot_hash`` (0x-hex, any case), or None."""
    row = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM voting_receipts WHERE ballot_hash = ?", (ballot_hash.lower(),)
    ).fetchone()
    return None if row is None else dict(zip(_COLUMNS, row, strict=True))
