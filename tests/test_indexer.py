"""The platform's event indexer and the first read model (M-Voting receipts).

Real chains (embedded, and anvil where reorgs or a node's limits matter), real HTTP for the
receipt endpoint, the real CLI for ``index status | rebuild | verify``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from typer.testing import CliRunner

from civic_ledger.cli import app as cli_app
from civic_ledger.errors import NotFound
from civic_ledger.platform.indexer import INDEX_FILE, Event, Projection, default_projections, open_indexer
from civic_ledger.platform.indexer.maintenance import verify_index
from civic_ledger.platform.indexer.source import RpcSource
from civic_ledger.platform.indexer.store import table_digest
from civic_ledger.platform.merkle import StandardMerkleTree
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import ballots as enc
from civic_ledger.voting import service
from civic_ledger.voting.projections import RECEIPTS
from civic_ledger.voting.schemas import PollCreate, PollDraft
from tests.conftest import Anvil, LiveServer, make_settings, started_platform
from tests.helpers import Counter, grant_role

ZERO32 = b"\0" * 32


# -- history builders (also used by scripts/bench_index.py) -----------------------------------


@dataclass
class Census:
    """A census poll (no registration needed: the voter key is the address) and its Merkle tree."""

    poll_id: int
    voters: list[LocalAccount]
    tree: StandardMerkleTree

    def proof(self, voter: str) -> list[bytes]:
        return self.tree.proof_bytes(self.tree.leaf_lookup([voter]))


def voters(n: int, seed: str = "voter") -> list[LocalAccount]:
    return [Account.from_key(keccak(text=f"{seed} {i}")) for i in range(n)]


def census_poll(platform: Platform, people: list[LocalAccount], *, question: str = "Q?") -> Census:
    admin = platform.operator
    contract = platform.deployment.contract("MVoting")
    role = contract.functions.POLL_ADMIN_ROLE().call()
    if not contract.functions.hasRole(role, admin.address).call():
        grant_role(platform, "MVoting", "POLL_ADMIN_ROLE", admin.address)
    tree = enc.census_tree(v.address for v in people)
    draft = PollDraft(
        question=question,
        options=["A", "B", "C"],
        duration_s=86_400,
        creator=admin.address,
        eligibility="census",
        census_root=tree.root,
        eligible_count=len(people),
    )
    td = service.poll_typed_data(platform, draft)
    from civic_ledger.platform import eip712

    sig = eip712.TypedMessage.from_dict(td.typed_data).sign(admin)
    poll_id = service.create_poll(platform, PollCreate(**td.fields, signature="0x" + sig.hex())).poll_id
    return Census(poll_id, people, tree)


def ballot(platform: Platform, census: Census, voter: LocalAccount, choice: int, version: int = 1) -> tuple[Any, ...]:
    deadline = platform.chain.now() + 86_400
    digest = service.ballot_digest(platform, census.poll_id, voter.address, choice, ZERO32, version, deadline)
    sig = bytes(Account.unsafe_sign_hash(digest, voter.key).signature)
    return (census.poll_id, voter.address, choice, ZERO32, version, deadline, sig, census.proof(voter.address))


def cast_batch(platform: Platform, ballots: list[tuple[Any, ...]]) -> Any:
    """One castBatch through the platform relayer (a block of its own); returns the receipt."""
    fn = platform.deployment.contract("MVoting").functions.castBatch(ballots)
    return platform.relayer.transact(fn, gas=min(29_000_000, 200_000 + 120_000 * len(ballots)))


def digest(ballot_input: tuple[Any, ...], platform: Platform) -> str:
    poll_id, voter, choice, commitment, version, deadline = ballot_input[:6]
    return "0x" + service.ballot_digest(platform, poll_id, voter, choice, commitment, version, deadline).hex()


def index_rows(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def caught_up(platform: Platform) -> int:
    head = platform.chain.head()
    assert platform.indexer.wait_for(head, 60), platform.indexer.status()
    return head


# -- events ------------------------------------------------------------------------------------


@pytest.fixture(params=["embedded", "anvil"])
def chain_platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    chain = "embedded" if request.param == "embedded" else str(request.getfixturevalue("anvil").url)
    with started_platform(chain, tmp_path / "data") as p:
        yield p


def test_events_are_decoded_and_stored_once_per_block(chain_platform: Platform) -> None:
    platform = chain_platform
    census = census_poll(platform, voters(4, seed=f"decode {platform.chain.kind}"), question="Decode?")
    a, b, c, _ = census.voters
    first = [ballot(platform, census, a, 0), ballot(platform, census, b, 2)]
    third = ballot(platform, census, c, 1)
    receipt = cast_batch(platform, [*first, third, first[0]])  # the last one is a replay
    caught_up(platform)
    path = platform.indexer.path
    mvoting = platform.deployment.address("MVoting")
    rows = index_rows(
        path,
        "SELECT event, args, topic1, topic2, log_index, tx_hash FROM events WHERE block = ? ORDER BY log_index",
        receipt.block_number,
    )
    ours = [x for x in receipt.raw["logs"] if x["address"] == mvoting]
    assert [r[0] for r in rows] == ["BallotCast", "BallotCast", "BallotCast", "BallotRejected"]
    assert len(rows) == len(ours) and {r[5] for r in rows} == {receipt.tx_hash}
    cast = json.loads(rows[0][1])
    assert cast == {
        "pollId": str(census.poll_id),  # uint256: a decimal string
        "voter": a.address,
        "citizenId": str(int(a.address, 16)),  # census polls key by address
        "ballotHash": digest(first[0], platform),
        "version": 1,  # uint32: a JSON number
        "choice": "0",
        "commitment": "0x" + "00" * 32,
    }
    assert rows[0][2] == "0x" + census.poll_id.to_bytes(32, "big").hex()
    assert rows[0][3] == "0x" + bytes(12).hex() + a.address[2:].lower()
    rejected = json.loads(rows[3][1])
    assert rejected["ballotHash"] == digest(first[0], platform) and rejected["reason"] > 0
    created = index_rows(path, "SELECT args FROM events WHERE contract = 'MVoting' AND event = 'PollCreated'")
    poll = json.loads(created[-1][0])
    assert poll["question"] == "Decode?" and poll["options"] == ["A", "B", "C"]
    assert poll["poll"]["censusRoot"] == census.tree.root and poll["poll"]["eligibleCount"] == 4
    # every log of every followed contract, once: the index holds what eth_getLogs holds
    addresses = list(platform.deployment.addresses().values())
    on_chain = platform.chain.w3.eth.get_logs(
        {"address": addresses, "fromBlock": 0, "toBlock": platform.indexer.cursor}  # type: ignore[typeddict-item]
    )
    stored = index_rows(path, "SELECT block, log_index, tx_hash FROM events ORDER BY block, log_index")
    assert stored == [(x["blockNumber"], x["logIndex"], "0x" + bytes(x["transactionHash"]).hex()) for x in on_chain]
    receipts = index_rows(path, "SELECT ballot_hash, replaced_by, block FROM voting_receipts ORDER BY ballot_hash")
    assert sorted(r[0] for r in receipts) == sorted(digest(x, platform) for x in [*first, third])
    assert all(r[1] is None and r[2] == receipt.block_number for r in receipts)


# -- restart, crash mid-block ----------------------------------------------------------------


class Crasher:
    """A projection that fails on its ``after``-th event: a crash in the middle of a block's transaction."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.calls = 0

    def apply(self, conn: sqlite3.Connection, event: Event) -> None:
        self.calls += 1
        conn.execute("INSERT INTO crasher_seen (block) VALUES (?)", (event.block,))
        if self.calls >= self.after:
            raise RuntimeError("power cut")

    def projection(self) -> Projection:
        return Projection(
            name="crasher",
            consumes=frozenset({("MVoting", "BallotCast")}),
            schema="CREATE TABLE crasher_seen (block INTEGER NOT NULL);",
            tables=("crasher_seen",),
            apply=self.apply,
        )


