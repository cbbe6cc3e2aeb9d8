"""Platform benchmark: relayed vs naive transactions on both chains; old receipt lookups.

Figures:
- relayed_tx_per_s_{embedded,anvil}: Notary anchors through the relayer (signed locally,
  explicit gas, no estimation), 8 threads submitting at once.
- naive_transact_tx_per_s_{embedded,anvil}: the same call with web3 ``.transact()`` one by one
  (node-side signing, gas estimated per call) — the baseline, measured in the same run.
- receipt_lookup_ms_at_2000_blocks: median time to fetch the receipt of a transaction in block
  ~2 once the embedded chain is 2,000 blocks long; ``..._stock_eth_tester`` is eth-tester's own
  lookup (a scan back from the head) on the same chain, for comparison.
- get_logs_ms_at_2000_blocks: one contract's logs over the whole chain (bloom-filtered scan).
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
from eth_utils import keccak  # noqa: E402

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


def receipt_lookup(platform: Platform) -> dict[str, float]:
    tester = platform.chain.tester
    assert tester is not None
    notary = platform.deployment.contract("Notary")
    first = platform.relayer.transact(notary.functions.anchor(_hash("old", 0), KIND))
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
    t = time.perf_counter()
    logs = notary.events.DocumentAnchored().get_logs(from_block=0, to_block="latest")
    logs_ms = (time.perf_counter() - t) * 1000
    return {
        "chain_length_blocks": platform.chain.head(),
        "receipt_lookup_ms_at_2000_blocks": round(statistics.median(samples), 2),
        "receipt_lookup_ms_at_2000_blocks_stock_eth_tester": round(statistics.median(stock), 1),
        "get_logs_ms_at_2000_blocks": round(logs_ms, 1),
        "get_logs_entries": len(logs),
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
            out["relayed_tx_per_s_embedded"] = round(relayed_rate(p, n), 1)
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
