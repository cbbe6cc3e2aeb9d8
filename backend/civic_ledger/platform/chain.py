"""One way to reach the chain, embedded or JSON-RPC: a connected ``Web3`` plus what we know of it."""

from __future__ import annotations

import fcntl
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester.exceptions import TransactionFailed as TesterTransactionFailed
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, HTTPProvider, LegacyWebSocketProvider, Web3
from web3.exceptions import ContractLogicError

from civic_ledger.errors import ChainUnavailable, ConfigError, ServiceBusy
from civic_ledger.platform.embedded import (
    EMBEDDED_CHAIN_ID,
    BlockMiner,
    PersistentEthereumTester,
    SnapshotPyEVMBackend,
    open_embedded,
    open_snapshot_reader,
)
from civic_ledger.platform.revert import revert_data_of

#: Development chains: the embedded chain, anvil/hardhat (31337) and geth --dev (1337).
DEVELOPMENT_CHAIN_IDS = frozenset({EMBEDDED_CHAIN_ID, 31337, 1337})

#: Well-known development keys, never accepted on any other chain id.
#: eth-tester funds keys 1..10 at genesis; anvil funds its mnemonic's first accounts.
_ETH_TESTER_KEY = "0x" + "00" * 31 + "01"
_ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


#: How long one receipt request waits for its block to be committed before answering "not found"
#: (the caller polls again, as it would on a JSON-RPC node).
_RECEIPT_WAIT_S = 5.0
_SENDS = frozenset({"eth_sendRawTransaction", "eth_sendTransaction"})


class _LockedTesterProvider(EthereumTesterProvider):
    """eth-tester is not thread-safe: FastAPI's thread pool must take turns.

    With a :class:`BlockMiner`, a receipt asked for a transaction still waiting in the pending
    block is answered once its block is committed (outside the chain lock), never before.
    """

    def __init__(self, tester: PersistentEthereumTester, lock: threading.RLock) -> None:
        super().__init__(tester)
        self._lock = lock
        self.miner: BlockMiner | None = None

    def make_request(self, method: Any, params: Any) -> Any:
        miner = self.miner
        if miner is not None and method == "eth_getTransactionReceipt" and params:
            tx_hash = bytes(HexBytes(params[0]))
            if miner.is_waiting(tx_hash) and not miner.wait(tx_hash, _RECEIPT_WAIT_S):
                return {"jsonrpc": "2.0", "id": 0, "result": None}
        sending = miner.sending() if miner is not None and method in _SENDS else nullcontext()
        with sending, self._lock:
            try:
                return super().make_request(method, params)
            except TesterTransactionFailed as exc:
                # Raise what a JSON-RPC node's revert becomes in web3: ContractLogicError + data.
                data = revert_data_of(exc)
                raise ContractLogicError("execution reverted", data="0x" + (data or b"").hex()) from None


class UntrustedReads:
    """Where reads for untrusted callers (``/rpc``) run, so they can not stall anything else.

    On the embedded chain each read runs on a read-only snapshot of the store (its own SQLite
    connection, never the chain lock), with every ``eth_call`` capped at ``gas_cap`` gas and
    ``time_limit_s`` of wall time; at most ``size`` run at once. On a JSON-RPC node the node
    runs them (the gas cap is applied to the request by the caller).
    """

    def __init__(self, chain: Chain, data_dir: Path, *, gas_cap: int, time_limit_s: float, size: int) -> None:
        self.chain = chain
        self.gas_cap = gas_cap
        self.time_limit_s = time_limit_s
        self.size = size
        self._data_dir = data_dir
        self._pool: queue.Queue[Any] = queue.Queue()
        self._made = 0
        self._lock = threading.Lock()

    @contextmanager
    def provider(self, wait_s: float) -> Iterator[Any]:
        """A provider to make one request with; :class:`ServiceBusy` when none is free in ``wait_s``."""
        if not self.chain.is_embedded:
            yield self.chain.w3.provider
            return
        try:
            reader = self._pool.get_nowait()
        except queue.Empty:
            reader = None
            with self._lock:
                if self._made < self.size:
                    self._made += 1
                    make = True
                else:
                    make = False
            if make:
                tester = open_snapshot_reader(self._data_dir, gas_cap=self.gas_cap, time_limit_s=self.time_limit_s)
                reader = _LockedTesterProvider(tester, threading.RLock())
            else:
                try:
                    reader = self._pool.get(timeout=wait_s)
                except queue.Empty:
                    raise ServiceBusy(
                        f"all {self.size} read slots for untrusted callers are busy: retry in a moment"
                    ) from None
        try:
            backend = reader.ethereum_tester.backend
            assert isinstance(backend, SnapshotPyEVMBackend)
            backend.refresh()
            yield reader
        finally:
            self._pool.put(reader)

    def close(self) -> None:
        while True:
            try:
                reader = self._pool.get_nowait()
            except queue.Empty:
                return
            reader.ethereum_tester.backend.close()