def _digests(path: Path, tables: tuple[str, ...] = ("events", "voting_receipts")) -> dict[str, tuple[str, int]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: table_digest(conn, t) for t in tables}
    finally:
        conn.close()


def test_restart_mid_catch_up_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with started_platform("embedded", data) as platform:
        census = census_poll(platform, voters(30, seed="restart"))
        blocks = []
        for i in range(6):
            batch = [ballot(platform, census, v, i % 3) for v in census.voters[i * 5 : (i + 1) * 5]]
            blocks.append(cast_batch(platform, batch).block_number)
        blocks.append(cast_batch(platform, [ballot(platform, census, census.voters[0], 2, version=2)]).block_number)
        head = caught_up(platform)
        reference = _digests(platform.indexer.path)
        settings = platform.settings.model_copy(update={"index_chunk_blocks": 2})
        chain_id, entries, build = platform.chain.chain_id, platform.deployment.entries, platform.build
    assert reference["events"][1] > 31 and reference["voting_receipts"][1] == 31
    for suffix in ("", "-wal", "-shm"):
        (data / f"{INDEX_FILE}{suffix}").unlink(missing_ok=True)

    def reopen(*extra: Projection) -> Any:
        return open_indexer(
            settings, chain_id=chain_id, entries=entries, build=build, projections=[*default_projections(), *extra]
        )

    # 1. a first catch-up stops after the first ballot block (the server was stopped)
    idx = reopen()
    assert idx.sync(target=blocks[0]) == blocks[0]
    idx.close()
    # 2. the next one dies inside the transaction of the third ballot block (its 2nd ballot)
    crasher = Crasher(after=5 + 5 + 2)  # 5 replayed from the stored block, 5 of the second block, ...
    idx = reopen(crasher.projection())
    with pytest.raises(RuntimeError, match="power cut"):
        idx.sync()
    assert idx.store.cursor() is not None and idx.store.cursor()[0] == blocks[1]  # type: ignore[index]
    idx.close()
    path = data / INDEX_FILE
    assert index_rows(path, "SELECT COUNT(*) FROM events WHERE block >= ?", blocks[2]) == [(0,)]
    assert index_rows(path, "SELECT COUNT(*) FROM crasher_seen WHERE block = ?", blocks[2]) == [(0,)]
    assert index_rows(path, "SELECT COUNT(*) FROM voting_receipts") == [(10,)]
    # 3. the restart resumes after the cursor: never from a deploy block again
    idx = reopen()
    ranges: list[tuple[int, int]] = []
    logs = idx.source.logs

    def recording(start: int, end: int, addresses: list[str]) -> Any:
        ranges.append((start, end))
        return logs(start, end, addresses)

    idx.source.logs = recording  # type: ignore[method-assign]
    assert idx.sync() == head
    idx.close()
    assert ranges and ranges[0][0] == blocks[1] + 1 and all(e - s + 1 <= 2 for s, e in ranges)
    assert _digests(path) == reference  # nothing lost, nothing twice
    assert index_rows(path, "SELECT COUNT(*) FROM voting_receipts WHERE replaced_by IS NOT NULL") == [(1,)]


