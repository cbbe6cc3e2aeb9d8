"""The embedded chain: eth-tester + py-evm in process, persisted in SQLite.

- :mod:`.store`: the SQLite key/value store; one py-evm write batch = one SQLite transaction.
- :mod:`.logindex`: logs indexed by address and topic as blocks are mined (same transaction).
- :mod:`.backend`: the persistent py-evm backend and its read-only snapshot view.
- :mod:`.tester`: EthereumTester with indexed ``get_logs`` and deferrable mining.
- :mod:`.miner`: group commit, several transactions per block.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from civic_ledger.platform.embedded.backend import (
    CallLimitExceeded,
    PersistentPyEVMBackend,
    SnapshotPyEVMBackend,
)
from civic_ledger.platform.embedded.logindex import LogIndex
from civic_ledger.platform.embedded.miner import BlockMiner
from civic_ledger.platform.embedded.store import SQLiteAtomicDB, SQLiteKV
from civic_ledger.platform.embedded.tester import PersistentEthereumTester

#: eth-tester's chain id; the embedded chain is a development chain.
EMBEDDED_CHAIN_ID = 131277322940537

__all__ = [
    "EMBEDDED_CHAIN_ID",
    "BlockMiner",
    "CallLimitExceeded",
    "LogIndex",
    "PersistentEthereumTester",
    "PersistentPyEVMBackend",
    "SQLiteAtomicDB",
    "SQLiteKV",
    "SnapshotPyEVMBackend",
    "open_embedded",
    "open_snapshot_reader",
]


def open_snapshot_reader(data_dir: Path, *, gas_cap: int, time_limit_s: float) -> PersistentEthereumTester:
    """A read-only tester over the embedded chain in ``data_dir`` for untrusted callers (``/rpc``)."""
    backend = SnapshotPyEVMBackend(data_dir / "chain.sqlite3", gas_cap=gas_cap, time_limit_s=time_limit_s)
    return PersistentEthereumTester(backend=backend, auto_mine_transactions=False)


def open_embedded(data_dir: Path, *, progress: Callable[[int, int], None] | None = None) -> PersistentEthereumTester:
    """Open (or create) the embedded chain stored under ``data_dir`` (one block per transaction
    until a :class:`BlockMiner` takes over). A store made before the log index is back-filled
    here, once (``progress(done, total)``; default: a line on stderr every few seconds)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    backend = PersistentPyEVMBackend(data_dir / "chain.sqlite3", progress=progress)
    return PersistentEthereumTester(backend=backend, auto_mine_transactions=True)