#: A node that does not say how it mines is taken to seal on a timer; longer gaps between its recent
#: blocks are idle time, not the period (QBFT periods are 1-5 s).
MAX_GUESSED_PERIOD_S = 5.0


@dataclass
class Chain:
    """A connected chain: ``w3`` for reads, ``kind`` for reports, ``chain_id`` cached."""

    w3: Web3
    kind: str  # "embedded" or the node URL
    chain_id: int
    tester: PersistentEthereumTester | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    miner: BlockMiner | None = None
    _lockfile: Any = None

    @property
    def is_development(self) -> bool:
        return self.chain_id in DEVELOPMENT_CHAIN_IDS

    @property
    def is_embedded(self) -> bool:
        return self.tester is not None

    def head(self) -> int:
        try:
            return int(self.w3.eth.block_number)
        except Exception as exc:  # noqa: BLE001 - any transport failure means unreachable
            raise ChainUnavailable(f"chain {self.kind} is unreachable: {exc}") from None

    def now(self) -> int:
        """The later of the wall clock and the head block's time (a dev chain may run ahead)."""
        try:
            # Raw: web3's block formatters cost more than the request (this is on every typed-data call).
            block = self.w3.provider.make_request("eth_getBlockByNumber", ["latest", False])  # type: ignore[arg-type]
            stamp = block["result"]["timestamp"]
            head_ts = int(stamp, 16) if isinstance(stamp, str) else int(stamp)
        except Exception:  # noqa: BLE001 - unreachable: the wall clock will do
            head_ts = 0
        return max(int(time.time()), head_ts)

    def block_period(self) -> float:
        """Seconds between the node's blocks: 0 when it mines each transaction at once (the
        embedded chain; anvil or hardhat saying they automine), anvil's interval when it mines on
        one, else the mean gap of the last blocks (capped: longer gaps are idle time)."""
        if self.is_embedded:
            return 0.0  # mines what is sent, a few ms later
        provider = self.w3.provider
        for method in ("anvil_getAutomine", "hardhat_getAutomine"):
            try:
                answer = provider.make_request(method, [])  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001, S112 - a node without the method may raise instead of answering
                continue
            automine = answer.get("result") if isinstance(answer, dict) else None
            if isinstance(automine, bool):
                if automine:
                    return 0.0
                with suppress(Exception):
                    interval = provider.make_request("anvil_getIntervalMining", []).get("result")  # type: ignore[arg-type]
                    if isinstance(interval, int | float) and interval > 0:
                        return float(interval)
                break
        try:
            head = self.w3.eth.get_block("latest")
            span = min(int(head["number"]), 10)
            if span == 0:
                return 1.0
            older = self.w3.eth.get_block(int(head["number"]) - span)
            gap = (int(head["timestamp"]) - int(older["timestamp"])) / span
        except Exception:  # noqa: BLE001 - unknown: take one-second blocks
            return 1.0
        return min(MAX_GUESSED_PERIOD_S, max(gap, 0.0)) or 1.0

    def development_key(self) -> LocalAccount:
        if not self.is_development:
            raise ConfigError(
                f"chain id {self.chain_id} is not a development chain: development keys are refused; "
                "set CIVIC_OPERATOR_KEYSTORE and CIVIC_KEYSTORE_PASSWORD"
            )
        key = _ETH_TESTER_KEY if self.chain_id == EMBEDDED_CHAIN_ID else _ANVIL_KEY
        return Account.from_key(key)

    def mine_together(self, on: bool = True, **options: Any) -> None:
        """Embedded chain: mine transactions sent close together in one block (``on``, the
        default of :func:`connect`) or each in a block of its own. ``options``: the
        :class:`BlockMiner`'s ``linger_s`` and ``max_txs``. JSON-RPC nodes mine as they do."""
        if self.tester is None:
            return
        provider = self.w3.provider
        assert isinstance(provider, _LockedTesterProvider)
        if self.miner is not None:
            self.miner.close()  # mines what waits
            self.miner = provider.miner = None
        if on:
            self.miner = provider.miner = BlockMiner(self.tester, self.lock, **options)

    def close(self) -> None:
        if self.miner is not None:
            self.miner.close()
            self.miner = None
        if self.tester is not None:
            self.tester.backend.close()
        if self._lockfile is not None:
            self._lockfile.close()
            self._lockfile = None