# -- reorg on anvil ----------------------------------------------------------------------------


class Sender:
    """Sends castBatch from one of anvil's unlocked accounts (not the platform relayer, whose
    nonce would not survive the revert) and waits for the block."""

    def __init__(self, node: Anvil, platform: Platform) -> None:
        from web3 import HTTPProvider, Web3

        self.w3 = Web3(HTTPProvider(node.url))
        self.account = self.w3.eth.accounts[1]
        self.contract = self.w3.eth.contract(
            address=platform.deployment.address("MVoting"), abi=platform.deployment.contract("MVoting").abi
        )

    def cast(self, ballots: list[tuple[Any, ...]]) -> Any:
        tx = self.contract.functions.castBatch(ballots).transact({"from": self.account, "gas": 5_000_000})
        return self.w3.eth.wait_for_transaction_receipt(tx)

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        return self.w3.provider.make_request(method, params or [])["result"]  # type: ignore[arg-type]


def _receipt_table(platform: Platform) -> dict[str, str | None]:
    with platform.indexer.read() as conn:
        return {str(h): r for h, r in conn.execute("SELECT ballot_hash, replaced_by FROM voting_receipts")}


def test_reorg_on_anvil_rolls_events_and_receipts_back_and_forward(tmp_path: Path) -> None:
    node = Anvil()
    try:
        with started_platform(node.url, tmp_path / "data", index_poll_s=0.05) as platform:
            census = census_poll(platform, voters(4, seed="reorg"))
            v = census.voters
            sender = Sender(node, platform)
            caught_up(platform)
            snapshot = sender.rpc("evm_snapshot")
            # branch A: v0 votes, v1 votes, v0 changes its vote, v2 votes (three blocks)
            a = [ballot(platform, census, v[0], 0), ballot(platform, census, v[1], 0)]
            a_change, a_late = ballot(platform, census, v[0], 1, version=2), ballot(platform, census, v[2], 2)
            a_txs = [sender.cast(a).transactionHash, sender.cast([a_change]).transactionHash]
            a_txs.append(sender.cast([a_late]).transactionHash)
            caught_up(platform)
            hashes_a = [digest(x, platform) for x in [*a, a_change, a_late]]
            assert _receipt_table(platform) == {
                hashes_a[0]: hashes_a[2],  # replaced by the change
                hashes_a[1]: None,
                hashes_a[2]: None,
                hashes_a[3]: None,
            }
            assert service.receipt(platform, hashes_a[3]).block_number == platform.indexer.cursor

            # the chain goes back to the snapshot and grows another branch, longer than A
            assert sender.rpc("evm_revert", [snapshot]) is True
            b = [ballot(platform, census, v[0], 2), ballot(platform, census, v[3], 1)]
            b_change = ballot(platform, census, v[3], 0, version=2)
            b_txs = [sender.cast(b).transactionHash, sender.cast([b_change]).transactionHash]
            for _ in range(3):
                sender.rpc("evm_mine")
            head = caught_up(platform)
            assert platform.indexer.reorgs >= 1 and platform.indexer.cursor == head
            hashes_b = [digest(x, platform) for x in [*b, b_change]]
            assert _receipt_table(platform) == {hashes_b[0]: None, hashes_b[1]: hashes_b[2], hashes_b[2]: None}
            with platform.indexer.read() as conn:
                txs = {str(t) for (t,) in conn.execute("SELECT tx_hash FROM events WHERE event = 'BallotCast'")}
            assert txs == {"0x" + bytes(t).hex() for t in b_txs}
            assert not txs & {"0x" + bytes(t).hex() for t in a_txs}
            with pytest.raises(NotFound):
                service.receipt(platform, hashes_a[3])  # v2's ballot is not on the chain any more
            assert service.receipt(platform, hashes_b[0]).current is True
            report = verify_index(platform.settings)
            assert report.ok, report.as_dict()
    finally:
        node.stop()


