"""Platform benchmark: relayed vs naive transactions on both chains; old receipt lookups.

Figures:
- relayed_tx_per_s_{embedded,anvil}: Notary anchors through the relayer (signed locally,
  explicit gas, no estimation), 8 threads submitting at once.
- naive_transact_tx_per_s_{embedded,anvil}: the same call with web3 ``.transact()`` one by one
  (node-side signing, gas estimated per call) — the baseline, measured in the same run.
- receipt_lookup_ms_at_2000_blocks: median time to fetch the receipt of a transaction in block
  ~2 once the embedded chain is 2,000 blocks long; ``..._stock_eth_tester`` is eth-tester's own
  lookup (a scan back from the head) on the same chain, for comparison.
- get_logs_ms_at_2000_blocks: one contract's logs over the whole chain through web3 (decoded
  events); ``get_logs_raw_ms_...`` the same at eth-tester's level (no web3 formatting);
  ``get_logs_one_match_ms_...`` a topic filter (one document) matching a single log. Each has a
  ``..._bloom_scan`` twin: the previous implementation (every block's bloom read) on the same chain.
- relayed_tx_per_s_embedded is measured with transactions mined together (the embedded chain's
  miner, the default); ``relayed_tx_per_s_embedded_one_block_per_tx`` in the same run with each
  transaction in a block of its own; ``ingest_speedup_mined_together`` is their ratio, and
  ``embedded_txs_per_block`` the mean block size the miner made.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_tester.backends.pyevm.main import PyEVMBackend  # noqa: E402
from eth_utils import event_abi_to_log_topic, keccak  # noqa: E402

from civic_ledger.config import Settings  # noqa: E402
from civic_ledger.platform.runtime import Platform  # noqa: E402
from tests.conftest import BUILD_DIR, Anvil  # noqa: E402

KIND = b"bench".ljust(32, b"\0")


def _hash(tag: str, i: int) -> bytes:
    return keccak(text=f"{tag}-{i}-{time.time_ns()}")


def relayed_rate(platform: Platform, n: int) -> float:
    notary = platform.deployment.contract("Notary")
    hashes = [_hash("relayed", i) for i in range(n)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda h: platform.relayer.transact(notary.functions.anchor(h, KIND)), hashes))
    return n / (time.perf_counter() - started)


def naive_rate(platform: Platform, n: int) -> float:
    notary = platform.deployment.contract("Notary")
    w3 = platform.chain.w3
    sender = platform.operator.address
    started = time.perf_counter()
    for i in range(n):
        tx_hash = notary.functions.anchor(_hash("naive", i), KIND).transact({"from": sender})
        w3.eth.wait_for_transaction_receipt(tx_hash)
    return n / (time.perf_counter() - started)


def _median_ms(fn: object, n: int) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def receipt_lookup(platform: Platform) -> dict[str, float]:
    tester = platform.chain.tester
    assert tester is not None
    notary = platform.deployment.contract("Notary")
    first_hash = _hash("old", 0)
    first_doc = "0x" + first_hash.hex()
    first = platform.relayer.transact(notary.functions.anchor(first_hash, KIND))
    head = platform.chain.head()
    if head < 2000:
        tester.mine_blocks(2000 - head)
    w3 = platform.chain.w3
    samples = []
    for _ in range(20):
        t = time.perf_counter()
        w3.eth.get_transaction_receipt(first.tx_hash)  # type: ignore[arg-type]
        samples.append((time.perf_counter() - t) * 1000)
    stock = []
    backend = tester.backend
    for _ in range(3):
        t = time.perf_counter()
        PyEVMBackend.get_transaction_receipt(backend, bytes.fromhex(first.tx_hash[2:]))
        stock.append((time.perf_counter() - t) * 1000)
    event = notary.events.DocumentAnchored()
    topic0 = "0x" + event_abi_to_log_topic(event.abi).hex()
    one = {"from_block": 0, "to_block": "latest", "address": notary.address, "topics": [topic0, first_doc]}

    def figures() -> tuple[float, float, float, int, int]:
        web3_ms = _median_ms(lambda: event.get_logs(from_block=0, to_block="latest"), 3)
        raw_ms = _median_ms(lambda: tester.get_logs(from_block=0, to_block="latest", address=notary.address), 3)
        one_ms = _median_ms(lambda: tester.get_logs(**one), 5)
        return (
            web3_ms,
            raw_ms,
            one_ms,
            len(event.get_logs(from_block=0, to_block="latest")),
            len(tester.get_logs(**one)),
        )

    logs_ms, raw_ms, one_ms, entries, matches = figures()
    index = backend.log_index
    index.indexed_to = lambda: -1  # type: ignore[method-assign]  # as before the index: bloom of every block
    try:
        scan_ms, scan_raw_ms, scan_one_ms, scan_entries, scan_matches = figures()
    finally:
        del index.indexed_to
    assert (scan_entries, scan_matches) == (entries, matches) and matches == 1
    return {
        "chain_length_blocks": platform.chain.head(),
        "receipt_lookup_ms_at_2000_blocks": round(statistics.median(samples), 2),
        "receipt_lookup_ms_at_2000_blocks_stock_eth_tester": round(statistics.median(stock), 1),
        "get_logs_ms_at_2000_blocks": round(logs_ms, 1),
        "get_logs_ms_at_2000_blocks_bloom_scan": round(scan_ms, 1),
        "get_logs_entries": entries,
        "get_logs_raw_ms_at_2000_blocks": round(raw_ms, 1),
        "get_logs_raw_ms_at_2000_blocks_bloom_scan": round(scan_raw_ms, 1),
        "get_logs_one_match_ms_at_2000_blocks": round(one_ms, 2),
        "get_logs_one_match_ms_at_2000_blocks_bloom_scan": round(scan_one_ms, 1),
    }


def run(json_out: bool = False, n: int = 200) -> dict[str, object]:
    def say(msg: str) -> None:
        if not json_out:
            print(msg, file=sys.stderr)

    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        say("embedded chain …")
        p = Platform.start(Settings(chain="embedded", data_dir=Path(tmp) / "embedded", build_dir=BUILD_DIR))
        try:
            miner = p.chain.miner
            assert miner is not None
            blocks0, txs0 = miner.blocks, miner.transactions
            out["relayed_tx_per_s_embedded"] = round(relayed_rate(p, n), 1)
            out["embedded_txs_per_block"] = round((miner.transactions - txs0) / max(1, miner.blocks - blocks0), 1)
            p.chain.mine_together(False)
            out["relayed_tx_per_s_embedded_one_block_per_tx"] = round(relayed_rate(p, n), 1)
            p.chain.mine_together(True)
            out["ingest_speedup_mined_together"] = round(
                float(out["relayed_tx_per_s_embedded"]) / float(out["relayed_tx_per_s_embedded_one_block_per_tx"]), 2
            )
            out["naive_transact_tx_per_s_embedded"] = round(naive_rate(p, n // 2), 1)
            out.update(receipt_lookup(p))
        finally:
            p.close()
        say("anvil …")
        node = Anvil()
        try:
            p = Platform.start(Settings(chain=node.url, data_dir=Path(tmp) / "anvil", build_dir=BUILD_DIR))
            try:
                out["relayed_tx_per_s_anvil"] = round(relayed_rate(p, n * 2), 1)
                out["naive_transact_tx_per_s_anvil"] = round(naive_rate(p, n), 1)
            finally:
                p.close()
        finally:
            node.stop()
    out["relayed_vs_naive_embedded"] = round(
        float(out["relayed_tx_per_s_embedded"]) / float(out["naive_transact_tx_per_s_embedded"]),
        2,  # type: ignore[arg-type]
    )
    out["relayed_vs_naive_anvil"] = round(
        float(out["relayed_tx_per_s_anvil"]) / float(out["naive_transact_tx_per_s_anvil"]),
        2,  # type: ignore[arg-type]
    )
    return out
