"""One event indexer for every deployed contract, and the read models (projections) areas plug in.

Areas declare their projections in a module listed in :data:`AREA_PROJECTIONS` (a ``PROJECTIONS``
list of :class:`Projection`); :func:`open_indexer` builds the indexer of a platform from its
deployment (addresses, deploy blocks) and build (ABIs). See :mod:`.core` for how it follows the
chain and :mod:`.decoder` for the JSON form of decoded arguments.
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civic_ledger.platform.indexer.core import INDEX_FILE, Indexer
from civic_ledger.platform.indexer.model import Event, Projection
from civic_ledger.platform.indexer.source import LogSource, open_source

if TYPE_CHECKING:
    from civic_ledger.config import Settings
    from civic_ledger.platform.compiler import Build

__all__ = [
    "AREA_PROJECTIONS",
    "FRESH_WAIT_S",
    "INDEX_FILE",
    "Event",
    "Indexer",
    "Projection",
    "default_projections",
    "fresh_read",
    "open_indexer",
]

log = logging.getLogger("civic_ledger.indexer")

#: Modules holding the areas' projections (each exposes ``PROJECTIONS: list[Projection]``).
AREA_PROJECTIONS: tuple[str, ...] = (
    "civic_ledger.notary.projections",
    "civic_ledger.identity.projections",
    "civic_ledger.voting.projections",
    "civic_ledger.credentials.projections",
    "civic_ledger.labor.projections",
    "civic_ledger.mileage.projections",
    "civic_ledger.payments.projections",
    "civic_ledger.vehicles.projections",
    "civic_ledger.roles.projections",
)

#: How long a read waits for the indexer to reach the head the chain had when the read began.
FRESH_WAIT_S = 5.0


@contextmanager
def fresh_read(platform: Any, what: str, *, block: int | None = None) -> Iterator[tuple[sqlite3.Connection, int]]:
    """Read-after-write for the API: one consistent snapshot of the index holding at least the
    chain's head as it was when the read began (or ``block``), so a read never misses a write
    acknowledged before it. Normally a few milliseconds (the indexer thread is woken); an index
    that can not get there within :data:`FRESH_WAIT_S` answers 503 naming ``what`` is delayed."""
    target = platform.chain.head() if block is None else block
    with platform.indexer.snapshot(target, FRESH_WAIT_S, what) as snap:
        yield snap


def default_projections() -> list[Projection]:
    out: list[Projection] = []
    for module in AREA_PROJECTIONS:
        out.extend(importlib.import_module(module).PROJECTIONS)
    return out


def followed_contracts(
    entries: dict[str, dict[str, object]], build: Build
) -> dict[str, tuple[str, int, list[dict[str, object]]]]:
    """address → (name, deploy block, ABI) for every contract of a deployment manifest."""
    return {
        str(e["address"]): (name, int(e.get("block", 0) or 0), build.artifact(name).abi)  # type: ignore[call-overload]
        for name, e in entries.items()
        if name in build.artifacts
    }


def open_indexer(
    settings: Settings,
    *,
    chain_id: int,
    entries: dict[str, dict[str, object]],
    build: Build,
    path: Path | None = None,
    source: LogSource | None = None,
    projections: list[Projection] | None = None,
) -> Indexer:
    """The indexer of the data directory's index (``DATA_DIR/index.sqlite3`` unless ``path``)."""
    src = source if source is not None else open_source(settings.chain, settings.data_dir)
    file = path if path is not None else settings.data_dir / INDEX_FILE

    def make() -> Indexer:
        return Indexer(
            file,
            src,
            followed_contracts(entries, build),
            default_projections() if projections is None else projections,
            chain_id=chain_id,
            chunk_blocks=settings.index_chunk_blocks,
            confirmations=settings.index_confirmations,
            poll_s=settings.index_poll_s,
        )

    try:
        try:
            return make()
        except sqlite3.DatabaseError as exc:  # not a database any more: the chain still has it all
            aside = file.with_name(f"{file.name}.damaged-{int(time.time())}")
            log.warning("index %s is unreadable (%s): moved to %s, rebuilding from the chain", file, exc, aside)
            file.rename(aside)
            for suffix in ("-wal", "-shm"):
                file.with_name(file.name + suffix).unlink(missing_ok=True)
            return make()
    except BaseException:
        src.close()
        raise