# -- verify, rebuild, status ------------------------------------------------------------------


def test_index_verify_detects_a_tampered_row_and_rebuild_restores_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner = CliRunner()
    with started_platform("embedded", data) as platform:  # the CLI runs next to a running server
        census = census_poll(platform, voters(6, seed="verify"))
        cast_batch(platform, [ballot(platform, census, x, 1) for x in census.voters[:4]])
        tampered = ballot(platform, census, census.voters[4], 2)
        cast_batch(platform, [tampered])
        head = caught_up(platform)

        def cli(*args: str) -> Any:
            return runner.invoke(cli_app, ["index", *args, "--data-dir", str(data), "--json"])

        ok = cli("verify")
        assert ok.exit_code == 0, ok.output
        assert json.loads(ok.output)["ok"] is True
        conn = sqlite3.connect(str(platform.indexer.path))
        with conn:
            conn.execute("UPDATE voting_receipts SET version = 9 WHERE ballot_hash = ?", (digest(tampered, platform),))
        conn.close()
        bad = cli("verify")
        assert bad.exit_code == 2, bad.output
        assert "voting_receipts" in bad.output
        report = json.loads(bad.stdout)
        assert report["mismatched"] == ["voting_receipts"] and report["ok"] is False
        rebuilt = cli("rebuild")
        assert rebuilt.exit_code == 0, rebuilt.output
        assert json.loads(rebuilt.output)["rebuilt"]["voting_receipts"] == 5
        again = cli("verify")
        assert again.exit_code == 0, again.output
        assert service.receipt(platform, digest(tampered, platform)).version == 1
        status = cli("status")
        assert status.exit_code == 0, status.output
        info = json.loads(status.output)
        assert info["cursor"] >= head and info["head"] >= head and info["lag"] == 0
        mvoting = platform.deployment.address("MVoting")
        on_chain = platform.chain.w3.eth.get_logs({"address": mvoting, "fromBlock": 0, "toBlock": info["cursor"]})
        assert info["events"]["MVoting"] == len(on_chain) >= 7  # roles, the poll, 5 ballots
        # every registered projection, with its version (each area's read models)
        assert info["projections"]["voting_receipts"] == RECEIPTS.version
        assert {"payments_by_key", "payments_escrow", "labor_by_key", "identity_by_key", "voting_by_poll"} <= set(
            info["projections"]
        )
        assert {"mileage_books", "mileage_statements", "mileage_merchants"} <= set(info["projections"])


