"""Server state that is not on chain but must survive restarts and be shared by processes.

One SQLite file, ``DATA_DIR/state.sqlite3`` (WAL, ``synchronous=FULL``, a busy timeout so
several server processes on one data directory take turns):

- **sign-in nonces**: issued, then burnt exactly once (``UPDATE … WHERE used_at IS NULL`` is
  atomic across processes), forgotten some time after they expire;
- **revoked session tokens**: a signed-out token stays refused after a restart until it would
  have expired anyway;
- **secrets**: the session-token key when none is configured, made once and kept, so tokens
  survive a restart and every process on the data directory accepts them.

Every row carries an expiry and is purged lazily, so the file stays bounded by what is live.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nonces (
    nonce TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    used_at REAL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS revoked_tokens (
    token_id TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_at);
CREATE INDEX IF NOT EXISTS revoked_expiry ON revoked_tokens (expires_at);
"""

#: Purge expired rows at most this often (seconds).
_PURGE_EVERY_S = 60.0


class StateStore:
    """The server's shared, persistent off-chain state (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=10)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)  # it holds the session key
        self._last_purge = 0.0

    # -- nonces -----------------------------------------------------------------------------

    def add_nonce(self, nonce: str, expires_at: float) -> None:
        with self._lock:
            self._conn.execute("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)", (nonce, expires_at))
        self._maybe_purge()

    def burn_nonce(self, nonce: str, now: float) -> tuple[str, float | None]:
        """Consume ``nonce``: ``("ok", expiry)``, ``("used", expiry)`` or ``("unknown", None)``."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE nonces SET used_at = ? WHERE nonce = ? AND used_at IS NULL RETURNING expires_at", (now, nonce)
            )
            row = cur.fetchone()
            if row is not None:
                return "ok", float(row[0])
            row = self._conn.execute("SELECT expires_at FROM nonces WHERE nonce = ?", (nonce,)).fetchone()
        return ("used", float(row[0])) if row is not None else ("unknown", None)

    def live_nonces(self, now: float) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM nonces WHERE used_at IS NULL AND expires_at > ?", (now,)
            ).fetchone()
        return int(row[0])

    def drop_oldest_nonces(self, keep: int) -> None:
        """Forget unused nonces beyond the newest ``keep`` (a flood of nonce requests)."""
        with self._lock:
            self._conn.execute(
                "DELETE FROM nonces WHERE used_at IS NULL AND nonce NOT IN "
                "(SELECT nonce FROM nonces WHERE used_at IS NULL ORDER BY expires_at DESC LIMIT ?)",
                (keep,),
            )

    # -- revoked tokens ---------------------------------------------------------------------

    def revoke_token(self, token_id: str, expires_at: float) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO revoked_tokens (token_id, expires_at) VALUES (?, ?)", (token_id, expires_at)
            )
        self._maybe_purge()

    def is_revoked(self, token_id: str) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM revoked_tokens WHERE token_id = ?", (token_id,)).fetchone()
        return row is not None

    # -- secrets ----------------------------------------------------------------------------

    def secret(self, name: str, size: int = 32) -> bytes:
        """The secret ``name``, made (random, ``size`` bytes) the first time any process asks."""
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", (name, secrets.token_bytes(size))
            )
            row = self._conn.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
        return bytes(row[0])

    # -- housekeeping -----------------------------------------------------------------------

    def _maybe_purge(self) -> None:
        now = time.time()
        if now - self._last_purge < _PURGE_EVERY_S:
            return
        self._last_purge = now
        self.purge(now)

    def purge(self, now: float, nonce_grace_s: float = 600.0) -> None:
        """Forget what can no longer matter: long-expired nonces and tokens past their expiry."""
        with self._lock:
            self._conn.execute("DELETE FROM nonces WHERE expires_at < ?", (now - nonce_grace_s,))
            self._conn.execute("DELETE FROM revoked_tokens WHERE expires_at < ?", (now,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def open_store(data_dir: Path) -> StateStore:
    data_dir.mkdir(parents=True, exist_ok=True)
    return StateStore(data_dir / "state.sqlite3")
