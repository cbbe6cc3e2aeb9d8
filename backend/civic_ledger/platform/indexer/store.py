"""The index file (``DATA_DIR/index.sqlite3``): events, recent block hashes, cursor, read models.

One writer connection (WAL, ``synchronous=FULL``); every write is one SQLite transaction, so the
file always holds whole blocks: a block's events, the read-model updates they caused and the
cursor that says the block is done commit together or not at all. Readers open their own
read-only connections (WAL: they see the last committed block and never block the writer).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from civic_ledger.platform.indexer.model import EVENT_COLUMNS, Event, Projection

#: Bump when the layout of the tables below changes: the index is then rebuilt from the chain.
FORMAT = 1

#: Block hashes kept for reorg detection (reorgs deeper than this rebuild the index).
REORG_WINDOW = 128

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    tx_index INTEGER NOT NULL,
    address TEXT NOT NULL,
    contract TEXT NOT NULL,
    event TEXT,
    topic1 TEXT,
    topic2 TEXT,
    topic3 TEXT,
    args TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_name ON events (contract, event, block, log_index);
CREATE INDEX IF NOT EXISTS events_by_topic1 ON events (contract, event, topic1);
CREATE INDEX IF NOT EXISTS events_by_topic2 ON events (contract, event, topic2);
CREATE INDEX IF NOT EXISTS events_by_topic3 ON events (contract, event, topic3);
CREATE INDEX IF NOT EXISTS events_by_tx ON events (tx_hash);
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL, parent_hash TEXT);
"""

BASE_TABLES = ("meta", "events", "blocks")


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection to the index (any thread)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class IndexStore:
    """The writer side of the index file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        with self.transaction() as conn:
            for statement in SCHEMA.strip().split(";"):
                if statement.strip():
                    conn.execute(statement)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- meta ----------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def cursor(self) -> tuple[int, str] | None:
        number, block_hash = self.meta("cursor_block"), self.meta("cursor_hash")
        return None if number is None or block_hash is None else (int(number), block_hash)

    # -- writes (the caller holds the transaction) ----------------------------------------

    @staticmethod
    def set_cursor(conn: sqlite3.Connection, number: int, block_hash: str, parent_hash: str | None = None) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO blocks (number, hash, parent_hash) VALUES (?, ?, ?)",
            (number, block_hash, parent_hash),
        )
        conn.execute("DELETE FROM blocks WHERE number < ?", (number - REORG_WINDOW,))
        IndexStore.set_meta(conn, "cursor_block", str(number))
        IndexStore.set_meta(conn, "cursor_hash", block_hash)

    @staticmethod
    def record_block(conn: sqlite3.Connection, number: int, block_hash: str, parent_hash: str | None) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO blocks (number, hash, parent_hash) VALUES (?, ?, ?)",
            (number, block_hash, parent_hash),
        )

    @staticmethod
    def insert_events(conn: sqlite3.Connection, events: list[Event], projections: list[Projection]) -> None:
        conn.executemany(
            f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 12)})", [e.row() for e in events]
        )
        for event in events:
            for projection in projections:
                if projection.wants(event):
                    projection.apply(conn, event)

    def recent_blocks(self) -> list[tuple[int, str]]:
        return [(int(n), str(h)) for n, h in self.conn.execute("SELECT number, hash FROM blocks ORDER BY number DESC")]

    # -- replay, rollback, reset ------------------------------------------------------------

    @staticmethod
    def stored_events(
        conn: sqlite3.Connection, consumes: Iterable[tuple[str, str]], *, after: int = -1, upto: int | None = None
    ) -> Iterator[Event]:
        pairs = sorted(consumes)
        if not pairs:
            return
        where = " OR ".join("(contract = ? AND event = ?)" for _ in pairs)
        params: list[Any] = [x for pair in pairs for x in pair]
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE ({where}) AND block > ?"
        params.append(after)
        if upto is not None:
            sql += " AND block <= ?"
            params.append(upto)
        for row in conn.execute(sql + " ORDER BY block, log_index", params):
            yield Event.from_row(row)

    @staticmethod
    def replay(conn: sqlite3.Connection, projection: Projection) -> int:
        """Reset ``projection`` and apply every stored event it consumes; returns how many."""
        projection.reset(conn)
        n = 0
        for event in list(IndexStore.stored_events(conn, projection.consumes)):
            projection.apply(conn, event)
            n += 1
        IndexStore.set_meta(conn, f"projection:{projection.name}", str(projection.version))
        return n

    @staticmethod
    def rollback_to(conn: sqlite3.Connection, ancestor: int, ancestor_hash: str, projections: list[Projection]) -> int:
        """Undo every block above ``ancestor``: events, block hashes, read models. Returns events removed."""
        touched = {
            (str(c), str(e))
            for c, e in conn.execute("SELECT DISTINCT contract, event FROM events WHERE block > ?", (ancestor,))
        }
        removed = int(conn.execute("SELECT COUNT(*) FROM events WHERE block > ?", (ancestor,)).fetchone()[0])
        for projection in projections:
            if not touched & projection.consumes:
                continue
            if projection.rollback is not None:
                projection.rollback(conn, ancestor)
        conn.execute("DELETE FROM events WHERE block > ?", (ancestor,))
        for projection in projections:
            if touched & projection.consumes and projection.rollback is None:
                IndexStore.replay(conn, projection)
        conn.execute("DELETE FROM blocks WHERE number > ?", (ancestor,))
        IndexStore.set_cursor(conn, ancestor, ancestor_hash)
        return removed

    @staticmethod
    def wipe(conn: sqlite3.Connection, projections: list[Projection]) -> None:
        conn.execute("DELETE FROM events")
        conn.execute("DELETE FROM blocks")
        conn.execute("DELETE FROM meta WHERE key IN ('cursor_block', 'cursor_hash')")
        for projection in projections:
            projection.reset(conn)
            IndexStore.set_meta(conn, f"projection:{projection.name}", str(projection.version))


# -- reading (any connection) -----------------------------------------------------------------


def table_digest(conn: sqlite3.Connection, table: str, *, upto: int | None = None) -> tuple[str, int]:
    """SHA-256 of every row of ``table`` in a canonical order, and the row count.

    For ``events``, ``upto`` limits the rows to blocks up to that number.
    """
    columns = [str(r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")')]
    order = ", ".join(f'"{c}"' for c in columns)
    sql = f'SELECT {order} FROM "{table}"'
    params: tuple[Any, ...] = ()
    if upto is not None and table == "events":
        sql += " WHERE block <= ?"
        params = (upto,)
    digest = hashlib.sha256()
    n = 0
    for row in conn.execute(f"{sql} ORDER BY {order}", params):
        digest.update(json.dumps(row, separators=(",", ":"), default=str).encode() + b"\n")
        n += 1
    return digest.hexdigest(), n


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    return {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta")}


def events_per_contract(conn: sqlite3.Connection) -> dict[str, int]:
    return {str(c): int(n) for c, n in conn.execute("SELECT contract, COUNT(*) FROM events GROUP BY contract")}