# -- the receipt endpoint ---------------------------------------------------------------------


def test_receipt_after_a_restart_is_a_key_read_not_a_history_scan(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with started_platform("embedded", data) as platform:
        census = census_poll(platform, voters(40, seed="restart receipt"))
        batches = [[ballot(platform, census, v, 1) for v in census.voters[i : i + 10]] for i in range(0, 40, 10)]
        for batch in batches:
            cast_batch(platform, batch)
        early, late = digest(batches[0][0], platform), digest(batches[-1][-1], platform)
        head = caught_up(platform)
        with LiveServer(platform) as server, server.client() as api:
            before = {h: api.get(f"/voting/receipts/{h}").json() for h in (early, late)}
        events = index_rows(platform.indexer.path, "SELECT COUNT(*) FROM events")
    with started_platform("embedded", data) as platform:  # the restart
        assert caught_up(platform) == head
        # nothing new was mined: the catch-up from the persisted cursor wrote nothing, re-read nothing
        assert platform.indexer.blocks_written == 0 and platform.indexer.cursor == head
        assert index_rows(platform.indexer.path, "SELECT COUNT(*) FROM events") == events
        assert platform.chain.tester is not None
        chain_logs = Counter(platform.chain.tester, "get_logs")  # eth_getLogs under the chain lock
        index_logs = Counter(platform.indexer.source, "logs")
        with LiveServer(platform) as server, server.client() as api:
            after = {h: api.get(f"/voting/receipts/{h}").json() for h in (early, late)}
            missing = api.get("/voting/receipts/0x" + "cd" * 32)
        assert after == {h: {**r, "batch_size": None} for h, r in before.items()}  # same answer as before
        assert before[early]["batch_size"] is None and after[late]["counted"] is True
        assert missing.status_code == 404 and missing.json()["error"] == "receipt_not_found"
        assert chain_logs.calls == [] and index_logs.calls == []  # no log query at all, found or not


def test_receipt_right_after_a_ballot_mined_by_someone_else(tmp_path: Path) -> None:
    """The indexer polls every 30 s here: the lookup wakes it and waits for one round."""
    with started_platform("embedded", tmp_path / "data", index_poll_s=30) as platform:
        census = census_poll(platform, voters(2, seed="fresh"))
        caught_up(platform)
        cast = ballot(platform, census, census.voters[0], 2)
        mined = cast_batch(platform, [cast])  # straight to the contract, not through the voting service
        assert platform.chain.tester is not None
        chain_logs = Counter(platform.chain.tester, "get_logs")
        out = service.receipt(platform, digest(cast, platform))
        assert out.block_number == mined.block_number and out.tx_hash == mined.tx_hash and out.current
        assert chain_logs.calls == []  # found in the index, not by the bounded fallback scan


def test_a_node_that_refuses_wide_log_ranges_gets_narrower_ones(tmp_path: Path) -> None:
    """Through the server's own /rpc, which refuses eth_getLogs over more than 3 blocks."""
    with started_platform("embedded", tmp_path / "data", rpc_max_log_blocks=3, rate_limits=False) as platform:
        census = census_poll(platform, voters(6, seed="narrow"))
        for v in census.voters:
            cast_batch(platform, [ballot(platform, census, v, 0)])
        head = caught_up(platform)
        with LiveServer(platform) as server:
            source = RpcSource(server.url + "/rpc")
            settings = make_settings(server.url + "/rpc", tmp_path / "other", index_chunk_blocks=1_000)
            other = open_indexer(
                settings,
                chain_id=platform.chain.chain_id,
                entries=platform.deployment.entries,
                build=platform.build,
                path=tmp_path / "other.sqlite3",
                source=source,
            )
            try:
                assert other.sync(target=head) == head
                assert other._chunk <= 3 and other._ceiling < 1_000  # shrank below what the node refused
                assert {t: table_digest(other.store.conn, t, upto=head) for t in ("events", "voting_receipts")} == {
                    t: table_digest(sqlite3.connect(str(platform.indexer.path)), t, upto=head)
                    for t in ("events", "voting_receipts")
                }
            finally:
                other.close()


def test_an_unreadable_index_is_moved_aside_and_rebuilt_from_the_chain(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with started_platform("embedded", data) as platform:
        census = census_poll(platform, voters(3, seed="damaged"))
        cast = ballot(platform, census, census.voters[0], 1)
        cast_batch(platform, [cast])
        head = caught_up(platform)
    for suffix in ("-wal", "-shm"):
        (data / f"{INDEX_FILE}{suffix}").unlink(missing_ok=True)
    (data / INDEX_FILE).write_bytes(b"not a database" * 100)
    with started_platform("embedded", data, index_confirmations=2) as platform:
        assert caught_up(platform) == head
        assert service.receipt(platform, digest(cast, platform)).current is True
        assert platform.indexer.final_block() == head - 2  # what a read may call final
    assert [p.name for p in data.iterdir() if ".damaged-" in p.name]


def test_anvil_reorg_at_the_same_height_drops_the_replaced_ballots(tmp_path: Path) -> None:
    """``anvil_reorg`` replaces the last blocks by others at the same height: only hashes differ."""
    node = Anvil()
    try:
        with started_platform(node.url, tmp_path / "data", index_poll_s=0.05) as platform:
            census = census_poll(platform, voters(3, seed="anvil_reorg"))
            sender = Sender(node, platform)
            kept = ballot(platform, census, census.voters[0], 0)
            sender.cast([kept])
            change = ballot(platform, census, census.voters[0], 1, version=2)
            sender.cast([change])
            late = ballot(platform, census, census.voters[1], 2)
            sender.cast([late])
            head = caught_up(platform)
            before = platform.indexer.status()["cursor_hash"]
            sender.rpc("anvil_reorg", [2, []])  # the last two blocks, again, without their transactions
            assert platform.chain.head() == head
            assert platform.indexer.wait_fresh(30) and platform.indexer.cursor == head
            assert platform.indexer.status()["cursor_hash"] != before and platform.indexer.reorgs >= 1
            assert _receipt_table(platform) == {digest(kept, platform): None}  # current again
            with pytest.raises(NotFound):
                service.receipt(platform, digest(late, platform))
            assert verify_index(platform.settings).ok
    finally:
        node.stop()
