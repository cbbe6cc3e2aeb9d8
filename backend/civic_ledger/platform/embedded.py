"""The embedded chain: eth-tester + py-evm in process, persisted in SQLite.

py-evm writes through an ``AtomicDatabaseAPI``. :class:`SQLiteAtomicDB` stores its keys and
values in one SQLite table (WAL mode, ``synchronous=FULL``) and commits every py-evm write
batch as one SQLite transaction, so a crash (even ``kill -9``) leaves the store at the end of
some batch: the canonical head always points at a fully written block and state.

:class:`PersistentPyEVMBackend` builds the genesis exactly as eth-tester does, copies it into
the store when the store is empty, and otherwise opens the chain on the store at its stored
canonical head. It also replaces eth-tester's linear scans: transactions are found through
py-evm's own tx-hash → (block, index) index, and log queries skip blocks whose bloom filter
rules them out.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eth.abc import AtomicWriteBatchAPI
from eth.db.atomic import AtomicDB, AtomicDBWriteBatch
from eth.db.backends.base import BaseDB
from eth.exceptions import TransactionNotFound as EVMTransactionNotFound
from eth.vm.spoof import SpoofTransaction as EVMSpoofTransaction
from eth_bloom import BloomFilter
from eth_tester import EthereumTester
from eth_tester.backends.pyevm.main import PyEVMBackend, _get_vm_for_block_number, setup_tester_chain
from eth_tester.backends.pyevm.serializers import (
    serialize_transaction,
    serialize_transaction_receipt,
)
from eth_tester.exceptions import TransactionFailed, TransactionNotFound
from eth_tester.utils.filters import Filter, check_if_log_matches
from eth_utils import encode_hex

#: eth-tester's chain id; the embedded chain is a development chain.
EMBEDDED_CHAIN_ID = 131277322940537


class SQLiteKV(BaseDB):
    """A key/value table in SQLite. Writes autocommit unless a transaction is open.

    ``read_only`` opens a second connection to the same file that can never write: in WAL mode it
    reads committed data while the writer goes on, so untrusted reads need no chain lock.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
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

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

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


class CallLimitExceeded(Exception):
    """An untrusted ``eth_call`` ran past its wall-clock limit and was stopped."""


def _deadline_computation(base: type, deadline: float, limit_s: float) -> type:
    """``base`` (a fork's computation class) that stops once ``deadline`` (monotonic) has passed.

    Every opcode charges gas through ``consume_gas``; checking the clock there bounds the wall
    time of a call whatever the code does (child calls use the same class).
    """

    def consume_gas(self: Any, amount: int, reason: str) -> None:
        if time.monotonic() > deadline:
            raise CallLimitExceeded(f"execution stopped after the time limit of {limit_s:g} s per call")
        base.consume_gas(self, amount, reason)

    return type(f"Deadline{base.__name__}", (base,), {"consume_gas": consume_gas})


