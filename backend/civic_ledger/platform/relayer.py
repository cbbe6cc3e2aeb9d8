"""The relayer: the operator account signs and pays for every transaction.

- Transactions are signed locally with an explicit gas limit (no estimation on the hot path).
- One lock covers nonce assignment and submission, so concurrent requests never reuse or skip
  a nonce; waiting for receipts happens outside the lock, in parallel.
- A transaction that reverts is replayed with ``eth_call`` on the state it ran on to recover
  the revert data, which is decoded into a domain exception (:class:`ContractError`) against the
  ABI of the contract that was called (errors shared by several contracts name the right one).
- ``simulate=True`` runs the call first and raises without spending gas when it would revert.
- :attr:`Relayer.observers` hear of every transaction (sent, mined, reverted) as a
  :class:`TxObservation`: the metrics and the transaction log (``api/observability.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TransactionNotFound

from civic_ledger.errors import ChainUnavailable, CivicLedgerError, TransactionFailed
from civic_ledger.platform.chain import Chain
from civic_ledger.platform.revert import ErrorDecoder, revert_data_of

_TIP = 1_000_000_000  # 1 gwei priority fee


@dataclass(frozen=True)
class Receipt:
    """A mined, successful transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
    logs: list[Any]
    raw: Any


@dataclass(frozen=True)
class TxObservation:
    """What an observer hears: ``sent`` (accepted by the node), ``mined`` or ``reverted``."""

    outcome: str
    tx: dict[str, Any]
    tx_hash: str
    gas_used: int | None = None
    block_number: int | None = None


