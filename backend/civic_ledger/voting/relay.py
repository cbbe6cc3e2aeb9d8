"""The ballot relayer: many API requests, one ``castBatch`` transaction.

Requests that carry a signed ballot are pre-checked by the service (signature, ``checkBallot``)
and then handed to :meth:`BallotRelay.submit`, which queues the ballot and returns a future. A
background worker thread takes what is queued (up to ``max_batch`` ballots, waiting at most
``linger_s`` for a batch to fill), sends one ``castBatch`` through the platform relayer and
resolves each future from the events of the receipt: ``castBatch`` emits exactly one
``BallotCast`` or ``BallotRejected`` per ballot, in order, so the i-th of those logs belongs to
the i-th ballot of the batch.

When a batch goes out depends on how the node mines (:class:`BlockClock`). A node that mines each
transaction at once (the embedded chain, anvil by default) gets the batch ``linger_s`` after its first
ballot, and the next batch fills while it is mined. A node that seals blocks on a timer (QBFT every
1-5 s, anvil ``--block-time``) gets it just before the next block is due: ballots arriving while a
block is pending all ride in one batch, instead of the first few going out at once and the rest
waiting a whole block for the next; beyond ``max_batch`` ballots a block, full batches go at once,
several waiting for the same block (``timed_in_flight``).

The worker starts on the first ballot, is a daemon thread, and exits by itself after
``idle_exit_s`` without work (the next ballot starts it again); :meth:`close` stops it at once
and fails whatever is still queued. Nothing waits on it at interpreter shutdown.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import event_abi_to_log_topic, function_signature_to_4byte_selector

from civic_ledger.errors import ChainUnavailable, CivicLedgerError, TransactionFailed
from civic_ledger.platform.relayer import Relayer

#: Gas of a castBatch: fixed part plus a generous per-ballot allowance (a ballot costs ~25-60k).
BATCH_GAS_BASE = 150_000
BATCH_GAS_PER_BALLOT = 90_000
BATCH_GAS_CAP = 29_000_000


#: ABI type of ``IMVoting.BallotInput``.
BALLOT_TUPLE = "(uint256,address,uint256,bytes32,uint32,uint256,bytes,bytes32[])"
CAST_BATCH_SELECTOR = function_signature_to_4byte_selector(f"castBatch({BALLOT_TUPLE}[])")


@dataclass(frozen=True)
class RawCall:
    """Pre-encoded calldata in the shape the platform relayer sends (``address`` and
    ``_encode_transaction_data``): web3's contract encoder takes ~1 ms per ballot, eth-abi a
    fraction of that, which matters for a 100-ballot batch."""

    address: str
    data: str

    def _encode_transaction_data(self) -> str:
        return self.data


def cast_batch_call(address: str, ballots: list[tuple[Any, ...]]) -> RawCall:
    return RawCall(address, "0x" + (CAST_BATCH_SELECTOR + abi_encode([BALLOT_TUPLE + "[]"], [ballots])).hex())


class _QueueWorker:
    """A queue served by a daemon thread that starts with the first item, exits by itself after
    ``idle_exit_s`` without work (the next item starts another) and is stopped by :meth:`_stop`.
    A subclass names its thread and what it is (``what``, for the errors), and serves each batch
    of up to ``max_batch`` items in :meth:`_serve`."""

    thread_name = "worker"
    what = "worker"

    def __init__(self, max_batch: int, idle_exit_s: float) -> None:
        self.max_batch = max_batch
        self.idle_exit_s = idle_exit_s
        self._queue: deque[Any] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def _enqueue(self, item: Any) -> None:
        with self._cond:
            if self._closed:
                raise ChainUnavailable(f"the {self.what} is stopped")
            self._queue.append(item)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _stop(self, timeout: float) -> list[Any]:
        """Stop the thread (waiting up to ``timeout``); return what was still queued."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cond:
            items = list(self._queue)
            self._queue.clear()
        return items

    def _wait_for_work(self) -> bool:
        """Called holding ``_cond``: wait until something is queued. False when closed, or idle for
        ``idle_exit_s`` (the thread then exits)."""
        idle_until = time.monotonic() + self.idle_exit_s
        while not self._queue and not self._closed:
            left = idle_until - time.monotonic()
            if left <= 0:
                self._thread = None
                return False
            self._cond.wait(left)
        return not self._closed

    def _take(self) -> list[Any] | None:
        """Wait for work; return the next batch, or None to exit (closed or idle)."""
        with self._cond:
            if not self._wait_for_work():
                return None
            self._fill()
            return [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]

    def _fill(self) -> None:
        """Called holding ``_cond`` with work queued: wait for more before the batch is taken."""

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            self._serve(batch)

    def _serve(self, batch: list[Any]) -> None:
        raise NotImplementedError


