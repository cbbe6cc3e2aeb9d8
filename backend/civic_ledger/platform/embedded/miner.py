"""Group commit for the embedded chain: transactions sent close together are mined in one block.

Without it every transaction is a block of its own: a state root, a header, a transaction and a
receipt trie and a synced SQLite commit each. With it, a sent transaction waits in the pending
block; the miner thread mines the pending block once ``linger_s`` has passed since its first
transaction and no sender is about to add one (:meth:`BlockMiner.sending`: the relayer and the
provider's send say so), at the latest ``max_linger_s`` after its first transaction, or at once
when it holds ``max_txs``. A block is one SQLite transaction (blocks, state and log index),
committed with ``synchronous=FULL``.

Durability is unchanged: a transaction's receipt is served only once its block is committed.
The chain's provider asks :meth:`BlockMiner.wait` before answering ``eth_getTransactionReceipt``
for a waiting transaction (so every receipt poller, the relayer's, the ballot relay's or web3's
``wait_for_transaction_receipt``, cooperates without knowing), and until then answers "not
found", as a JSON-RPC node does for a transaction still in its pool. If a block fails to commit,
its transactions are dropped (never acknowledged) and their waiters get :class:`ChainUnavailable`.

Locks: the chain lock is taken before the miner's condition, never the other way round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from civic_ledger.errors import ChainUnavailable

log = logging.getLogger(__name__)

#: Defaults: wait at least this long after a block's first transaction for others to join it,
#: longer while senders are on their way but never more than ``MAX_LINGER_S``; at most
#: ``MAX_TXS`` transactions per block.
LINGER_S = 0.002
MAX_LINGER_S = 0.050
MAX_TXS = 200


class BlockMiner:
    """Mines the embedded chain's pending block in the background (see the module docstring)."""

    def __init__(
        self,
        tester: Any,
        lock: threading.RLock,
        *,
        linger_s: float = LINGER_S,
        max_linger_s: float = MAX_LINGER_S,
        max_txs: int = MAX_TXS,
    ) -> None:
        self.tester = tester
        self.lock = lock
        self.linger_s = linger_s
        self.max_linger_s = max(max_linger_s, linger_s)
        self.max_txs = max_txs
        self._sending = 0
        self.blocks = 0
        self.transactions = 0
        self._cond = threading.Condition()
        self._waiting: set[bytes] = set()
        self._failed: OrderedDict[bytes, str] = OrderedDict()
        self._first_at = 0.0
        self._closed = False
        with lock:
            backend = tester.backend
            backend.on_mined = self._mined
            backend.on_mine_failed = self._mine_failed
            tester.on_pending = self._pending
            tester.defer_mining = True
        self._thread = threading.Thread(target=self._run, name="embedded-miner", daemon=True)
        self._thread.start()

    # -- hooks (called under the chain lock) ----------------------------------------------------

    def _pending(self, tx_hash: bytes) -> None:
        with self._cond:
            if not self._waiting:
                self._first_at = time.monotonic()
            self._waiting.add(bytes(tx_hash))
            self._cond.notify_all()

    def _mined(self, hashes: list[bytes]) -> None:
        with self._cond:
            self.blocks += 1
            self.transactions += len(hashes)
            self._waiting.difference_update(bytes(h) for h in hashes)
            self._cond.notify_all()

    def _mine_failed(self, hashes: list[bytes], exc: BaseException) -> None:
        reason = f"the block holding this transaction could not be committed: {exc}"
        with self._cond:
            for h in hashes:
                self._waiting.discard(bytes(h))
                self._failed[bytes(h)] = reason
            while len(self._failed) > 10_000:
                self._failed.popitem(last=False)
            self._cond.notify_all()

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Around a send that is on its way (maybe queued for a lock): the block waits for it."""
        with self._cond:
            self._sending += 1
        try:
            yield
        finally:
            with self._cond:
                self._sending -= 1
                self._cond.notify_all()

    # -- waiting --------------------------------------------------------------------------------

    def is_waiting(self, tx_hash: bytes) -> bool:
        with self._cond:
            return bytes(tx_hash) in self._waiting

    def wait(self, tx_hash: bytes, timeout: float) -> bool:
        """Block until ``tx_hash`` is no longer waiting to be mined; False on timeout.

        Raises :class:`ChainUnavailable` if its block failed to commit.
        """
        key = bytes(tx_hash)
        deadline = time.monotonic() + timeout
        with self._cond:
            while key in self._waiting:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            reason = self._failed.get(key)
        if reason is not None:
            raise ChainUnavailable(reason)
        return True

    # -- the miner thread -----------------------------------------------------------------------

    def _due(self) -> bool:
        """With the condition held: wait until the pending block should be mined (False: stop)."""
        while not self._waiting:
            if self._closed:
                return False
            self._cond.wait()
        while self._waiting and len(self._waiting) < self.max_txs and not self._closed:
            elapsed = time.monotonic() - self._first_at
            if elapsed >= self.max_linger_s or (elapsed >= self.linger_s and not self._sending):
                break
            self._cond.wait((self.max_linger_s if self._sending else self.linger_s) - elapsed)
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._due():
                    return
                if not self._waiting:
                    continue  # mined by someone else meanwhile (a full block, time travel)
            self._mine()

    def _mine(self) -> None:
        with self.lock:
            backend = self.tester.backend
            if backend.pending_transactions():
                try:
                    self.tester.mine_blocks(1)
                except Exception:  # noqa: BLE001 - the waiters were told; the thread goes on
                    log.exception("the embedded chain could not commit a block")
                return
            # Nothing pending although hashes wait: they were dropped (e.g. a failed commit).
            with self._cond:
                for h in self._waiting:
                    self._failed[h] = "the transaction was dropped before it was mined"
                self._waiting.clear()
                self._cond.notify_all()

    def close(self, timeout: float = 30.0) -> None:
        """Mine what waits, stop the thread and hand mining back to the tester (one block per tx)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self.lock:
            if self.tester.backend.pending_transactions():
                self._mine()
            self.tester.defer_mining = False
            self.tester.on_pending = None
            self.tester.backend.on_mined = None
            self.tester.backend.on_mine_failed = None
