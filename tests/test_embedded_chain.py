"""The embedded chain: its log index (issue 12, item 3) and transactions mined together (item 6).

Real py-evm chains in SQLite, raw contracts (LOG0..LOG4 emitters and a reverter, hand-assembled
so every topic count is exercised), the real Platform for the relayer's paths. The reference for
``get_logs`` is eth-tester's own implementation (every block, every receipt, its filter).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_tester import EthereumTester
from eth_utils import keccak
from hexbytes import HexBytes

from civic_ledger.config import Settings
from civic_ledger.errors import ContractError
from civic_ledger.platform import chain as chain_module
from civic_ledger.platform.chain import Chain, connect
from civic_ledger.platform.embedded import BlockMiner, open_embedded, open_snapshot_reader
from civic_ledger.platform.embedded.logindex import log_rows
from civic_ledger.platform.runtime import Platform
from tests.conftest import BUILD_DIR

KEY = Account.from_key("0x" + "00" * 31 + "01")  # funded at genesis
OTHER = Account.from_key("0x" + "00" * 31 + "02")
TOPICS = [keccak(text=f"topic {i}") for i in range(4)]


def _runtime_log(k: int) -> bytes:
    """Runtime code: LOGk with topics calldata[0:32k] (word i = topic i) and data calldata[32k:]."""
    code = b""
    for i in reversed(range(k)):
        code += bytes([0x60, 32 * i, 0x35])  # PUSH1 32i CALLDATALOAD
    code += bytes([0x60, 32 * k, 0x36, 0x03])  # size = CALLDATASIZE - 32k
    code += bytes([0x80, 0x60, 32 * k, 0x60, 0x00, 0x37])  # DUP1; CALLDATACOPY(0, 32k, size)
    code += bytes([0x60, 0x00, 0xA0 + k, 0x00])  # LOGk(0, size, topics...); STOP
    return code


#: Runtime code that reverts with its calldata as revert data.
REVERTER = bytes([0x36, 0x60, 0x00, 0x60, 0x00, 0x37, 0x36, 0x60, 0x00, 0xFD])


def _init(runtime: bytes) -> bytes:
    n = len(runtime)
    return bytes([0x60, n, 0x60, 12, 0x60, 0x00, 0x39, 0x60, n, 0x60, 0x00, 0xF3]) + runtime


class Sender:
    """Signs raw transactions with consecutive nonces and sends them through the chain's provider."""

    def __init__(self, chain: Chain, account: Any = KEY) -> None:
        self.chain = chain
        self.account = account
        self.nonce = int(chain.w3.eth.get_transaction_count(account.address, "pending"))
        self.lock = threading.Lock()

    def send(self, to: str | None, data: bytes = b"", value: int = 0, gas: int = 300_000) -> str:
        with self.lock:
            tx: dict[str, Any] = {
                "chainId": self.chain.chain_id,
                "nonce": self.nonce,
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 10**9,
                "gas": gas,
                "value": value,
                "data": data,
            }
            if to is not None:
                tx["to"] = to
            raw = self.account.sign_transaction(tx).raw_transaction
            tx_hash = self.chain.w3.eth.send_raw_transaction(raw)
            self.nonce += 1
        return HexBytes(tx_hash).to_0x_hex()

    def receipt(self, tx_hash: str) -> Any:
        return self.chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.01)


def _deploy(sender: Sender, runtime: bytes) -> str:
    receipt = sender.receipt(sender.send(None, _init(runtime), gas=200_000))
    assert receipt["status"] == 1
    return str(receipt["contractAddress"])


def _history(chain: Chain, n: int, seed: int = 12) -> dict[str, Any]:
    """``n`` mixed transactions (logs of 0-4 topics, reverts, plain transfers), sent in bursts so
    the miner puts several in one block."""
    rnd = random.Random(seed)
    sender = Sender(chain)
    emitters = [_deploy(sender, _runtime_log(k)) for k in range(5)]
    reverter = _deploy(sender, REVERTER)
    sent = 0
    while sent < n:
        burst = []
        for _ in range(min(rnd.randint(1, 8), n - sent)):
            kind = rnd.random()
            if kind < 0.1:
                burst.append(sender.send(reverter, b"no" * rnd.randint(0, 3)))
            elif kind < 0.2:
                burst.append(sender.send(OTHER.address, value=1, gas=21_000))
            else:
                k = rnd.randint(0, 4)
                topics = b"".join(rnd.choice(TOPICS) for _ in range(k))
                data = os.urandom(rnd.choice([0, 1, 32, 70]))
                burst.append(
                    sender.send(emitters[k] if rnd.random() < 0.8 else emitters[rnd.randint(0, 4)], topics + data)
                )
            sent += 1
        for tx_hash in burst:
            sender.receipt(tx_hash)
    return {"emitters": emitters, "reverter": reverter, "sender": sender}