class PersistentPyEVMBackend(PyEVMBackend):
    """eth-tester's py-evm backend whose chain lives in a SQLite file."""

    #: Limits of ``call`` (None: none). Set on the read-only backends that serve untrusted callers.
    call_gas_cap: int | None = None
    call_time_limit_s: float | None = None

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self.kv: SQLiteKV | None = None
        super().__init__()

    def reset_to_genesis(  # type: ignore[override]
        self,
        genesis_params: Any = None,
        genesis_state: Any = None,
        num_accounts: Any = None,
        vm_configuration: Any = None,
        mnemonic: Any = None,
        hd_path: Any = None,
    ) -> None:
        account_keys, memory_chain = setup_tester_chain(
            genesis_params, genesis_state, num_accounts, vm_configuration, mnemonic, hd_path
        )
        if self.kv is None:
            self.kv = SQLiteKV(self.db_path)
        if self.kv.is_empty():
            memory = memory_chain.chaindb.db.wrapped_db.kv_store
            with self.kv.transaction():
                for key, value in memory.items():
                    self.kv[key] = value
        self.account_keys = account_keys
        self.chain = type(memory_chain)(SQLiteAtomicDB(self.kv))

    # -- time -----------------------------------------------------------------------------
    #
    # py-evm stamps the pending block when it is created, right after the previous block was
    # mined; with auto-mining, a transaction sent a minute later would carry a timestamp a
    # minute old, and chain time would stand still while nothing happens. Before executing
    # anything, an empty pending block is re-stamped with the current time (never backwards,
    # so `time_travel` into the future still holds).

    def _touch_clock(self) -> None:
        chain = self.chain
        if chain.get_block().transactions:
            return
        now = int(time.time())
        if now > chain.header.timestamp:
            chain.header = chain.header.copy(timestamp=now)

    def send_raw_transaction(self, raw_transaction: Any) -> Any:
        self._touch_clock()
        return super().send_raw_transaction(raw_transaction)

    def send_signed_transaction(self, signed_transaction: Any, block_number: Any = "latest") -> Any:
        self._touch_clock()
        return super().send_signed_transaction(signed_transaction, block_number)

    def send_transaction(self, transaction: Any) -> Any:
        self._touch_clock()
        return super().send_transaction(transaction)

    def mine_blocks(self, num_blocks: int = 1, coinbase: Any = None) -> Any:  # type: ignore[override]
        self._touch_clock()
        return super().mine_blocks(num_blocks) if coinbase is None else super().mine_blocks(num_blocks, coinbase)

    def _locate(self, transaction_hash: bytes) -> tuple[Any, Any, int]:
        try:
            block_number, index = self.chain.chaindb.get_transaction_index(transaction_hash)
        except EVMTransactionNotFound:
            pending = self.chain.get_block()
            for i, tx in enumerate(pending.transactions):
                if tx.hash == transaction_hash:
                    return pending, tx, i
            raise TransactionNotFound(
                f"No transaction found for transaction hash: {encode_hex(transaction_hash)}"
            ) from None
        block = self.chain.get_canonical_block_by_number(block_number)
        return block, block.transactions[index], index

    def get_transaction_by_hash(self, transaction_hash: bytes) -> Any:
        block, transaction, index = self._locate(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        return serialize_transaction(block, transaction, index, is_pending)

    def get_transaction_receipt(self, transaction_hash: bytes) -> Any:
        block, transaction, index = self._locate(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        receipts = block.get_receipts(self.chain.chaindb)
        return serialize_transaction_receipt(block, receipts, transaction, index, is_pending, self.chain.get_vm())

    def call(self, transaction: Any, block_number: Any = "latest") -> Any:
        """``eth_call`` as JSON-RPC nodes run it: free, no balance or fee checks on the sender.

        eth-tester validates the call as a transaction, so a read from an unfunded citizen's
        address fails with "cannot afford txn gas"; here the message runs without that check.
        """
        tx = dict(transaction)
        tx.setdefault("gas", self._max_available_gas())
        if self.call_gas_cap is not None:
            tx["gas"] = min(int(tx["gas"]), self.call_gas_cap)
        for fee in ("max_fee_per_gas", "max_priority_fee_per_gas"):
            tx.pop(fee, None)
        tx["gas_price"] = 0
        if block_number in ("latest", "pending"):
            # What the transaction would do if sent now: latest state, current time.
            self._touch_clock()
            vm = self.chain.get_vm()
            unsigned = self._get_normalized_and_unsigned_evm_transaction(tx, "pending")
        else:
            vm = _get_vm_for_block_number(self.chain, block_number)
            unsigned = self._get_normalized_and_unsigned_evm_transaction(tx, block_number)
        evm_tx = EVMSpoofTransaction(unsigned, from_=transaction["from"])
        state = vm.state
        if self.call_time_limit_s is not None:
            deadline = time.monotonic() + self.call_time_limit_s
            state.computation_class = _deadline_computation(
                type(state).computation_class, deadline, self.call_time_limit_s
            )
        snapshot = state.snapshot()
        try:
            executor = state.get_transaction_executor()
            computation = executor.build_computation(executor.build_evm_message(evm_tx), evm_tx)
        finally:
            state.revert(snapshot)
        if computation.is_error:
            error = computation._error
            if error.args and isinstance(error.args[0], bytes):
                # Hex text, not bytes: web3's eth-tester provider would read bytes that look like
                # an ABI string as a revert reason and drop the selector of `error X(string)`.
                raise TransactionFailed("0x" + error.args[0].hex())
            raise TransactionFailed(str(error))
        return computation.output

    def header_bloom(self, block_number: int) -> int:
        return self.chain.chaindb.get_canonical_block_header_by_number(block_number).bloom

    def close(self) -> None:
        if self.kv is not None:
            self.kv.close()


def _bloom_may_match(bloom: int, addresses: Any, topics: Any) -> bool:
    """Whether a block with this logs bloom may hold a log matching the filter."""
    if not bloom:
        return False
    flt = BloomFilter(bloom)
    if addresses:
        addrs = addresses if isinstance(addresses, (list, tuple)) else [addresses]
        if not any(bytes(a) in flt for a in addrs):
            return False
    for position in topics or ():
        if position is None:
            continue
        options = position if isinstance(position, (list, tuple)) else [position]
        if not any(bytes(t) in flt for t in options if t is not None):
            return False
    return True


class SnapshotPyEVMBackend(PersistentPyEVMBackend):
    """A read-only view of the embedded chain on its own SQLite connection.

    It never takes the chain lock: py-evm's trie nodes and canonical blocks are immutable once
    committed, and WAL gives this connection committed data only. :meth:`refresh` moves it to the
    current head before each request. Writes are impossible (the connection is ``mode=ro``).
    """

    def __init__(self, db_path: Path, *, gas_cap: int, time_limit_s: float) -> None:
        self.call_gas_cap = gas_cap
        self.call_time_limit_s = time_limit_s
        super().__init__(db_path)

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        account_keys, memory_chain = setup_tester_chain(None, None, None, None, None, None)
        if self.kv is None:
            self.kv = SQLiteKV(self.db_path, read_only=True)
        self.account_keys = account_keys
        self.chain = type(memory_chain)(SQLiteAtomicDB(self.kv))

    def refresh(self) -> None:
        """Follow the writer: the pending header on top of the current canonical head."""
        chain = self.chain
        head = chain.chaindb.get_canonical_head()
        chain.header = chain.create_header_from_parent(head)


class PersistentEthereumTester(EthereumTester):
    """EthereumTester whose ``get_logs`` reads only blocks whose bloom may match."""

    backend: PersistentPyEVMBackend

    def get_logs(self, from_block=None, to_block=None, address=None, topics=None):  # type: ignore[no-untyped-def,override]
        self.validator.validate_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics
        )
        raw_from, raw_to, raw_address, raw_topics = self.normalizer.normalize_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics
        )
        params = {"from_block": raw_from, "to_block": raw_to, "addresses": raw_address, "topics": raw_topics}
        log_filter = Filter(filter_params=params, filter_fn=lambda entry: check_if_log_matches(entry, **params))
        lower = raw_from if isinstance(raw_from, int) else self.get_block_by_number(raw_from or "latest")["number"]
        upper = raw_to if isinstance(raw_to, int) else self.get_block_by_number(raw_to or "latest")["number"]
        head = self.backend.chain.get_canonical_head().block_number
        for number in range(lower, min(upper, head) + 1):
            if not _bloom_may_match(self.backend.header_bloom(number), raw_address, raw_topics):
                continue
            block = self.get_block_by_number(number)
            for tx_hash in block["transactions"]:
                for entry in self.get_transaction_receipt(tx_hash)["logs"]:
                    log_filter.add(self.normalizer.normalize_inbound_log_entry(entry))
        return tuple(self.normalizer.normalize_outbound_log_entry(item) for item in log_filter.get_all())


def open_snapshot_reader(data_dir: Path, *, gas_cap: int, time_limit_s: float) -> PersistentEthereumTester:
    """A read-only tester over the embedded chain in ``data_dir`` for untrusted callers (``/rpc``)."""
    backend = SnapshotPyEVMBackend(data_dir / "chain.sqlite3", gas_cap=gas_cap, time_limit_s=time_limit_s)
    return PersistentEthereumTester(backend=backend, auto_mine_transactions=False)


def open_embedded(data_dir: Path) -> PersistentEthereumTester:
    """Open (or create) the embedded chain stored under ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    backend = PersistentPyEVMBackend(data_dir / "chain.sqlite3")
    return PersistentEthereumTester(backend=backend, auto_mine_transactions=True)
