"""eth-tester's py-evm backend on the SQLite store: persistent, indexed, and able to mine in groups.

:class:`PersistentPyEVMBackend` builds the genesis exactly as eth-tester does, copies it into the
store when the store is empty, and otherwise opens the chain on the store at its stored canonical
head. It replaces eth-tester's linear scans: transactions are found through py-evm's own
tx-hash → (block, index) index, logs through the log index (:mod:`.logindex`), written in the same
SQLite transaction as each mined block.

Several transactions may wait in the pending block before it is mined (see :mod:`.miner`):
receipts number their logs through the whole block (as JSON-RPC nodes do), ``eth_call`` at
``latest`` runs on the last mined state (``pending`` includes the waiting transactions), and a
transaction that does not fit the pending block's gas left has the block mined first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth.exceptions import TransactionNotFound as EVMTransactionNotFound
from eth.vm.spoof import SpoofTransaction as EVMSpoofTransaction
from eth_tester.backends.pyevm.main import PyEVMBackend, _get_vm_for_block_number, setup_tester_chain
from eth_tester.backends.pyevm.serializers import serialize_transaction, serialize_transaction_receipt
from eth_tester.exceptions import TransactionFailed, TransactionNotFound
from eth_utils import encode_hex

from civic_ledger.platform.embedded.logindex import LogIndex
from civic_ledger.platform.embedded.store import SQLiteAtomicDB, SQLiteKV

_BLOB_TX_TYPE = 3
#: Failed transactions whose revert output is kept in memory (older ones are replayed).
_FAILURES_KEPT = 2_000


class CallLimitExceeded(Exception):
    """An untrusted ``eth_call`` ran past its wall-clock limit and was stopped."""


#: An untrusted call checks its deadline and yields the GIL every this many opcodes, for this long.
_YIELD_EVERY = 64
_YIELD_S = 0.0002


def _deadline_computation(base: Any, deadline: float, limit_s: float) -> type:
    """``base`` (a fork's computation class) that stops once ``deadline`` (monotonic) has passed.

    Every opcode charges gas through ``consume_gas``; checking the clock there bounds the wall
    time of a call whatever the code does (child calls use the same class).

    Untrusted work also gives way: py-evm is pure Python, so a long call holds the GIL, and every
    SQLite read of a concurrent write would wait up to the interpreter's switch interval to get
    it back (a write slowed ~20× was measured). Every ``_YIELD_EVERY`` opcodes the call sleeps
    briefly, releasing the GIL to whoever waits.
    """
    steps = [0]

    def consume_gas(self: Any, amount: int, reason: str) -> None:
        steps[0] += 1
        if steps[0] % _YIELD_EVERY == 0:
            if time.monotonic() > deadline:
                raise CallLimitExceeded(f"execution stopped after the time limit of {limit_s:g} s per call")
            time.sleep(_YIELD_S)
        base.consume_gas(self, amount, reason)

    return type(f"Deadline{base.__name__}", (base,), {"consume_gas": consume_gas})


def _error_output(computation: Any) -> bytes | str:
    error = computation._error
    if error is not None and error.args and isinstance(error.args[0], bytes):
        return bytes(error.args[0])
    return str(error)


class PersistentPyEVMBackend(PyEVMBackend):
    """eth-tester's py-evm backend whose chain lives in a SQLite file."""

    #: Limits of ``call`` (None: none). Set on the read-only backends that serve untrusted callers.
    call_gas_cap: int | None = None
    call_time_limit_s: float | None = None

    def __init__(self, db_path: Path, *, progress: Callable[[int, int], None] | None = None) -> None:
        self.db_path = Path(db_path)
        self.kv: SQLiteKV | None = None
        self.progress = progress
        #: Called (under the chain lock) with the hashes of the transactions a block committed, or
        #: with those it failed to commit and the error.
        self.on_mined: Callable[[list[bytes]], None] | None = None
        self.on_mine_failed: Callable[[list[bytes], BaseException], None] | None = None
        self._failures: OrderedDict[bytes, bytes | str] = OrderedDict()
        super().__init__()

    def _open_kv(self) -> SQLiteKV:
        return SQLiteKV(self.db_path)

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
            self.kv = self._open_kv()
        if not self.kv.read_only and self.kv.is_empty():
            memory = memory_chain.chaindb.db.wrapped_db.kv_store
            with self.kv.transaction():
                for key, value in memory.items():
                    self.kv[key] = value
        self.account_keys = account_keys
        self._chain_class = type(memory_chain)
        self.chain = self._chain_class(SQLiteAtomicDB(self.kv))
        self.log_index = LogIndex(self.kv)
        if not self.kv.read_only:
            self.log_index.backfill(self.chain, self.progress)

    def _reopen(self) -> None:
        """Back to the stored head (after a block failed to commit: its transactions are dropped)."""
        assert self.kv is not None
        self.chain = self._chain_class(SQLiteAtomicDB(self.kv))

    # -- time -----------------------------------------------------------------------------
    #
    # py-evm stamps the pending block when it is created, right after the previous block was
    # mined; a transaction sent a minute later would carry a timestamp a minute old, and chain
    # time would stand still while nothing happens. Before executing anything, an empty pending
    # block is re-stamped with the current time (never backwards, so `time_travel` into the
    # future still holds). A block holding transactions keeps the time of its first one.

    def _touch_clock(self) -> None:
        chain = self.chain
        if chain.get_block().transactions:
            return
        now = int(time.time())
        if now > chain.header.timestamp:
            chain.header = chain.header.copy(timestamp=now)

    def _make_room(self, gas: int) -> None:
        """Mine the pending block first when a transaction of ``gas`` would not fit in it."""
        header = self.chain.header
        if self.chain.get_block().transactions and header.gas_used + gas > header.gas_limit:
            self.mine_blocks(1)

    def _before_apply(self, gas: int | None) -> None:
        if gas is not None:
            self._make_room(int(gas))
        self._touch_clock()
        assert self.kv is not None
        # The pending block's state writes need no sync of their own: its commit syncs them.
        self.kv.set_synchronous("NORMAL")

    def send_raw_transaction(self, raw_transaction: Any) -> Any:
        if raw_transaction[0] == _BLOB_TX_TYPE:
            self._before_apply(None)
            return super().send_raw_transaction(raw_transaction)
        evm_tx = self.chain.get_vm().get_transaction_builder().decode(raw_transaction)
        self._before_apply(evm_tx.gas)
        _, _, computation = self.chain.apply_transaction(evm_tx)
        if computation.is_error:
            self._failures[evm_tx.hash] = _error_output(computation)
            while len(self._failures) > _FAILURES_KEPT:
                self._failures.popitem(last=False)
        return evm_tx.hash

    def send_signed_transaction(self, signed_transaction: Any, block_number: Any = "latest") -> Any:
        self._before_apply(signed_transaction.get("gas"))
        return super().send_signed_transaction(signed_transaction, block_number)

    def send_transaction(self, transaction: Any) -> Any:
        self._before_apply(transaction.get("gas"))
        return super().send_transaction(transaction)

    # -- mining ---------------------------------------------------------------------------

    def mine_blocks(self, num_blocks: int = 1, coinbase: Any = None) -> Any:  # type: ignore[override]
        """Mine; each call is one SQLite transaction (synced) holding the blocks and their logs."""
        assert self.kv is not None
        self._touch_clock()
        waiting = [tx.hash for tx in self.chain.get_block().transactions]
        self.kv.set_synchronous("FULL")
        try:
            with self.kv.transaction():
                args = (num_blocks,) if coinbase is None else (num_blocks, coinbase)
                hashes = super().mine_blocks(*args)
                for block_hash in hashes:
                    block = self.chain.get_block_by_hash(block_hash)
                    self.log_index.write_block(block, block.get_receipts(self.chain.chaindb))
        except BaseException as exc:
            self._reopen()
            if self.on_mine_failed is not None and waiting:
                self.on_mine_failed(waiting, exc)
            raise
        if self.on_mined is not None and waiting:
            self.on_mined(waiting)
        return hashes

    def pending_transactions(self) -> int:
        return len(self.chain.get_block().transactions)

    # -- transactions and receipts ----------------------------------------------------------

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
        receipt = serialize_transaction_receipt(block, receipts, transaction, index, is_pending, self.chain.get_vm())
        offset = sum(len(r.logs) for r in receipts[:index])  # log indices count through the block
        for entry in receipt["logs"]:
            entry["log_index"] += offset
        return receipt

    def failure_output(self, transaction_hash: bytes) -> bytes | str | None:
        """What a mined transaction that failed returned: revert data (bytes) or the error's text.

        Kept from its execution when recent; otherwise replayed on the state it ran on (its
        block's parent plus the transactions before it in the block). None if it did not fail.
        """
        if transaction_hash in self._failures:
            return self._failures[transaction_hash]
        chain = self.chain
        block_number, index = chain.chaindb.get_transaction_index(transaction_hash)
        block = chain.get_canonical_block_by_number(block_number)
        parent = chain.chaindb.get_block_header_by_hash(block.header.parent_hash)
        state = chain.get_vm(block.header.copy(state_root=parent.state_root, gas_used=0)).state
        for earlier in block.transactions[:index]:
            state.apply_transaction(earlier)
            state.lock_changes()
        executor = state.get_transaction_executor()
        tx = block.transactions[index]
        computation = executor.build_computation(executor.build_evm_message(tx), tx)
        return _error_output(computation) if computation.is_error else None

    # -- calls ----------------------------------------------------------------------------

    def call(self, transaction: Any, block_number: Any = "latest") -> Any:
        """``eth_call`` as JSON-RPC nodes run it: free, no balance or fee checks on the sender.

        eth-tester validates the call as a transaction, so a read from an unfunded citizen's
        address fails with "cannot afford txn gas"; here the message runs without that check.
        ``latest`` is the last mined state at the current time; ``pending`` adds the
        transactions waiting in the pending block.
        """
        if block_number in ("latest", "pending"):
            self._touch_clock()
            chain = self.chain
            if block_number == "latest" and chain.get_block().transactions:
                header = chain.create_header_from_parent(chain.get_canonical_head(), timestamp=chain.header.timestamp)
                vm = chain.get_vm(header)
            else:
                vm = chain.get_vm()
            tag = "pending"
        else:
            vm = _get_vm_for_block_number(self.chain, block_number)
            tag = block_number
        tx = dict(transaction)
        header = vm.get_header()
        tx.setdefault("gas", header.gas_limit - header.gas_used)
        if self.call_gas_cap is not None:
            tx["gas"] = min(int(tx["gas"]), self.call_gas_cap)
        for fee in ("max_fee_per_gas", "max_priority_fee_per_gas"):
            tx.pop(fee, None)
        tx["gas_price"] = 0
        unsigned = self._get_normalized_and_unsigned_evm_transaction(tx, tag)
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
            output = _error_output(computation)
            if isinstance(output, bytes):
                # Hex text, not bytes: web3's eth-tester provider would read bytes that look like
                # an ABI string as a revert reason and drop the selector of `error X(string)`.
                raise TransactionFailed("0x" + output.hex())
            raise TransactionFailed(output)
        return computation.output

    def header_bloom(self, block_number: int) -> int:
        return self.chain.chaindb.get_canonical_block_header_by_number(block_number).bloom

    def close(self) -> None:
        if self.kv is not None:
            self.kv.close()


class SnapshotPyEVMBackend(PersistentPyEVMBackend):
    """A read-only view of the embedded chain on its own SQLite connection.

    It never takes the chain lock: py-evm's trie nodes, canonical blocks and the log index are
    immutable once committed, and WAL gives this connection committed data only. :meth:`refresh`
    moves it to the current head before each request. Writes are impossible (``mode=ro``).
    """

    def __init__(self, db_path: Path, *, gas_cap: int, time_limit_s: float) -> None:
        self.call_gas_cap = gas_cap
        self.call_time_limit_s = time_limit_s
        super().__init__(db_path)

    def _open_kv(self) -> SQLiteKV:
        return SQLiteKV(self.db_path, read_only=True)

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().reset_to_genesis(None, None, None, None, None, None)

    def refresh(self) -> None:
        """Follow the writer: the pending header on top of the current canonical head."""
        chain = self.chain
        head = chain.chaindb.get_canonical_head()
        chain.header = chain.create_header_from_parent(head)