def _filters(emitters: list[str], head: int) -> list[dict[str, Any]]:
    t = ["0x" + x.hex() for x in TOPICS]
    return [
        {"from_block": 0, "to_block": head},
        {"from_block": 0, "to_block": "latest"},
        {"from_block": None, "to_block": None},
        {"from_block": "latest", "to_block": "latest"},
        {"from_block": "earliest", "to_block": head},  # eth-tester: "earliest" matches pending entries only
        {"from_block": head // 3, "to_block": head // 2},
        {"from_block": 0, "to_block": head, "address": emitters[2]},
        {"from_block": 0, "to_block": head, "address": [emitters[1], emitters[4]]},
        {"from_block": 0, "to_block": head, "topics": [t[0]]},
        {"from_block": 0, "to_block": head, "topics": [None, t[1]]},
        {"from_block": 0, "to_block": head, "topics": [None, None, None, t[3]]},
        {"from_block": 0, "to_block": head, "topics": [[t[0], t[2]]]},
        {"from_block": 0, "to_block": head, "topics": [t[1], [t[2], t[3]], None]},
        {"from_block": 0, "to_block": head, "topics": [[t[0], None], t[1]]},
        {"from_block": 0, "to_block": head, "topics": [None, None, None, None, None]},
        {"from_block": 0, "to_block": head, "topics": []},
        {"from_block": 5, "to_block": head - 5, "address": [emitters[3], emitters[4]], "topics": [t[2], None, t[0]]},
    ]


def _stock(tester: Any, flt: dict[str, Any]) -> tuple[Any, ...]:
    """eth-tester's own get_logs: every block of the range, every receipt."""
    return tuple(EthereumTester.get_logs(tester, **flt))


def _check_consistent(tester: Any) -> None:
    """The index holds exactly the logs of every block up to the head (no more, no fewer)."""
    backend = tester.backend
    chain = backend.chain
    head = int(chain.get_canonical_head().block_number)
    assert backend.log_index.indexed_to() == head
    expected = []
    for n in range(head + 1):
        block = chain.get_canonical_block_by_number(n)
        expected += log_rows(block, block.get_receipts(chain.chaindb))
    got = backend.kv.conn.execute("SELECT * FROM log_index ORDER BY block, tx, log").fetchall()
    assert [tuple(bytes(v) if isinstance(v, bytes) else v for v in row) for row in got] == expected


@pytest.fixture
def chain(tmp_path: Path) -> Any:
    c = connect("embedded", tmp_path / "data")
    yield c
    c.close()


def test_get_logs_equals_eth_testers_scan_for_every_filter_shape(chain: Chain, tmp_path: Path) -> None:
    history = _history(chain, 300)
    tester = chain.tester
    assert tester is not None
    head = chain.head()
    multi = [n for n in range(head + 1) if len(chain.w3.eth.get_block(n)["transactions"]) > 1]
    assert multi, "the miner put several transactions in one block"
    total = 0
    for flt in _filters(history["emitters"], head):
        got = tester.get_logs(**flt)
        assert got == _stock(tester, flt), flt
        total += len(got)
        keys = [(x["block_number"], x["log_index"]) for x in got]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), flt
        assert all(x["type"] == "mined" for x in got)
    assert total > 300
    # Through web3 (eth_getLogs): mined entries (which /rpc turns into removed: false), log indices
    # counting through the block.
    logs = chain.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": history["emitters"]})
    assert logs and all(x["type"] == "mined" for x in logs)
    for n in multi[:5]:
        in_block = [x for x in logs if x["blockNumber"] == n]
        assert [x["logIndex"] for x in in_block] == list(range(len(in_block)))
    # A range past the head stops at the head.
    assert tester.get_logs(from_block=0, to_block=head + 50) == tester.get_logs(from_block=0, to_block=head)
    _check_consistent(tester)

    # The read-only snapshot (used by /rpc and the indexer) answers from the same index.
    reader = open_snapshot_reader(tmp_path / "data", gas_cap=10**7, time_limit_s=5.0)
    try:
        reader.backend.refresh()
        assert reader.backend.log_index.indexed_to() == head
        for flt in _filters(history["emitters"], head):
            assert reader.get_logs(**flt) == tester.get_logs(**flt), flt
    finally:
        reader.backend.close()


