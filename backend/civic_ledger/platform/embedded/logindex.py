"""The embedded chain's log index: ``eth_getLogs`` by lookup, not by reading every block.

Tables in the chain's own SQLite store, written in the same SQLite transaction as the block they
describe (see ``PersistentPyEVMBackend.mine_blocks``), so a crash leaves blocks and index
consistent:

- ``log_index``: one row per log, keyed by (block, tx index, log index), with its address, its
  four topic positions (NULL where the log has fewer topics), transaction hash, block hash and
  data, so a match is answered from the row alone;
- indexes by (address, block) and by (topic at position i, block), so a query's cost follows the
  number of logs that match, not the length of its block range;
- ``log_index_meta``: ``indexed_to``, the last block whose logs are in the table. A store made
  before the index existed is back-filled once on open (:meth:`LogIndex.backfill`).

The SQL only narrows the candidates; eth-tester's own filter then decides (exact semantics).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from eth_utils import int_to_big_endian

from civic_ledger.platform.embedded.store import SQLiteKV

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_index (
    block INTEGER NOT NULL,
    tx INTEGER NOT NULL,
    log INTEGER NOT NULL,
    address BLOB NOT NULL,
    t0 BLOB, t1 BLOB, t2 BLOB, t3 BLOB,
    tx_hash BLOB NOT NULL,
    block_hash BLOB NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (block, tx, log)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS log_by_address ON log_index (address, block);
CREATE INDEX IF NOT EXISTS log_by_t0 ON log_index (t0, block);
CREATE INDEX IF NOT EXISTS log_by_t1 ON log_index (t1, block);
CREATE INDEX IF NOT EXISTS log_by_t2 ON log_index (t2, block);
CREATE INDEX IF NOT EXISTS log_by_t3 ON log_index (t3, block);
CREATE TABLE IF NOT EXISTS log_index_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
"""

_COLUMNS = "block, tx, log, address, t0, t1, t2, t3, tx_hash, block_hash, data"

#: Back-fill commits (and reports) every this many blocks.
BACKFILL_CHUNK = 500


def _topic(value: int) -> bytes:
    return int_to_big_endian(value).rjust(32, b"\0")


def log_rows(block: Any, receipts: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The index rows of one block; log indices count through the whole block."""
    rows: list[tuple[Any, ...]] = []
    number, block_hash = int(block.number), bytes(block.hash)
    log_i = 0
    for tx_i, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
        for log in receipt.logs:
            topics: list[bytes | None] = [_topic(t) for t in log.topics[:4]]
            topics += [None] * (4 - len(topics))
            rows.append((number, tx_i, log_i, bytes(log.address), *topics, bytes(tx.hash), block_hash, bytes(log.data)))
            log_i += 1
    return rows


def _options(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


class LogIndex:
    """Reads (any connection) and writes (the writer's, inside its transaction) of the log index."""

    def __init__(self, kv: SQLiteKV) -> None:
        self.kv = kv
        if not kv.read_only:
            kv.conn.executescript(_SCHEMA)

    # -- writes (inside the writer's transaction) -------------------------------------------

    def write_block(self, block: Any, receipts: Sequence[Any]) -> None:
        conn = self.kv.conn
        number = int(block.number)
        conn.execute("DELETE FROM log_index WHERE block >= ?", (number,))  # a re-mined height
        rows = log_rows(block, receipts)
        if rows:
            conn.executemany(f"INSERT INTO log_index ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        self._set_indexed_to(number)

    def _set_indexed_to(self, number: int) -> None:
        self.kv.conn.execute("INSERT OR REPLACE INTO log_index_meta (k, v) VALUES ('indexed_to', ?)", (number,))

    def indexed_to(self) -> int:
        """The last block whose logs are indexed (-1: none, or no index in this store)."""
        try:
            row = self.kv.conn.execute("SELECT v FROM log_index_meta WHERE k = 'indexed_to'").fetchone()
        except sqlite3.OperationalError:  # a read-only view of a store the writer never indexed
            return -1
        return int(row[0]) if row else -1

    def backfill(self, chain: Any, progress: Callable[[int, int], None] | None = None) -> int:
        """Index every block after ``indexed_to`` up to the head, in chunks; returns blocks indexed."""
        head = int(chain.get_canonical_head().block_number)
        start = self.indexed_to() + 1
        if start > head:
            return 0
        say = progress or _print_progress
        last_report = time.monotonic()
        number = start
        while number <= head:
            end = min(head, number + BACKFILL_CHUNK - 1)
            with self.kv.transaction():
                for n in range(number, end + 1):
                    block = chain.get_canonical_block_by_number(n)
                    self.write_block(block, block.get_receipts(chain.chaindb))
            number = end + 1
            if number > head or time.monotonic() - last_report > 2.0:
                say(number - start, head - start + 1)
                last_report = time.monotonic()
        return head - start + 1

    # -- reads --------------------------------------------------------------------------------

    def query(self, lower: int, upper: int, addresses: Any, topics: Any) -> list[dict[str, Any]]:
        """Candidate logs in [lower, upper] (raw eth-tester entries), in block and log order.

        A superset of what eth-tester's filter keeps for these addresses and topics: the caller
        still applies the filter.
        """
        if upper < lower:
            return []
        where = ["block BETWEEN ? AND ?"]
        params: list[Any] = [lower, upper]
        if addresses is not None:
            options = _options(addresses)
            if not options:
                return []
            where.append(f"address IN ({','.join('?' * len(options))})")
            params += [bytes(a) for a in options]
        if topics:
            if len(topics) > 4:  # a log has at most four topics
                return []
            where.append(f"t{len(topics) - 1} IS NOT NULL")
            for position, item in enumerate(topics):
                options = _options(item)
                if not options:
                    return []  # an empty OR-list matches nothing
                if any(o is None for o in options):
                    continue
                where.append(f"t{position} IN ({','.join('?' * len(options))})")
                params += [bytes(o) for o in options]
        sql = f"SELECT {_COLUMNS} FROM log_index WHERE {' AND '.join(where)} ORDER BY block, tx, log"
        return [_entry(row) for row in self.kv.conn.execute(sql, params)]


def _entry(row: tuple[Any, ...]) -> dict[str, Any]:
    block, tx, log, address, t0, t1, t2, t3, tx_hash, block_hash, data = row
    return {
        "type": "mined",
        "log_index": int(log),
        "transaction_index": int(tx),
        "transaction_hash": bytes(tx_hash),
        "block_hash": bytes(block_hash),
        "block_number": int(block),
        "address": bytes(address),
        "data": bytes(data),
        "topics": [bytes(t) for t in (t0, t1, t2, t3) if t is not None],
    }


def _print_progress(done: int, total: int) -> None:
    if total < 100:  # a new store (its genesis) or a short catch-up: nothing worth a line
        return
    print(f"indexing the embedded chain's logs: {done}/{total} blocks", file=sys.stderr, flush=True)
