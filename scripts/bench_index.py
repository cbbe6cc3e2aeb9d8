"""Indexer benchmark (embedded chain): catch-up after a restart and the first receipt lookup.

For N = 1,000 and 10,000 ballots (one census poll, ``castBatch`` of 100: the history is built in
minutes), in a fresh data directory each:

- build_s: building the history (not a figure of the indexer);
- index_from_scratch_s: a new index over the whole history (delete index.sqlite3, catch up);
- catch_up_s_after_restart: opening the persisted index and catching up when nothing new was
  mined (what ``Platform.start`` does in the indexer thread);
- restart_to_indexed_s: ``Platform.start`` (compile cache, deployment check) until the indexer has
  reached the head;
- first_receipt_ms_{early,late}: the first ``GET /voting/receipts/{hash}`` after that restart,
  through HTTP, for the first and the last ballot cast (the early one is also the server's first
  request); receipt_median_ms: 20 more lookups (most of it is the two O(1) contract calls for
  current/counted); index_lookup_us: the read-model lookup alone (pooled connection + key read);
- old_first_receipt_scan_s: what the first lookup after a restart cost before the indexer (one
  ``BallotCast`` log scan of the whole history, decoded), measured on the same chain;
- rebuild_s: ``index rebuild`` (the read models replayed from the stored events).
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
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402

from civic_ledger.platform.indexer import INDEX_FILE, open_indexer  # noqa: E402
from civic_ledger.platform.runtime import Platform  # noqa: E402
from civic_ledger.voting import service  # noqa: E402
from civic_ledger.voting.projections import find_receipt  # noqa: E402
from tests.conftest import LiveServer, make_settings  # noqa: E402
from tests.test_indexer import ZERO32, cast_batch, census_poll, voters  # noqa: E402

SIZES = [int(x) for x in os.environ.get("BENCH_INDEX_SIZES", "1000,10000").split(",")]
BATCH = 100


def _say(msg: str) -> None:
    print(f"[bench index] {msg}", file=sys.stderr, flush=True)


def _build(platform: Platform, n: int) -> tuple[str, str]:
    census = census_poll(platform, voters(n, seed=f"bench {n}"), question=f"{n} ballots")
    deadline = platform.chain.now() + 7 * 86_400
    hashes: list[str] = []
    for start in range(0, n, BATCH):
        batch = []
        for i, voter in enumerate(census.voters[start : start + BATCH]):
            choice = (start + i) % 3
            digest = service.ballot_digest(platform, census.poll_id, voter.address, choice, ZERO32, 1, deadline)
            sig = bytes(Account.unsafe_sign_hash(digest, voter.key).signature)
            batch.append((census.poll_id, voter.address, choice, ZERO32, 1, deadline, sig, census.proof(voter.address)))
            hashes.append("0x" + digest.hex())
        cast_batch(platform, batch)
        if (start // BATCH) % 20 == 0:
            _say(f"N={n}: {start + len(batch)} ballots cast")
    return hashes[0], hashes[-1]


def _indexer(platform: Platform) -> Any:
    return open_indexer(
        platform.settings,
        chain_id=platform.chain.chain_id,
        entries=platform.deployment.entries,
        build=platform.build,
    )


def run_size(n: int, tmp: Path) -> dict[str, Any]:
    data = tmp / f"n{n}"
    settings = make_settings("embedded", data, rate_limits=False)
    out: dict[str, Any] = {}
    platform = Platform.start(settings)
    try:
        started = time.perf_counter()
        early, late = _build(platform, n)
        out["build_s"] = round(time.perf_counter() - started, 1)
        head = platform.chain.head()
        assert platform.indexer.wait_for(head, 600)
        st = service.state(platform)
        started = time.perf_counter()
        found = sum(1 for _ in st.logs.fetch("BallotCast", from_block=st.deploy_block, to_block=head))
        out["old_first_receipt_scan_s"] = round(time.perf_counter() - started, 3)
        assert found == n
    finally:
        platform.close()
    out["blocks"] = head

    platform = Platform.start(settings.model_copy(update={"index_poll_s": 60.0}))  # no thread rounds meanwhile
    try:
        platform.indexer.close()  # measure the catch-up itself, in this thread
        for suffix in ("", "-wal", "-shm"):
            (data / f"{INDEX_FILE}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        idx = _indexer(platform)
        idx.sync()
        out["index_from_scratch_s"] = round(time.perf_counter() - started, 2)
        idx.close()
        started = time.perf_counter()
        idx = _indexer(platform)
        idx.sync()
        out["catch_up_s_after_restart"] = round(time.perf_counter() - started, 4)
        started = time.perf_counter()
        counts = idx.rebuild()
        out["rebuild_s"] = round(time.perf_counter() - started, 2)
        assert counts["voting_receipts"] == n
        idx.close()
    finally:
        platform.close()

    started = time.perf_counter()
    platform = Platform.start(settings)
    try:
        assert platform.indexer.wait_for(head, 60)
        out["restart_to_indexed_s"] = round(time.perf_counter() - started, 3)
        with LiveServer(platform) as server, server.client() as api:
            for name, h in (("early", early), ("late", late)):
                started = time.perf_counter()
                r = api.get(f"/voting/receipts/{h}")
                out[f"first_receipt_ms_{name}"] = round((time.perf_counter() - started) * 1000, 2)
                assert r.status_code == 200, r.text
            times = []
            for i in range(20):
                started = time.perf_counter()
                assert api.get(f"/voting/receipts/{(early, late)[i % 2]}").status_code == 200
                times.append(time.perf_counter() - started)
            out["receipt_median_ms"] = round(statistics.median(times) * 1000, 2)
        started = time.perf_counter()
        for i in range(1000):
            with platform.indexer.read() as conn:
                assert find_receipt(conn, (early, late)[i % 2]) is not None
        out["index_lookup_us"] = round((time.perf_counter() - started) * 1000, 1)  # per lookup: /1000 s in µs
    finally:
        platform.close()
    return out


def run(json_out: bool = False) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        for n in SIZES:
            _say(f"N={n}")
            for key, value in run_size(n, Path(tmp)).items():
                figures[f"{key}_{n}"] = value
    if len(SIZES) >= 2:
        lo, hi = SIZES[0], SIZES[-1]
        figures[f"first_receipt_late_ratio_{hi}_vs_{lo}"] = round(
            figures[f"first_receipt_ms_late_{hi}"] / figures[f"first_receipt_ms_late_{lo}"], 2
        )
    return figures