class CallBatcher(_QueueWorker):
    """Runs many ``eth_call`` requests as one JSON-RPC batch (one HTTP round trip) when the
    provider supports it; on the embedded chain, back to back under one worker."""

    thread_name = "ballot-check"
    what = "call batcher"

    def __init__(self, provider: Any, sender: str, *, max_batch: int = 200, idle_exit_s: float = 30.0) -> None:
        super().__init__(max_batch, idle_exit_s)
        self.provider = provider
        self.sender = sender
        self.batched = hasattr(provider, "make_batch_request")

    def call(self, to: str, data: str) -> Future[bytes]:
        future: Future[bytes] = Future()
        self._enqueue(({"from": self.sender, "to": to, "data": data}, future))
        return future

    def close(self, timeout: float = 5.0) -> None:
        for _, future in self._stop(timeout):
            if not future.done():
                future.set_exception(ChainUnavailable("the call batcher was stopped"))

    def _serve(self, batch: list[tuple[dict[str, str], Future[bytes]]]) -> None:
        try:
            if self.batched and len(batch) > 1:
                responses = self.provider.make_batch_request([("eth_call", [tx, "latest"]) for tx, _ in batch])
                if not isinstance(responses, list):
                    raise TransactionFailed(f"batched eth_call failed: {responses}")
            else:
                responses = [self.provider.make_request("eth_call", [tx, "latest"]) for tx, _ in batch]
            for (_, future), response in zip(batch, responses, strict=True):
                result = response.get("result") if isinstance(response, dict) else None
                if isinstance(result, str):
                    future.set_result(bytes.fromhex(result[2:]))
                else:
                    future.set_exception(TransactionFailed(f"eth_call failed: {response}"))
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)


#: A timed batch goes to the node this long before its block is due (signing and sending take a
#: few ms; a seal is seen up to one receipt poll late), at most a quarter of the block period.
SEND_MARGIN_S = 0.15


class BlockClock:
    """When the node's next block is due, for a batcher that wants one batch per block.

    ``period_s`` 0 means the node mines each transaction at once. Otherwise the phase is learnt from
    the batcher's own receipts: the moment a batch's receipt first shows is (within one poll) the
    moment its block was sealed, and later blocks follow every ``period_s``."""

    def __init__(self, period_s: float) -> None:
        self.period_s = max(0.0, float(period_s))
        self._sealed_at: float | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, chain: Any, configured: float | None = None) -> BlockClock:
        """From configuration (``CIVIC_BLOCK_TIME``), else from the node (:meth:`Chain.block_period`)."""
        return cls(configured if configured is not None else chain.block_period())

    @property
    def timed(self) -> bool:
        return self.period_s > 0

    def sealed(self, at: float) -> None:
        """A block was seen sealed at monotonic time ``at``."""
        with self._lock:
            self._sealed_at = at

    def window(self, now: float, after: float | None = None) -> tuple[float, float] | None:
        """``(send at, block due)`` for a batch opened ``now``: the next block due after ``now``
        (and after ``after``, a block a batch was already closed for); None when the node mines at
        once or the phase is not known yet (the caller lingers briefly instead)."""
        with self._lock:
            sealed = self._sealed_at
        if not self.timed or sealed is None:
            return None
        periods = max(1, math.ceil((now - sealed) / self.period_s))
        due = sealed + periods * self.period_s
        while after is not None and due <= after + self.period_s / 2:
            due += self.period_s
        return max(now, due - min(SEND_MARGIN_S, self.period_s / 4)), due

    def send_by(self, now: float, after: float | None = None) -> float | None:
        w = self.window(now, after)
        return None if w is None else w[0]


@dataclass(frozen=True)
class Outcome:
    """What happened to one queued ballot."""

    accepted: bool
    reason: int  # IMVoting.Reason (0 when accepted)
    ballot_hash: bytes
    citizen_id: int
    tx_hash: str
    block_number: int
    log_index: int
    batch_size: int
    gas_used: int


@dataclass
class _Item:
    ballot: tuple[Any, ...]
    future: Future[Outcome]


