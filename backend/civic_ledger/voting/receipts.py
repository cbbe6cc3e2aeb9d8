"""Finding a ballot receipt: one primary-key read of the indexer's ``voting_receipts`` table.

The indexer is asynchronous: a ballot mined a moment ago may not be indexed yet. A lookup that
misses therefore asks the indexer for one fresh round (:meth:`Indexer.wait_fresh`: every block
mined before the lookup began is then indexed — normally a few milliseconds, the thread is woken)
and reads again; only then is it a 404. If the indexer can not catch up within
:data:`FRESH_WAIT_S` (just after a restart over a long history, or the node is down), the blocks
it has not indexed yet are searched directly — a point query bounded by that lag, never the
whole history — and a lag longer than one indexer chunk is a 503 "retry shortly" instead.

Nothing is cached in memory except, for ballots this server relayed, the size of the batch that
carried them (known only to the relay; bounded: :data:`RECENT_BATCHES` entries).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from civic_ledger.errors import ServiceBusy
from civic_ledger.voting.projections import find_receipt

if TYPE_CHECKING:
    from civic_ledger.platform.runtime import Platform

#: How long a missed lookup waits for the indexer to reach the blocks mined before it.
FRESH_WAIT_S = 3.0

#: Batch sizes remembered for ballots relayed by this server (older ones answer ``batch_size: null``).
RECENT_BATCHES = 10_000


class RecentBatches:
    """ballot hash → size of the castBatch that carried it, for the last ``size`` ballots relayed."""

    def __init__(self, size: int = RECENT_BATCHES) -> None:
        self.size = size
        self._items: OrderedDict[bytes, int | None] = OrderedDict()

    def __setitem__(self, ballot_hash: bytes, batch_size: int | None) -> None:
        self._items[ballot_hash] = batch_size
        self._items.move_to_end(ballot_hash)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, ballot_hash: bytes) -> int | None:
        return self._items.get(ballot_hash)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def _from_index(platform: Platform, ballot_hash: str) -> dict[str, Any] | None:
    with platform.indexer.read() as conn:
        return find_receipt(conn, ballot_hash)


def _from_tail(platform: Platform, logs: Any, ballot_hash: str) -> dict[str, Any] | None:
    """BallotCast logs of the blocks the indexer has not reached yet (bounded by its lag)."""
    indexer = platform.indexer
    head = platform.chain.head()
    start = indexer.cursor + 1
    if head - start + 1 > indexer.chunk_blocks:
        raise ServiceBusy(
            f"the index is catching up (block {indexer.cursor} of {head}): the receipt can not be looked up yet, "
            "retry in a moment"
        )
    for args, where in logs.fetch("BallotCast", from_block=start, to_block=head):
        if "0x" + bytes(args["ballotHash"]).hex() == ballot_hash:
            return {
                "ballot_hash": ballot_hash,
                "poll_id": str(args["pollId"]),
                "voter": to_checksum_address(args["voter"]),
                "citizen_id": str(args["citizenId"]),
                "version": int(args["version"]),
                "choice": str(args["choice"]),
                "commitment": "0x" + bytes(args["commitment"]).hex(),
                "block": where.block_number,
                "tx_hash": where.tx_hash,
                "log_index": where.log_index,
                "replaced_by": None,
            }
    return None


def lookup(platform: Platform, logs: Any, ballot_hash: str) -> dict[str, Any] | None:
    """The receipt row of ``ballot_hash`` (lower-case 0x-hex), or None when no ballot has it."""
    row = _from_index(platform, ballot_hash)
    if row is not None:
        return row
    if platform.indexer.wait_fresh(FRESH_WAIT_S):
        return _from_index(platform, ballot_hash)
    return _from_index(platform, ballot_hash) or _from_tail(platform, logs, ballot_hash)
