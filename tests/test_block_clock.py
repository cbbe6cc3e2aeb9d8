"""The ballot batcher on a chain that seals blocks on a timer (issue 17): it learns how the node mines,
and a batch goes out just before the next block is due, so ballots arriving while a block is pending
ride in one castBatch instead of the first few going at once and the rest a block later."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import service
from civic_ledger.voting.relay import SEND_MARGIN_S, BallotRelay, BlockClock
from tests.conftest import started_platform
from tests.test_indexer import ballot, census_poll, voters


@pytest.fixture(params=["embedded", "anvil", "interval"])
def any_chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Platform]]:
    url = {"embedded": "embedded", "anvil": None, "interval": None}[request.param]
    if request.param == "anvil":
        url = str(request.getfixturevalue("anvil").url)
    if request.param == "interval":
        url = str(request.getfixturevalue("interval_anvil").url)
    assert url is not None
    with started_platform(url, tmp_path / "data") as p:
        yield request.param, p


def test_the_clock_asks_the_node_how_it_mines(any_chain: tuple[str, Platform]) -> None:
    kind, platform = any_chain
    expected = {"embedded": 0.0, "anvil": 0.0, "interval": 1.0}[kind]
    assert BlockClock.of(platform.chain).period_s == expected
    assert BlockClock.of(platform.chain, 2.5).period_s == 2.5  # CIVIC_BLOCK_TIME wins
    assert service.state(platform).relay.clock.period_s == expected


def test_a_batch_is_sent_just_before_the_block_is_due() -> None:
    clock = BlockClock(1.0)
    assert clock.send_by(10.0) is None  # phase unknown: the first batch goes at once
    clock.sealed(100.0)
    assert clock.send_by(100.1) == pytest.approx(101.0 - SEND_MARGIN_S)
    assert clock.send_by(100.9) == 100.9  # inside the margin: now, it may still make the block
    assert clock.send_by(103.2) == pytest.approx(104.0 - SEND_MARGIN_S)  # idle blocks keep the phase
    # Once a batch is closed for the block due at 101, later arrivals wait for the block at 102.
    assert clock.window(100.9, after=101.0) == (pytest.approx(102.0 - SEND_MARGIN_S), pytest.approx(102.0))
    assert BlockClock(0.0).send_by(5.0) is None  # automining node: linger only
    assert BlockClock(0.2).send_by(5.0) is None
    short = BlockClock(0.2)
    short.sealed(1.0)
    assert short.send_by(1.01) == pytest.approx(1.15)  # the margin is at most a quarter period


def _two_groups(relay: BallotRelay, first: list[tuple[object, ...]], second: list[tuple[object, ...]]) -> set[str]:
    futures = [relay.submit(b) for b in first]
    time.sleep(0.3)  # well inside the block (1 s) and before the send (1 s - margin)
    futures += [relay.submit(b) for b in second]
    outcomes = [f.result(60) for f in futures]
    assert all(o.accepted for o in outcomes), [o.reason for o in outcomes]
    return {o.tx_hash for o in outcomes}


def test_ballots_arriving_during_a_block_ride_in_one_batch(interval_anvil: object, tmp_path: Path) -> None:
    with started_platform(str(interval_anvil.url), tmp_path / "data") as platform:  # type: ignore[attr-defined]
        people = voters(17, seed="block clock")
        census = census_poll(platform, people, question="One block?")
        relay = service.state(platform).relay
        assert relay.clock.timed
        group = [ballot(platform, census, v, 1) for v in people[1:]]  # signed before the clock starts
        # The first ballot goes at once (the phase is not known yet); its receipt shows the seal.
        assert relay.cast(ballot(platform, census, people[0], 0)).accepted
        txs = _two_groups(relay, group[:8], group[8:])
        assert len(txs) == 1, f"16 ballots of one block went in {len(txs)} transactions"

        # The batcher that sends at the first ballot (+20 ms) splits the same arrivals in two.
        eager = BallotRelay(platform.relayer, service.state(platform).contract)
        try:
            again = [ballot(platform, census, v, 2, version=2) for v in people[1:]]
            assert len(_two_groups(eager, again[:8], again[8:])) >= 2
        finally:
            eager.close()


def test_more_ballots_than_a_batch_still_make_one_block(interval_anvil: object, tmp_path: Path) -> None:
    """Beyond max_batch ballots a block, full batches go at once, several waiting for the same block."""
    with started_platform(str(interval_anvil.url), tmp_path / "data") as platform:  # type: ignore[attr-defined]
        people = voters(26, seed="pipelined")
        census = census_poll(platform, people, question="Many?")
        relay = BallotRelay(platform.relayer, service.state(platform).contract, max_batch=10, clock=BlockClock(1.0))
        try:
            ballots = [ballot(platform, census, v, 1) for v in people[1:]]  # signed before the clock starts
            assert relay.cast(ballot(platform, census, people[0], 0)).accepted  # learns the phase
            outcomes = [f.result(60) for f in [relay.submit(b) for b in ballots]]
        finally:
            relay.close()
        assert all(o.accepted for o in outcomes)
        assert sorted(len([o for o in outcomes if o.tx_hash == tx]) for tx in {o.tx_hash for o in outcomes}) == [
            5,
            10,
            10,
        ]
        assert len({o.block_number for o in outcomes}) == 1, "one block for all 25"
