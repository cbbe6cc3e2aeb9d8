"""The embedded chain's key/value store: one SQLite file, one py-evm write batch per transaction.

:class:`SQLiteKV` keeps py-evm's keys and values in one table (WAL mode). :class:`SQLiteAtomicDB`
commits every py-evm write batch as one SQLite transaction, so a crash (even ``kill -9``) leaves
the store at the end of some batch: the canonical head always points at a fully written block.

Transactions nest (savepoints): mining wraps py-evm's batches for a block and the block's rows of
the log index in one outer transaction, committed with ``synchronous=FULL``. Writes made while a
block is being built (the state of transactions not yet mined) may be committed with
``synchronous=NORMAL``: WAL frames are written in order and the block's FULL commit syncs the log
up to and including them, so nothing acknowledged depends on an unsynced frame.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eth.abc import AtomicWriteBatchAPI
from eth.db.atomic import AtomicDB, AtomicDBWriteBatch
from eth.db.backends.base import BaseDB


class SQLiteKV(BaseDB):
    """A key/value table in SQLite. Writes autocommit unless a transaction is open.

    ``read_only`` opens a second connection to the same file that can never write: in WAL mode it
    reads committed data while the writer goes on, so untrusted reads need no chain lock.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        if read_only:
            self._conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
        else:
            self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        self._lock = threading.RLock()
        self._depth = 0
        self._synchronous = "FULL"

    @property
    def conn(self) -> sqlite3.Connection:
        return self._conn

    def __getitem__(self, key: bytes) -> bytes:
        row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._conn.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))

    def __delitem__(self, key: bytes) -> None:
        cur = self._conn.execute("DELETE FROM kv WHERE k = ?", (key,))
        if cur.rowcount == 0:
            raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        return self._conn.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone() is not None

    def is_empty(self) -> bool:
        return self._conn.execute("SELECT 1 FROM kv LIMIT 1").fetchone() is None

    def set_synchronous(self, mode: str) -> None:
        """``FULL`` (every commit synced) or ``NORMAL`` (synced by the next FULL commit)."""
        if mode == self._synchronous or self.read_only:
            return
        with self._lock:
            if self._conn.in_transaction:
                raise RuntimeError("synchronous can not change inside a transaction")
            self._conn.execute(f"PRAGMA synchronous={mode}")
            self._synchronous = mode

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One SQLite transaction; inside another one, a savepoint of it."""
        with self._lock:
            if self._depth:
                name = f"sp{self._depth}"
                self._conn.execute(f"SAVEPOINT {name}")
                self._depth += 1
                try:
                    yield
                except BaseException:
                    self._conn.execute(f"ROLLBACK TO {name}")
                    self._conn.execute(f"RELEASE {name}")
                    raise
                else:
                    self._conn.execute(f"RELEASE {name}")
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def close(self) -> None:
        self._conn.close()


class SQLiteAtomicDB(AtomicDB):
    """py-evm's atomic database over :class:`SQLiteKV`: one write batch = one SQLite transaction."""

    def __init__(self, kv: SQLiteKV) -> None:
        super().__init__(kv)
        self.kv = kv

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        with self.kv.transaction(), AtomicDBWriteBatch._commit_unless_raises(self) as batch:
            yield batch