class BallotRelay(_QueueWorker):
    thread_name = "ballot-relay"
    what = "ballot relay"
    #: Gas allowance per ballot of a batch (see BATCH_GAS_PER_BALLOT).
    gas_per_ballot = BATCH_GAS_PER_BALLOT
    #: Batches waiting for their block at once on a timed chain: when more than ``max_batch`` ballots
    #: arrive during one block, full batches go at once and all of them make that block. (A node that
    #: mines at once gets one batch at a time: the next one fills while the last is mined.)
    timed_in_flight = 4

    def __init__(
        self,
        relayer: Relayer,
        contract: Any,
        *,
        max_batch: int = 100,
        linger_s: float = 0.02,
        idle_exit_s: float = 30.0,
        clock: BlockClock | None = None,
    ) -> None:
        super().__init__(max_batch, idle_exit_s)
        self.relayer = relayer
        self.contract = contract
        self.linger_s = linger_s
        self.clock = clock or BlockClock(0.0)
        self._slots = threading.BoundedSemaphore(self.timed_in_flight)
        self._flushing: set[threading.Thread] = set()
        self._closed_for: float | None = None  # the block a timed batch was last closed for
        events = {e["name"]: e for e in contract.abi if e.get("type") == "event"}
        self._cast_topic = bytes(event_abi_to_log_topic(events["BallotCast"]))  # type: ignore[arg-type]
        self._rejected_topic = bytes(event_abi_to_log_topic(events["BallotRejected"]))  # type: ignore[arg-type]
        self.batches = 0
        self.ballots = 0

    # -- client side ---------------------------------------------------------------------

    def submit(self, ballot: tuple[Any, ...]) -> Future[Outcome]:
        """Queue one BallotInput tuple; the future resolves to its :class:`Outcome`."""
        future: Future[Outcome] = Future()
        self._enqueue(_Item(ballot, future))
        return future

    def cast(self, ballot: tuple[Any, ...], timeout: float | None = None) -> Outcome:
        wait = timeout if timeout is not None else self.relayer.receipt_timeout + 30
        try:
            return self.submit(ballot).result(wait)
        except TimeoutError:
            raise ChainUnavailable(f"the ballot was not relayed within {wait:.0f} s") from None

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker; queued ballots fail with ChainUnavailable."""
        items = self._stop(timeout)
        for flushing in list(self._flushing):
            flushing.join(timeout)
        for item in items:
            if not item.future.done():
                item.future.set_exception(ChainUnavailable("the ballot relay was stopped before this ballot was sent"))

    # -- worker --------------------------------------------------------------------------

    def _fill(self) -> None:
        """Linger for more ballots: ``linger_s`` on an instant chain; until just before the next
        block is due on a timed one."""
        now = time.monotonic()
        window = self.clock.window(now, self._closed_for)
        fill_until = window[0] if window else now + self.linger_s
        while len(self._queue) < self.max_batch and not self._closed:
            left = fill_until - time.monotonic()
            if left <= 0:
                break
            self._cond.wait(left)
        if window and len(self._queue) < self.max_batch:
            self._closed_for = window[1]  # later arrivals are for the block after

    def _serve(self, batch: list[_Item]) -> None:
        if not self.clock.timed:
            self._flush_or_split(batch)
        else:
            self._slots.acquire()
            flushing = threading.Thread(target=self._flush_in_slot, args=(batch,), name="ballot-batch", daemon=True)
            with self._cond:
                self._flushing.add(flushing)
            flushing.start()

    def _flush_in_slot(self, batch: list[_Item]) -> None:
        try:
            self._flush_or_split(batch)
        finally:
            with self._cond:
                self._flushing.discard(threading.current_thread())
            self._slots.release()

    def _flush_or_split(self, batch: list[_Item]) -> None:
        """Flush; if the whole transaction fails (not a skipped ballot: e.g. out of gas because
        of one oversized ballot), retry the halves, so one bad ballot can not sink the others."""
        try:
            self._flush(batch)
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
            if len(batch) > 1 and not isinstance(exc, ChainUnavailable) and not self._closed:
                half = len(batch) // 2
                self._flush_or_split(batch[:half])
                self._flush_or_split(batch[half:])
                return
            error = exc if isinstance(exc, CivicLedgerError) else TransactionFailed(f"castBatch failed: {exc}")
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(error)

    def _call(self, batch: list[_Item]) -> RawCall:
        return cast_batch_call(self.contract.address, [item.ballot for item in batch])

    def _flush(self, batch: list[_Item]) -> None:
        call = self._call(batch)
        gas = min(BATCH_GAS_CAP, BATCH_GAS_BASE + self.gas_per_ballot * len(batch))
        tx_hash, block_number, gas_used, logs = self._send(call, gas)
        with self._cond:  # up to timed_in_flight flushes count at once
            self.batches += 1
            self.ballots += len(batch)
        outcomes = self._outcomes(tx_hash, block_number, gas_used, logs, len(batch))
        for item, outcome in zip(batch, outcomes, strict=True):
            item.future.set_result(outcome)

    def _send(self, call: RawCall, gas: int) -> tuple[str, int, int, list[dict[str, Any]]]:
        """Send through the platform relayer (its nonce lock and signing) and read the receipt
        raw: web3's receipt formatters take ~1 ms per log, i.e. longer than the batch itself."""
        ((tx_hash, tx),) = self.relayer.submit([{"to": call.address, "data": call.data, "gas": gas}])
        provider = self.relayer.chain.w3.provider
        deadline = time.monotonic() + self.relayer.receipt_timeout
        delay = 0.001
        # On a timed chain the seal time is what the next batch is timed by: poll finely.
        longest = 0.01 if self.clock.timed else 0.05
        while True:
            response = provider.make_request("eth_getTransactionReceipt", [tx_hash])  # type: ignore[arg-type]
            receipt = response.get("result") if isinstance(response, dict) else None
            if receipt:
                self.clock.sealed(time.monotonic())
                break
            if time.monotonic() > deadline:
                raise ChainUnavailable(
                    f"transaction {tx_hash} was not mined within {self.relayer.receipt_timeout:.0f} s"
                )
            time.sleep(delay)
            delay = min(delay * 2, longest)
        block_number = _int(_get(receipt, "blockNumber", "block_number"))
        gas_used = _int(_get(receipt, "gasUsed", "gas_used"))
        ok = _int(receipt["status"]) == 1
        self.relayer.observe_mined(tx, tx_hash, block_number, gas_used, ok)
        if not ok:
            raise self.relayer.explain_failure(tx, block_number, tx_hash)
        logs = [
            {
                "address": str(x["address"]),
                "topics": list(x["topics"]),
                "data": x["data"],
                "logIndex": _int(_get(x, "logIndex", "log_index")),
            }
            for x in receipt["logs"]
        ]
        return tx_hash, block_number, gas_used, logs

    def _outcomes(
        self, tx_hash: str, block_number: int, gas_used: int, logs: list[dict[str, Any]], n: int
    ) -> list[Outcome]:
        address = self.contract.address.lower()
        cast_topic, rejected_topic = "0x" + self._cast_topic.hex(), "0x" + self._rejected_topic.hex()
        found: list[Outcome] = []
        for log in logs:
            if log["address"].lower() != address or not log["topics"]:
                continue
            topic = _hex(log["topics"][0])
            if topic not in (cast_topic, rejected_topic):
                continue
            data = bytes.fromhex(_hex(log["data"])[2:])
            if topic == cast_topic:
                # BallotCast(pollId, voter, citizenId indexed; ballotHash, version, choice, commitment)
                citizen_id = int(_hex(log["topics"][3]), 16)
                found.append(
                    Outcome(True, 0, data[:32], citizen_id, tx_hash, block_number, log["logIndex"], n, gas_used)
                )
            else:
                # BallotRejected(pollId, voter indexed; ballotHash, reason)
                reason = int.from_bytes(data[32:64], "big")
                found.append(Outcome(False, reason, data[:32], 0, tx_hash, block_number, log["logIndex"], n, gas_used))
        if len(found) != n:
            raise TransactionFailed(f"castBatch {tx_hash} emitted {len(found)} ballot events for {n} ballots")
        return found


