"""Scale benchmark (embedded chain): do reads stay flat while the history grows?

    python scripts/bench.py scale --json
    BENCH_SCALE_SIZES=1000,10000 python scripts/bench.py scale --json   # a shorter run

For each N (default 1,000, 10,000 and 50,000), in a fresh data directory, the history is built with
batch operations: N ballots in one census poll (``castBatch`` of 100), N mileage awards to N
citizens (``awardBatch`` of 256), and subcontract payments growing with N (one project with a
settled 100-line claim per 2,000 of N: ~N/10 trail rows over N/2,000 projects, the busy side of
the chain), plus a small control poll and a control project (5 lines). Then the server restarts
and, through HTTP, the median latency (9 calls) of each read is measured:

- ``receipt_early_ms`` / ``receipt_late_ms`` (first and last ballot), ``first_receipt_ms_after_restart``;
- ``poll_ms``, ``results_ms`` (the big poll), ``control_poll_ms``;
- ``statement_ms`` (the control citizen's), ``liability_ms`` (the whole programme);
- ``project_ms``, ``claim_ms`` and ``control_trail_ms`` (the control project's);
- ``catch_up_s_after_restart``: the indexer opening its persisted index and catching up when
  nothing new was mined.

Summary keys: ``worst_point_read_ratio_50k_vs_1k`` (largest latency(largest N)/latency(smallest N)
over the point reads; the keys say which sizes ran), ``worst_point_read_ms_at_50k``,
``liability_report_ms_at_50k``, ``catch_up_s_after_restart`` (the largest N), and
``ingest_speedup_mined_together`` with ``ballots_per_s_embedded`` (relayed transactions per
second with transactions mined together vs one block per transaction, same run).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import httpx  # noqa: E402

from civic_ledger.payments import service as payments  # noqa: E402
from civic_ledger.platform.indexer import open_indexer  # noqa: E402
from civic_ledger.platform.runtime import Platform  # noqa: E402
from tests.conftest import LiveServer, make_settings  # noqa: E402

SIZES = [int(x) for x in os.environ.get("BENCH_SCALE_SIZES", "1000,10000,50000").split(",")]
POINT_READS = (
    "receipt_early_ms",
    "receipt_late_ms",
    "poll_ms",
    "results_ms",
    "control_poll_ms",
    "statement_ms",
    "project_ms",
    "claim_ms",
)


def _say(msg: str) -> None:
    print(f"[bench scale] {msg}", file=sys.stderr, flush=True)


def _median_ms(api: httpx.Client, path: str, times: int = 9) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        r = api.get(path)
        spent.append(time.perf_counter() - started)
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:200]}"
    return round(statistics.median(spent) * 1000, 2)


def _build(platform: Platform, n: int) -> dict[str, Any]:
    from bench_index import _build as build_ballots
    from bench_mileage import _history as build_mileage
    from bench_payments import Driver
    from tests.test_indexer import census_poll, voters

    started = time.perf_counter()
    early, late = build_ballots(platform, n)
    big_poll = int(platform.deployment.contract("MVoting").functions.pollCount().call())
    control_poll = census_poll(platform, voters(5, seed=f"control {n}"), question="Control?").poll_id
    _say(f"N={n}: ballots built in {time.perf_counter() - started:.0f} s")
    control = build_mileage(platform, n)
    _say(f"N={n}: mileage built ({time.perf_counter() - started:.0f} s)")
    driver = Driver(platform)
    pid, cid, _ = driver.project_with_claim(5, labour=False)
    payments.settle(platform, cid)
    for k in range(max(1, n // 2000)):
        _pid, big_claim, _ = driver.project_with_claim(100, labour=False)
        payments.settle(platform, big_claim)
        if k % 5 == 0:
            _say(f"N={n}: {k + 1} busy projects settled")
    return {
        "early": early,
        "late": late,
        "poll": big_poll,
        "control_poll": control_poll,
        "citizen": control.address,
        "project": pid,
        "claim": cid,
        "build_s": round(time.perf_counter() - started, 1),
    }


def _catch_up_s(platform: Platform) -> float:
    platform.indexer.close()
    idx = open_indexer(
        platform.settings, chain_id=platform.chain.chain_id, entries=platform.deployment.entries, build=platform.build
    )
    try:
        started = time.perf_counter()
        idx.sync()
        return round(time.perf_counter() - started, 4)
    finally:
        idx.close()


def run_size(n: int, tmp: Path) -> dict[str, Any]:
    settings = make_settings("embedded", tmp / f"n{n}", rate_limits=False)
    platform = Platform.start(settings)
    try:
        h = _build(platform, n)
        assert platform.indexer.wait_for(platform.chain.head(), 900)
        blocks = platform.chain.head()
    finally:
        platform.close()
    out: dict[str, Any] = {"build_s": h["build_s"], "blocks": blocks}
    platform = Platform.start(settings.model_copy(update={"index_poll_s": 60.0}))
    try:
        out["catch_up_s_after_restart"] = _catch_up_s(platform)
    finally:
        platform.close()
    platform = Platform.start(settings)
    try:
        assert platform.indexer.wait_for(blocks, 60)
        with LiveServer(platform) as server, server.client() as api:
            started = time.perf_counter()
            assert api.get(f"/voting/receipts/{h['late']}").status_code == 200
            out["first_receipt_ms_after_restart"] = round((time.perf_counter() - started) * 1000, 2)
            paths = {
                "receipt_early_ms": f"/voting/receipts/{h['early']}",
                "receipt_late_ms": f"/voting/receipts/{h['late']}",
                "poll_ms": f"/voting/polls/{h['poll']}",
                "results_ms": f"/voting/polls/{h['poll']}/results",
                "control_poll_ms": f"/voting/polls/{h['control_poll']}",
                "statement_ms": f"/mileage/reports/statements/{h['citizen']}",
                "liability_ms": "/mileage/reports/liability",
                "project_ms": f"/payments/projects/{h['project']}",
                "claim_ms": f"/payments/claims/{h['claim']}",
                "control_trail_ms": f"/audit/projects/{h['project']}/trail",
            }
            for name, path in paths.items():
                out[name] = _median_ms(api, path)
    finally:
        platform.close()
    _say(f"N={n}: {out}")
    return out


def _ingest() -> dict[str, Any]:
    from bench_platform import relayed_rate

    with tempfile.TemporaryDirectory(prefix="bench-scale-ingest-") as tmp:
        p = Platform.start(make_settings("embedded", Path(tmp) / "data", rate_limits=False))
        try:
            together = relayed_rate(p, 200)
            p.chain.mine_together(False)
            alone = relayed_rate(p, 200)
            p.chain.mine_together(True)
        finally:
            p.close()
    return {
        "ballots_per_s_embedded": round(together, 1),
        "ballots_per_s_embedded_one_block_per_tx": round(alone, 1),
        "ingest_speedup_mined_together": round(together / alone, 2),
    }


def run(json_out: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"sizes": SIZES}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for n in SIZES:
            for key, value in run_size(n, Path(tmp)).items():
                out[f"{key}_at_{n}"] = value
    lo, hi = SIZES[0], SIZES[-1]
    ratios = {k: out[f"{k}_at_{hi}"] / out[f"{k}_at_{lo}"] for k in POINT_READS}
    worst = max(ratios, key=lambda k: ratios[k])
    out["worst_point_read_ratio_50k_vs_1k"] = round(ratios[worst], 2)
    out["worst_point_read"] = f"{worst} ({hi} vs {lo})"
    out["worst_point_read_ms_at_50k"] = max(out[f"{k}_at_{hi}"] for k in POINT_READS)
    out["liability_report_ms_at_50k"] = out[f"liability_ms_at_{hi}"]
    out["catch_up_s_after_restart"] = out[f"catch_up_s_after_restart_at_{hi}"]
    out.update(_ingest())
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(True), indent=2))