def test_index_survives_a_restart_and_is_back_filled_on_an_old_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    chain = connect("embedded", data)
    try:
        history = _history(chain, 120, seed=3)
        assert chain.tester is not None
        head = chain.head()
        before = {i: chain.tester.get_logs(**f) for i, f in enumerate(_filters(history["emitters"], head))}
    finally:
        chain.close()

    chain = connect("embedded", data)  # restart: the index is there, nothing to back-fill
    try:
        assert chain.tester is not None and chain.head() == head
        for i, f in enumerate(_filters(history["emitters"], head)):
            assert chain.tester.get_logs(**f) == before[i]
        _check_consistent(chain.tester)
    finally:
        chain.close()

    # A store made before the index existed: no index tables at all.
    with sqlite3.connect(data / "chain.sqlite3") as conn:
        conn.execute("DROP TABLE log_index")
        conn.execute("DROP TABLE log_index_meta")
    # Meanwhile a read-only view (no index yet) still answers, by scanning blooms.
    reader = open_snapshot_reader(data, gas_cap=10**7, time_limit_s=5.0)
    try:
        reader.backend.refresh()
        assert reader.backend.log_index.indexed_to() == -1
        assert reader.get_logs(**_filters(history["emitters"], head)[0]) == before[0]
    finally:
        reader.backend.close()

    reports: list[tuple[int, int]] = []
    tester = open_embedded(data, progress=lambda done, total: reports.append((done, total)))
    try:
        assert reports and reports[-1] == (head + 1, head + 1)  # one pass, every block
        for i, f in enumerate(_filters(history["emitters"], head)):
            assert tester.get_logs(**f) == before[i]
        _check_consistent(tester)
        # An interrupted back-fill resumes where it stopped.
        tester.backend.kv.conn.execute("DELETE FROM log_index WHERE block > ?", (head // 2,))
        tester.backend.kv.conn.execute("UPDATE log_index_meta SET v = ? WHERE k = 'indexed_to'", (head // 2,))
    finally:
        tester.backend.close()
    reports.clear()
    tester = open_embedded(data, progress=lambda done, total: reports.append((done, total)))
    try:
        assert reports[-1] == (head - head // 2, head - head // 2)
        _check_consistent(tester)
        assert tester.get_logs(**_filters(history["emitters"], head)[0]) == before[0]
    finally:
        tester.backend.close()


_WRITER = textwrap.dedent(
    """
    import sys, os, threading
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from tests.test_embedded_chain import Sender, _deploy, _runtime_log, TOPICS
    from civic_ledger.platform.chain import connect
    from concurrent.futures import ThreadPoolExecutor
    chain = connect("embedded", Path({data!r}))
    sender = Sender(chain)
    emitter = _deploy(sender, _runtime_log(2))
    out = threading.Lock()
    def one(i):
        h = sender.send(emitter, TOPICS[i % 4] + TOPICS[(i + 1) % 4] + os.urandom(40))
        r = sender.receipt(h)
        with out:
            sys.stdout.write(f"{{h}} {{r['blockNumber']}}\\n")
            sys.stdout.flush()
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(one, range(100000)))
    """
)


def test_sigkill_mid_write_keeps_every_acknowledged_transaction_and_a_consistent_index(tmp_path: Path) -> None:
    data = tmp_path / "data"
    root = str(Path(__file__).resolve().parents[1])
    acknowledged: dict[str, int] = {}
    for _round in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER.format(root=root, data=str(data))],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=root,
        )
        assert proc.stdout is not None
        target = len(acknowledged) + 60 + random.randint(0, 40)
        while len(acknowledged) < target:
            line = proc.stdout.readline()
            if not line:
                break
            fields = line.split()
            if len(fields) == 2 and fields[0].startswith("0x"):
                acknowledged[fields[0]] = int(fields[1])
        proc.send_signal(signal.SIGKILL)  # mid-stream: other transactions are in flight
        proc.wait()
        assert len(acknowledged) >= target

    chain = connect("embedded", data)
    try:
        tester = chain.tester
        assert tester is not None
        for tx_hash, block in acknowledged.items():
            receipt = chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            assert receipt["blockNumber"] == block and receipt["status"] == 1
        _check_consistent(tester)
        head = chain.head()
        flt = {"from_block": 0, "to_block": head, "topics": [None, "0x" + TOPICS[1].hex()]}
        assert tester.get_logs(**flt) == _stock(tester, flt)
        mined = {HexBytes(x["transaction_hash"]).to_0x_hex() for x in tester.get_logs(from_block=0, to_block=head)}
        assert set(acknowledged) <= mined
        assert any(len(chain.w3.eth.get_block(n)["transactions"]) > 1 for n in range(head + 1))
    finally:
        chain.close()


def test_a_receipt_is_served_only_once_its_block_is_committed(chain: Chain, tmp_path: Path) -> None:
    """Several writers at once: blocks hold several transactions, and whenever a writer has its
    receipt, a read-only connection to the store (committed data only) already sees it."""
    sender = Sender(chain)
    emitter = _deploy(sender, _runtime_log(1))
    reader = open_snapshot_reader(tmp_path / "data", gas_cap=10**7, time_limit_s=5.0)
    reader_lock = threading.Lock()

    def write(i: int) -> int:
        receipt = sender.receipt(sender.send(emitter, TOPICS[i % 4] + b"x"))
        with reader_lock:
            reader.backend.refresh()
            committed = reader.get_transaction_receipt(receipt["transactionHash"].to_0x_hex())
        assert committed["block_number"] == receipt["blockNumber"]
        return int(receipt["blockNumber"])

    try:
        with ThreadPoolExecutor(8) as pool:
            blocks = list(pool.map(write, range(80)))
    finally:
        reader.backend.close()
    assert len(set(blocks)) < len(blocks)  # mined together
    assert chain.miner is not None and chain.miner.transactions >= 80


def test_pending_transactions_latest_and_pending_reads_nonce_and_time(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = Sender(chain)
    emitter = _deploy(sender, _runtime_log(0))
    assert chain.tester is not None
    # A miner that waits long: the transaction stays pending while we look.
    chain.mine_together(True, linger_s=30.0, max_txs=10_000)
    w3 = chain.w3
    head = chain.head()
    balance = w3.eth.get_balance(OTHER.address)
    nonce = w3.eth.get_transaction_count(KEY.address)
    before_send = int(time.time())
    tx_hash = sender.send(OTHER.address, value=12345, gas=21_000)
    second = sender.send(emitter, b"pending data")
    miner = chain.miner
    assert miner is not None and miner.is_waiting(bytes(HexBytes(tx_hash)))
    assert chain.head() == head
    assert w3.eth.get_transaction_count(KEY.address, "pending") == nonce + 2
    assert w3.eth.get_transaction_count(KEY.address, "latest") == nonce
    assert w3.eth.get_balance(OTHER.address, "latest") == balance
    assert w3.eth.get_balance(OTHER.address, "pending") == balance + 12345
    # eth_call "latest" runs on the last mined state: the emitter's code is there, the pending
    # transfer is not (a call from OTHER spending its new balance would fail).
    big = {"from": OTHER.address, "to": KEY.address, "value": balance + 12000}
    with pytest.raises(Exception):  # noqa: B017 - eth-tester: insufficient funds at latest
        w3.eth.call(big, "latest")
    assert w3.eth.call(big, "pending") == b""
    # A stale nonce (another client used the account) is refused with a nonce message.
    stale = Sender(chain)
    stale.nonce = nonce + 1
    with pytest.raises(Exception, match="(?i)nonce"):
        stale.send(OTHER.address, value=1, gas=21_000)
    assert not miner.wait(bytes(HexBytes(tx_hash)), 0.05)  # still pending: no receipt yet
    monkeypatch.setattr(chain_module, "_RECEIPT_WAIT_S", 0.2)
    assert w3.provider.make_request("eth_getTransactionReceipt", [tx_hash])["result"] is None  # type: ignore[attr-defined]

    chain.mine_together(True)  # the old miner mines what waits before handing over
    receipt = sender.receipt(tx_hash)
    assert sender.receipt(second)["blockNumber"] == receipt["blockNumber"] == head + 1
    assert w3.eth.get_balance(OTHER.address, "latest") == balance + 12345
    block = w3.eth.get_block(receipt["blockNumber"])
    parent = w3.eth.get_block(receipt["blockNumber"] - 1)
    # Stamped when its first transaction came (a block is always later than its parent).
    assert before_send <= block["timestamp"] <= max(int(time.time()), parent["timestamp"] + 1)
    time.sleep(1.1)
    later = sender.receipt(sender.send(OTHER.address, value=1, gas=21_000))
    assert w3.eth.get_block(later["blockNumber"])["timestamp"] > block["timestamp"]


def test_a_block_that_is_full_is_mined_before_the_next_transaction(chain: Chain) -> None:
    sender = Sender(chain)
    chain.mine_together(True, linger_s=30.0, max_txs=10_000)
    limit = int(chain.w3.eth.get_block("pending")["gasLimit"])
    hashes = [
        sender.send(OTHER.address, value=1, gas=21_000),
        sender.send(OTHER.address, value=1, gas=limit - 10_000),  # does not fit after the first
        sender.send(OTHER.address, value=1, gas=21_000),
    ]
    chain.mine_together(True)
    blocks = [sender.receipt(h)["blockNumber"] for h in hashes]
    assert blocks[0] < blocks[1] == blocks[2]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Any:
    p = Platform.start(Settings(chain="embedded", data_dir=tmp_path_factory.mktemp("p"), build_dir=BUILD_DIR))
    yield p
    p.close()


def test_a_revert_inside_a_multi_transaction_block_is_decoded(platform: Platform) -> None:
    """Two anchors of the same document in one block: the second reverts because of the first,
    which the state before the block does not show; the decoded error must still name it."""
    notary = platform.deployment.contract("Notary")
    kind = b"test".ljust(32, b"\0")
    doc = keccak(text=f"twice {time.time_ns()}")
    data = notary.functions.anchor(doc, kind)._encode_transaction_data()
    chain = platform.chain
    chain.mine_together(True, linger_s=30.0, max_txs=10_000)
    try:
        sent = platform.relayer.submit([{"to": notary.address, "data": data, "gas": 300_000}] * 2)
    finally:
        chain.mine_together(True)
    receipts = [chain.w3.eth.get_transaction_receipt(h) for h, _ in sent]  # type: ignore[arg-type]
    assert receipts[0]["blockNumber"] == receipts[1]["blockNumber"]
    assert [r["status"] for r in receipts] == [1, 0]
    (tx_hash, tx) = sent[1]
    error = platform.relayer.explain_failure(tx, int(receipts[1]["blockNumber"]), tx_hash)
    assert isinstance(error, ContractError) and error.error_name == "NotaryAlreadyAnchored"
    assert int(error.error_args["sequence"]) > 0
    # After a restart the kept output is gone: the chain replays the block up to the transaction.
    backend = chain.tester.backend  # type: ignore[union-attr]
    backend._failures.clear()
    error = platform.relayer.explain_failure(tx, int(receipts[1]["blockNumber"]), tx_hash)
    assert isinstance(error, ContractError) and error.error_name == "NotaryAlreadyAnchored"
    with pytest.raises(ContractError, match="NotaryAlreadyAnchored|already"):
        platform.relayer.transact(notary.functions.anchor(doc, kind))


def test_the_relayer_recovers_from_a_stale_nonce_with_transactions_pending(platform: Platform) -> None:
    notary = platform.deployment.contract("Notary")
    kind = b"test".ljust(32, b"\0")
    relayer = platform.relayer
    platform.chain.mine_together(True, linger_s=0.3)
    try:
        receipts = relayer.transact_many(
            [notary.functions.anchor(keccak(text=f"many {i} {time.time_ns()}"), kind) for i in range(6)]
        )
    finally:
        platform.chain.mine_together(True)
    assert len({r.block_number for r in receipts}) < 6  # sent back to back: mined together
    with relayer._lock:
        relayer._nonce = int(relayer._nonce or 0) - 3  # as if another client had used the account
    receipt = relayer.transact(notary.functions.anchor(keccak(text=f"after {time.time_ns()}"), kind))
    assert receipt.block_number >= receipts[-1].block_number
    assert isinstance(platform.chain.miner, BlockMiner)