#: ABI type of ``IEncryptedTally.EncryptedBallot``.
ENCRYPTED_TUPLE = "(uint256[],uint256[],uint256[])"
CAST_ENCRYPTED_BATCH_SELECTOR = function_signature_to_4byte_selector(
    f"castEncryptedBatch({BALLOT_TUPLE}[],{ENCRYPTED_TUPLE}[])"
)


class EncryptedBallotRelay(BallotRelay):
    """The same batching for encrypted polls: each item is ``(BallotInput, EncryptedBallot)``,
    sent as one ``castEncryptedBatch`` (which also emits one BallotCast / BallotRejected per ballot)."""

    gas_per_ballot = 700_000  # proofs: up to ~60k + 30k per option

    def _call(self, batch: list[_Item]) -> RawCall:
        ballots = [item.ballot[0] for item in batch]
        encrypted = [item.ballot[1] for item in batch]
        data = abi_encode([BALLOT_TUPLE + "[]", ENCRYPTED_TUPLE + "[]"], [ballots, encrypted])
        return RawCall(self.contract.address, "0x" + (CAST_ENCRYPTED_BATCH_SELECTOR + data).hex())


def _get(d: dict[str, Any], camel: str, snake: str) -> Any:
    return d[camel] if camel in d else d[snake]


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _hex(value: Any) -> str:
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()