def _check_writable(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"data directory {data_dir} can not be created: {exc.strerror}") from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"data directory {data_dir} is not writable")


def _lock_data_dir(data_dir: Path) -> Any:
    _check_writable(data_dir)
    try:
        handle = open(data_dir / ".lock", "a+")  # noqa: SIM115 - held for the process lifetime
    except OSError as exc:
        raise ConfigError(f"data directory {data_dir} is not writable: {exc.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ConfigError(f"data directory {data_dir} is in use by another civic-ledger process") from None
    return handle


def _reason(exc: BaseException) -> str:
    text = str(exc)
    match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if match:
        return match.group(1).strip().lower()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first[:200]


def lean_web3(w3: Web3) -> Web3:
    """Drop two of web3's default middlewares. ``validation`` asks the node for ``eth_chainId``
    before every ``eth_call`` (a second round trip per read: a quarter of a ballot's typed-data
    request on anvil) and refuses blocks whose ``extraData`` exceeds 32 bytes, which every QBFT
    and Clique block has; transactions are signed here with the chain id read once at connect.
    ``ens_name_to_address`` walks every call's arguments looking for ENS names; none are used."""
    for name in ("validation", "ens_name_to_address"):
        w3.middleware_onion.remove(name)
    return w3


def connect(chain: str, data_dir: Path, *, request_timeout: float = 30.0, mine_together: bool = True) -> Chain:
    """Open the embedded chain under ``data_dir`` or connect to a JSON-RPC node at ``chain``.

    On the embedded chain, ``mine_together`` mines transactions sent close together in one block
    (see :class:`BlockMiner`); a receipt is still served only once its block is committed.
    """
    if chain == "embedded":
        lockfile = _lock_data_dir(data_dir)
        try:
            tester = open_embedded(data_dir)
        except Exception as exc:
            lockfile.close()
            raise ConfigError(f"cannot open the embedded chain in {data_dir}: {exc}") from None
        lock = threading.RLock()
        w3 = lean_web3(Web3(_LockedTesterProvider(tester, lock)))
        embedded = Chain(
            w3=w3, kind="embedded", chain_id=EMBEDDED_CHAIN_ID, tester=tester, lock=lock, _lockfile=lockfile
        )
        embedded.mine_together(mine_together)
        return embedded

    _check_writable(data_dir)
    if chain.startswith(("http://", "https://")):
        provider: Any = HTTPProvider(chain, request_kwargs={"timeout": request_timeout})
    elif chain.startswith(("ws://", "wss://")):
        provider = LegacyWebSocketProvider(chain, websocket_timeout=int(request_timeout))
    else:
        raise ConfigError(f"unknown chain {chain!r}: use 'embedded' or a JSON-RPC URL (http://host:port)")
    w3 = lean_web3(Web3(provider))
    try:
        chain_id = int(w3.eth.chain_id)
    except Exception as exc:  # noqa: BLE001 - connection refused, DNS, TLS, bad JSON...
        raise ConfigError(f"cannot reach the Ethereum node at {chain}: {_reason(exc)}") from None
    return Chain(w3=w3, kind=chain, chain_id=chain_id)