class Relayer:
    def __init__(
        self,
        chain: Chain,
        account: LocalAccount,
        decoder: ErrorDecoder,
        *,
        gas: int = 6_000_000,
        receipt_timeout: float = 120.0,
    ) -> None:
        self.chain = chain
        self.account = account
        self.address = account.address
        self.decoder = decoder
        self.gas = gas
        self.receipt_timeout = receipt_timeout
        self._lock = threading.Lock()
        self._nonce: int | None = None
        self._fee: tuple[float, int] | None = None  # (fetched at, max fee per gas)
        self.observers: list[Callable[[TxObservation], None]] = []
        self.in_flight = 0  # transactions waiting for the nonce lock or for their receipt here
        self._count_lock = threading.Lock()

    def _count(self, n: int) -> None:
        with self._count_lock:
            self.in_flight += n

    def observe(self, event: TxObservation) -> None:
        """Tell every observer; an observer's failure never fails the transaction."""
        for observer in self.observers:
            with suppress(Exception):  # metrics and logs must never break a write
                observer(event)

    def observe_mined(self, tx: dict[str, Any], tx_hash: str, block_number: int, gas_used: int, ok: bool) -> None:
        """For callers of :meth:`submit` that read receipts themselves (the ballot relay)."""
        self.observe(TxObservation("mined" if ok else "reverted", tx, tx_hash, gas_used, block_number))

    # -- fees and nonces -----------------------------------------------------------------

    def _max_fee(self) -> int:
        now = time.monotonic()
        if self._fee is None or now - self._fee[0] > 5.0:
            block = self.chain.w3.eth.get_block("latest")
            base = int(block.get("baseFeePerGas", 0) or 0)
            self._fee = (now, 2 * base + _TIP)
        return self._fee[1]

    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = int(self.chain.w3.eth.get_transaction_count(self.address, "pending"))
        return self._nonce

    # -- sending -------------------------------------------------------------------------

    def _sign(self, tx: dict[str, Any]) -> bytes:
        return bytes(self.account.sign_transaction(tx).raw_transaction)

    def _send(self, tx: dict[str, Any]) -> Any:
        """Send; if the node says our nonce is stale (another client used the operator
        account), re-read the nonce from the chain and try once more."""
        try:
            return self.chain.w3.eth.send_raw_transaction(self._sign(tx))
        except Exception as exc:
            if "nonce" not in str(exc).lower():
                raise
            tx["nonce"] = int(self.chain.w3.eth.get_transaction_count(self.address, "pending"))
            return self.chain.w3.eth.send_raw_transaction(self._sign(tx))

    def _submit(self, txs: Sequence[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        """Assign nonces, sign and send, all under the lock; returns (hash, tx) pairs."""
        sent: list[tuple[str, dict[str, Any]]] = []
        miner = self.chain.miner  # embedded: the pending block waits for sends queued here
        with miner.sending() if miner is not None else nullcontext(), self._lock:
            fee = self._max_fee()
            for tx in txs:
                nonce = self._next_nonce()
                full = {
                    "chainId": self.chain.chain_id,
                    "nonce": nonce,
                    "maxFeePerGas": fee,
                    "maxPriorityFeePerGas": min(_TIP, fee),
                    "value": 0,
                    **tx,
                }
                try:
                    tx_hash = self._send(full)
                except Exception as exc:
                    # Not accepted: the nonce was not used. Re-read it from the chain next time.
                    self._nonce = None
                    self._fee = None
                    data = revert_data_of(exc)
                    if data:
                        raise self.decoder.decode(data, full.get("to")) from None
                    raise TransactionFailed(f"the node refused the transaction: {_first_line(exc)}") from None
                self._nonce = int(full["nonce"]) + 1
                sent.append((HexBytes(tx_hash).to_0x_hex(), full))
        for tx_hash_hex, full in sent:
            self.observe(TxObservation("sent", full, tx_hash_hex))
        return sent

    def _wait(self, tx_hash: str) -> Any:
        """The receipt once mined. On the embedded chain with its miner, the provider holds the
        request until the transaction's block is committed (no polling in between)."""
        deadline = time.monotonic() + self.receipt_timeout
        delay = 0.002
        while True:
            try:
                return self.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                pass
            if time.monotonic() > deadline:
                raise ChainUnavailable(f"transaction {tx_hash} was not mined within {self.receipt_timeout:.0f} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _mined(self, tx_hash: str, tx: dict[str, Any]) -> Receipt:
        """Wait for the transaction's receipt and check it (a revert raises, decoded)."""
        return self._check(self._wait(tx_hash), tx)

    def _check(self, receipt: Any, tx: dict[str, Any]) -> Receipt:
        tx_hash = HexBytes(receipt["transactionHash"]).to_0x_hex()
        block, gas_used = int(receipt["blockNumber"]), int(receipt["gasUsed"])
        self.observe_mined(tx, tx_hash, block, gas_used, receipt["status"] == 1)
        if receipt["status"] == 1:
            return Receipt(tx_hash, block, gas_used, list(receipt["logs"]), receipt)
        raise self._explain_failure(tx, block, tx_hash)

    def _explain_failure(self, tx: dict[str, Any], block_number: int, tx_hash: str) -> CivicLedgerError:
        tester = self.chain.tester
        if tester is not None:
            # Embedded: blocks may hold several transactions, so the state before the block is not
            # the state the transaction ran on; the chain kept (or replays) what it returned.
            try:
                with self.chain.lock:
                    output = tester.backend.failure_output(bytes(HexBytes(tx_hash)))
            except Exception as exc:  # noqa: BLE001 - unknown hash, replay error: say what we can
                return TransactionFailed(f"transaction {tx_hash} reverted: {_first_line(exc)}")
            if isinstance(output, bytes):
                if output:
                    return self.decoder.decode(output, tx.get("to"))
                return TransactionFailed(f"transaction {tx_hash} reverted without revert data")
            if output:
                return TransactionFailed(f"transaction {tx_hash} reverted: {output.splitlines()[0][:300]}")
            return TransactionFailed(f"transaction {tx_hash} reverted (out of gas at limit {tx['gas']}?)")
        call = {
            "from": self.address,
            "to": tx.get("to"),
            "data": tx.get("data"),
            "gas": tx["gas"],
            "value": tx.get("value", 0),
        }
        try:
            self.chain.w3.eth.call(call, max(block_number - 1, 0))  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - whatever carried the revert data
            data = revert_data_of(exc)
            if data:
                return self.decoder.decode(data, tx.get("to"))
            return TransactionFailed(f"transaction {tx_hash} reverted: {_first_line(exc)}")
        return TransactionFailed(f"transaction {tx_hash} reverted (out of gas at limit {tx['gas']}?)")

    # -- public API ----------------------------------------------------------------------

    def submit(self, txs: Sequence[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        """Low level: sign and send ``{"to", "data", "gas"}`` dicts with consecutive nonces, without
        waiting; returns ``(tx_hash, full_tx)`` pairs. For hot paths that read receipts raw."""
        return self._submit(txs)

    def explain_failure(self, tx: dict[str, Any], block_number: int, tx_hash: str) -> CivicLedgerError:
        """The decoded error of a transaction that was mined with status 0."""
        return self._explain_failure(tx, block_number, tx_hash)

    def call(self, fn: ContractFunction, *, sender: str | None = None) -> Any:
        """Run ``fn`` as an ``eth_call`` (from the operator unless ``sender``); decode a revert."""
        try:
            # An unfunded sender can pay nothing: gas price 0 (the embedded chain's base fee is 0).
            tx: dict[str, Any] = {"from": sender, "gasPrice": 0} if sender else {"from": self.address, "gas": self.gas}
            return fn.call(tx)  # type: ignore[arg-type]
        except ContractLogicError as exc:
            data = revert_data_of(exc)
            raise (self.decoder.decode(data, fn.address) if data else TransactionFailed(str(exc))) from None

    simulate = call

    def transact(self, fn: ContractFunction, *, gas: int | None = None, simulate: bool = False) -> Receipt:
        """Send one contract call and wait until it is mined; raise the decoded error on revert."""
        return self.transact_many([fn], gas=gas, simulate=simulate)[0]

    def transact_many(
        self, fns: Sequence[ContractFunction], *, gas: int | None = None, simulate: bool = False
    ) -> list[Receipt]:
        """Send several calls back to back (consecutive nonces), then wait for all of them.

        Raises the first failure after every transaction has been mined.
        """
        if simulate:
            for fn in fns:
                self.simulate(fn)
        txs = [{"to": fn.address, "data": fn._encode_transaction_data(), "gas": gas or self.gas} for fn in fns]
        self._count(len(txs))
        try:
            sent = self._submit(txs)
        except BaseException:
            self._count(-len(txs))
            raise
        results: list[Receipt] = []
        failure: CivicLedgerError | None = None
        for tx_hash, tx in sent:
            try:
                results.append(self._mined(tx_hash, tx))
            except CivicLedgerError as exc:
                failure = failure or exc
            finally:
                self._count(-1)
        if failure is not None:
            raise failure
        return results

    def deploy(self, bytecode: str, constructor_data: bytes = b"", *, gas: int | None = None) -> Receipt:
        data = "0x" + bytecode.removeprefix("0x") + constructor_data.hex()
        ((tx_hash, tx),) = self._submit([{"data": data, "gas": gas or max(self.gas, 8_000_000)}])
        return self._mined(tx_hash, tx)

    def next_nonce(self) -> int:
        """The nonce the operator's next transaction will use."""
        with self._lock:
            return self._next_nonce()

    def deploy_many(
        self, items: Sequence[tuple[str, bytes]], *, first_nonce: int, gas: int | None = None
    ) -> list[Callable[[], Receipt]]:
        """Send several contract creations back to back (consecutive nonces from ``first_nonce``,
        which the caller used to predict their addresses); returns, per creation, a function that
        waits for its receipt. Refused before anything is sent if the nonce moved meanwhile."""
        txs = [
            {"data": "0x" + code.removeprefix("0x") + ctor.hex(), "gas": gas or max(self.gas, 8_000_000)}
            for code, ctor in items
        ]
        with self._lock:
            if self._next_nonce() != first_nonce:
                raise ChainUnavailable(
                    f"the operator's nonce moved from {first_nonce} to {self._next_nonce()} while the deployment "
                    "was planned (another client sends from the operator account): start again"
                )
        sent = self._submit(txs)
        if sent and int(sent[0][1]["nonce"]) != first_nonce:
            raise ChainUnavailable("another client used the operator's nonce during deployment: start again")
        return [partial(self._mined, tx_hash, tx) for tx_hash, tx in sent]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
