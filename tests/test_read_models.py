"""Reads never stall writes: ballot intake goes on while clients hammer the read endpoints.

Before the indexer, one cold receipt lookup (a 12-second log scan under the embedded chain's lock)
dropped ballot intake from 35/s to 15/s with a two-second window of zero. Now reads are SQLite
snapshots of the index (WAL: readers never block the writer) plus O(1) contract views.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform
from tests.conftest import LiveServer, started_platform
from tests.test_indexer import Census, census_poll, voters

VOTERS = 96
SUBMITTERS = 8
READERS = 4


@dataclass
class Env:
    platform: Platform
    server: LiveServer
    census: Census


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    data: Path = tmp_path_factory.mktemp("stall") / "data"
    with started_platform("embedded", data, rate_limits=False) as platform, LiveServer(platform) as server:
        yield Env(platform, server, census_poll(platform, voters(VOTERS, seed="stall"), question="Stall?"))


def _signed(api: httpx.Client, census: Census, voter: Any, choice: int) -> dict[str, Any]:
    r = api.post(
        f"/voting/polls/{census.poll_id}/ballots/typed-data", json={"voter": voter.address, "options": [choice]}
    )
    assert r.status_code == 200, r.text
    td = r.json()
    signature = eip712.TypedMessage.from_dict(td["typed_data"]).sign(voter)
    proof = ["0x" + p.hex() for p in census.proof(voter.address)]
    return {**td["fields"], "signature": "0x" + signature.hex(), "proof": proof, "_digest": td["digest"]}


def test_ballot_intake_continues_while_reads_hammer_the_index(env: Env) -> None:
    census = env.census
    with env.server.client() as api:
        ballots = [_signed(api, census, v, i % 3) for i, v in enumerate(census.voters)]
        # a first ballot, so receipt reads have something to find from the start
        first = api.post(
            f"/voting/polls/{census.poll_id}/ballots", json={k: v for k, v in ballots[0].items() if k[0] != "_"}
        )
        assert first.status_code == 201, first.text
    reads = [
        f"/voting/receipts/{ballots[0]['_digest']}",
        f"/voting/polls/{census.poll_id}",
        f"/voting/polls/{census.poll_id}/results",
        "/voting/polls",
        "/mileage/reports/liability",
        "/mileage/reports/merchants",
    ]
    stop = threading.Event()
    read_spans: list[tuple[float, float, int]] = []

    def reader(k: int) -> None:
        with env.server.client() as c:
            i = k
            while not stop.is_set():
                started = time.monotonic()
                r = c.get(reads[i % len(reads)])
                assert r.status_code < 500, r.text
                read_spans.append((started, time.monotonic(), r.status_code))
                i += 1

    acks: list[float] = []
    lock = threading.Lock()

    def submit(chunk: list[dict[str, Any]]) -> list[int]:
        codes = []
        with env.server.client() as c:
            for b in chunk:
                r = c.post(f"/voting/polls/{census.poll_id}/ballots", json={k: v for k, v in b.items() if k[0] != "_"})
                codes.append(r.status_code)
                with lock:
                    acks.append(time.monotonic())
        return codes

    readers = [threading.Thread(target=reader, args=(k,), daemon=True) for k in range(READERS)]
    for t in readers:
        t.start()
    time.sleep(0.3)  # the reads are already going when intake starts
    rest = ballots[1:]
    chunks = [rest[i::SUBMITTERS] for i in range(SUBMITTERS)]
    intake_started = time.monotonic()
    with ThreadPoolExecutor(SUBMITTERS) as pool:
        codes = [c for chunk_codes in pool.map(submit, chunks) for c in chunk_codes]
    intake_ended = time.monotonic()
    stop.set()
    for t in readers:
        t.join(30)

    assert codes == [201] * len(rest)
    during = [s for s in read_spans if s[0] < intake_ended and s[1] > intake_started]
    assert len(during) >= 20, f"only {len(during)} reads ran during intake"
    gaps = [b - a for a, b in zip([intake_started, *sorted(acks)], sorted(acks), strict=False)]
    assert max(gaps) < 2.0, f"ballot intake paused {max(gaps):.2f} s while reads ran"
    with env.server.client() as api:
        results = api.get(f"/voting/polls/{census.poll_id}/results").json()
    assert results["ballots"] == VOTERS
    assert [o["count"] for o in results["options"]] == [VOTERS // 3] * 3
