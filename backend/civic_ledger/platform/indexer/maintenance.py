"""Status, rebuild and verify of a data directory's index, without starting a platform.

They open ``DATA_DIR/index.sqlite3`` directly, next to a running server or with it stopped (SQLite
serialises the writers; readers never wait). The chain is read through the indexer's own sources:
a JSON-RPC node, or for the embedded chain a read-only snapshot of ``DATA_DIR/chain.sqlite3``
(no chain lock, so it works while a server holds the chain).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civic_ledger.config import Settings
from civic_ledger.errors import ConfigError
from civic_ledger.platform.compiler import Build, compile_contracts
from civic_ledger.platform.deploy import load_manifest, manifest_path
from civic_ledger.platform.indexer import INDEX_FILE, Indexer, default_projections, open_indexer
from civic_ledger.platform.indexer.source import LogSource, RpcSource, open_source
from civic_ledger.platform.indexer.store import connect_reader, events_per_contract, read_meta, table_digest


def _chain_id(settings: Settings, source: LogSource) -> int:
    if settings.chain == "embedded":
        from civic_ledger.platform.embedded import EMBEDDED_CHAIN_ID

        return EMBEDDED_CHAIN_ID
    assert isinstance(source, RpcSource)
    return int(source._request("eth_chainId", []), 16)


def _open_source(settings: Settings) -> LogSource:
    if settings.chain == "embedded" and not (settings.data_dir / "chain.sqlite3").exists():
        raise ConfigError(f"no embedded chain in {settings.data_dir}")
    return open_source(settings.chain, settings.data_dir)


def _deployment(settings: Settings, chain_id: int) -> dict[str, dict[str, Any]]:
    path = manifest_path(settings.data_dir, chain_id)
    manifest = load_manifest(path)
    if manifest is None:
        raise ConfigError(f"no deployment manifest {path.name} in {settings.data_dir}: nothing is indexed there")
    return dict(manifest["contracts"])


def _index_path(settings: Settings) -> Path:
    path = settings.data_dir / INDEX_FILE
    if not path.exists():
        raise ConfigError(f"no index in {settings.data_dir} ({INDEX_FILE}): start the server once to build it")
    return path


def index_status(settings: Settings) -> dict[str, Any]:
    """Cursor, head, lag and events per contract of the data directory's index."""
    path = _index_path(settings)
    conn = connect_reader(path)
    try:
        conn.execute("BEGIN")
        meta = read_meta(conn)
        counts = events_per_contract(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()
    cursor = int(meta["cursor_block"]) if "cursor_block" in meta else None
    head: int | None
    try:
        source = _open_source(settings)
        try:
            head = source.head()
        finally:
            source.close()
        error = None
    except Exception as exc:  # noqa: BLE001 - the status of the index is still worth printing
        head, error = None, str(exc)
    return {
        "index": str(path),
        "chain": settings.chain,
        "chain_id": int(meta["chain_id"]) if "chain_id" in meta else None,
        "cursor": cursor,
        "cursor_hash": meta.get("cursor_hash"),
        "head": head,
        "lag": (head - cursor) if head is not None and cursor is not None else None,
        "events": dict(sorted(counts.items())),
        "projections": {k.removeprefix("projection:"): int(v) for k, v in meta.items() if k.startswith("projection:")},
        "chain_error": error,
    }


def _open(settings: Settings, *, path: Path | None = None, build: Build | None = None) -> Indexer:
    source = _open_source(settings)
    try:
        chain_id = _chain_id(settings, source)
        entries = _deployment(settings, chain_id)
        build = build or compile_contracts(settings.build_dir)
    except BaseException:
        source.close()
        raise
    return open_indexer(settings, chain_id=chain_id, entries=entries, build=build, path=path, source=source)


def rebuild_index(settings: Settings) -> dict[str, int]:
    """Drop the read models and replay the stored events into them (no chain reads but the cursor's)."""
    _index_path(settings)
    indexer = _open(settings)
    try:
        return indexer.rebuild()
    finally:
        indexer.close()


@dataclass
class TableCheck:
    table: str
    rows_index: int
    rows_chain: int
    digest_index: str
    digest_chain: str

    @property
    def matches(self) -> bool:
        return self.digest_index == self.digest_chain and self.rows_index == self.rows_chain


@dataclass
class VerifyReport:
    cursor: int
    cursor_hash: str
    tables: list[TableCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def mismatched(self) -> list[str]:
        return [t.table for t in self.tables if not t.matches]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.mismatched

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "cursor": self.cursor,
            "cursor_hash": self.cursor_hash,
            "mismatched": self.mismatched,
            "problems": self.problems,
            "tables": [{**t.__dict__, "matches": t.matches} for t in self.tables],
        }


def verify_index(settings: Settings) -> VerifyReport:
    """Recompute every read model from the chain in a fresh temporary index, up to the cursor of
    the data directory's index, and compare a digest of each table (``events`` included)."""
    path = _index_path(settings)
    projections = default_projections()
    tables = ["events", *[t for p in projections for t in p.tables]]
    live: dict[str, tuple[str, int]] = {}
    conn = connect_reader(path)
    try:
        conn.execute("BEGIN")  # one snapshot: the cursor and the tables of the same moment
        meta = read_meta(conn)
        if "cursor_block" not in meta:
            raise ConfigError(f"the index in {settings.data_dir} has indexed nothing yet")
        cursor, cursor_hash = int(meta["cursor_block"]), meta["cursor_hash"]
        for table in tables:
            try:
                live[table] = table_digest(conn, table, upto=cursor)
            except Exception:  # noqa: BLE001 - a dropped table is a mismatch, not a crash
                live[table] = ("missing", 0)
        conn.execute("COMMIT")
    finally:
        conn.close()
    report = VerifyReport(cursor, cursor_hash)
    with tempfile.TemporaryDirectory(prefix="civic-index-verify-") as tmp:
        fresh = _open(settings, path=Path(tmp) / INDEX_FILE)
        try:
            fresh.sync(target=cursor)
            fresh_cursor = fresh.store.cursor()
            if fresh_cursor is None or fresh_cursor[0] != cursor:
                report.problems.append(f"the chain does not reach block {cursor} of the index")
            elif fresh_cursor[1] != cursor_hash:
                report.problems.append(
                    f"block {cursor} of the index ({cursor_hash}) is not on the chain (it has {fresh_cursor[1]}): "
                    "a reorg the index has not followed yet"
                )
            for table in tables:
                digest, rows = table_digest(fresh.store.conn, table, upto=cursor)
                report.tables.append(TableCheck(table, live[table][1], rows, live[table][0], digest))
        finally:
            fresh.close()
    return report
