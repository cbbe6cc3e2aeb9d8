"""M-Voting: polls signed by agencies, ballots signed by voters, batched relay, sealed polls,
receipts, results and an independent recount. Events and errors asserted.

One platform per chain for the whole module (a private anvil, because these tests move chain
time); each test creates its own polls relative to chain time.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner
from web3.logs import DISCARD

from civic_ledger.errors import ContractError
from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform
from civic_ledger.platform.trust import TrustedDeployment
from civic_ledger.voting import ballots as enc
from civic_ledger.voting import service
from civic_ledger.voting.recount import recount_rpc, recount_trusted
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import assert_error, grant_role, make_registrar, register_citizen, suspend_citizen, travel

# -- fixtures and helpers ------------------------------------------------------------------


@dataclass
class Env:
    platform: Platform
    api: httpx.Client
    registrar: LocalAccount
    admin: LocalAccount
    citizens: list[LocalAccount]
    anvil_url: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def voting(self) -> Any:
        return self.platform.deployment.contract("MVoting")

    def now(self) -> int:
        return service.chain_now(self.platform)

    def travel(self, seconds: int) -> None:
        travel(self.platform, seconds)

    def create_poll(self, signer: LocalAccount | None = None, **draft: Any) -> dict[str, Any]:
        signer = signer or self.admin
        body = {"question": "Q?", "options": ["Yes", "No"], "duration_s": 300, "creator": signer.address, **draft}
        r = self.api.post("/voting/polls/typed-data", json=body)
        assert r.status_code == 200, r.text
        td = r.json()
        signature = eip712.TypedMessage.from_dict(td["typed_data"]).sign(signer)
        r = self.api.post("/voting/polls", json={**td["fields"], "signature": "0x" + signature.hex()})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def sign_ballot(self, poll_id: int, voter: LocalAccount, **draft: Any) -> dict[str, Any]:
        r = self.api.post(f"/voting/polls/{poll_id}/ballots/typed-data", json={"voter": voter.address, **draft})
        assert r.status_code == 200, r.text
        td = r.json()
        signature = eip712.TypedMessage.from_dict(td["typed_data"]).sign(voter)
        return {**td["fields"], "signature": "0x" + signature.hex(), "_digest": td["digest"]}

    def post_ballot(self, poll_id: int, ballot: dict[str, Any]) -> httpx.Response:
        body = {k: v for k, v in ballot.items() if not k.startswith("_")}
        return self.api.post(f"/voting/polls/{poll_id}/ballots", json=body)

    def vote(self, poll_id: int, voter: LocalAccount, **draft: Any) -> dict[str, Any]:
        r = self.post_ballot(poll_id, self.sign_ballot(poll_id, voter, **draft))
        assert r.status_code == 201, r.text
        return dict(r.json())

    def results(self, poll_id: int) -> dict[str, Any]:
        r = self.api.get(f"/voting/polls/{poll_id}/results")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def counts(self, poll_id: int) -> list[int]:
        return [o["count"] for o in self.results(poll_id)["options"]]

    def ballot_input(self, poll_id: int, signed: dict[str, Any], proof: list[bytes] | None = None) -> tuple[Any, ...]:
        return (
            poll_id,
            signed["voter"],
            int(signed["choice"]),
            bytes.fromhex(signed["commitment"][2:]),
            int(signed["version"]),
            int(signed["deadline"]),
            bytes.fromhex(signed["signature"][2:]),
            proof or [],
        )


def register(env: Env, account: LocalAccount, *, district: int = 1, birth_year: int = 1990) -> int:
    return register_citizen(env.platform, env.registrar, account.address, district=district, birth_year=birth_year)


def suspend(env: Env, citizen_id: int, reason: int = 1) -> Any:
    """The registrar signs SuspendCitizen; the operator relays it (chain-time deadline)."""
    return suspend_citizen(env.platform, env.registrar, citizen_id, reason=reason)


def tx_events(env: Env, tx_hash: str, event: str) -> list[dict[str, Any]]:
    receipt = env.platform.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    return [
        dict(e["args"]) | {"logIndex": e["logIndex"]}
        for e in getattr(env.voting.events, event)().process_receipt(receipt, errors=DISCARD)
    ]


@pytest.fixture(scope="module", params=["embedded", "anvil", "interval"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    # A node of our own: polls are closed by moving chain time (see ``module_chain``).
    with (
        module_chain(request, own_anvil=True) as chain,
        started_platform(chain, tmp_path_factory.mktemp("voting")) as platform,
        LiveServer(platform) as server,
    ):
        try:
            registrar = make_registrar(platform)
            admin = Account.create()
            grant_role(platform, "MVoting", "POLL_ADMIN_ROLE", admin.address)
            citizens = [Account.create() for _ in range(8)]
            with server.client() as client:
                e = Env(platform, client, registrar, admin, citizens, None if chain == "embedded" else chain)
                for i, c in enumerate(citizens):
                    # 0..5: district 1, born 1990; 6: district 14, born 1960; 7: district 3, born 2005
                    district, year = (1, 1990) if i < 6 else ((14, 1960) if i == 6 else (3, 2005))
                    register(e, c, district=district, birth_year=year)
                yield e
        finally:
            service.close(platform)


@pytest.fixture
def embedded_env(env: Env) -> Env:
    if env.anvil_url is not None:
        pytest.skip("embedded chain only")
    return env


# -- EIP-712 types -------------------------------------------------------------------------


def test_python_types_hash_to_the_contract_typehashes_and_digest(env: Env) -> None:
    v = env.voting.functions
    assert v.BALLOT_TYPEHASH().call() == service.BALLOT_TYPEHASH
    assert v.CREATE_POLL_TYPEHASH().call() == service.CREATE_POLL_TYPEHASH
    assert v.DOMAIN_SEPARATOR().call() == service.state(env.platform).domain_separator
    voter = env.citizens[0].address
    commitment = bytes(range(32))
    local = service.ballot_digest(env.platform, 7, voter, 3, commitment, 2, 10**10)
    typed = service.ballot_typed_message(env.platform, 7, voter, 3, commitment, 2, 10**10)
    assert local == typed.digest() == v.ballotDigest(7, voter, 3, commitment, 2, 10**10).call()
    salt = b"\x11" * 32
    assert enc.commitment(7, voter, 5, salt) == v.commitmentOf(7, voter, 5, salt).call()


@given(st.lists(st.integers(0, 31), min_size=1, max_size=8, unique=True), st.integers(1, 8))
def test_choice_encodings_round_trip_and_match_the_contract_rules(options: list[int], max_choices: int) -> None:
    for ballot_type in ("approval", "ranked"):
        if len(options) > max_choices:
            assert not enc.valid_choice(
                ballot_type,
                sum(1 << o for o in options)
                if ballot_type == "approval"
                else sum((o + 1) << (8 * r) for r, o in enumerate(options)),
                32,
                max_choices,
            )
            continue
        choice = enc.encode_choice(ballot_type, options, 32, max_choices)
        assert enc.valid_choice(ballot_type, choice, 32, max_choices)
        decoded = enc.decode_choice(ballot_type, choice)
        assert decoded == (sorted(options) if ballot_type == "approval" else options)
        counts = [0] * 32
        enc.add_to_tally(counts, ballot_type, choice, max_choices)
        expected = len(options) if ballot_type == "approval" else sum(max_choices - r for r in range(len(options)))
        assert sum(counts) == expected
    assert not enc.valid_choice("ranked", (options[0] + 1) | ((options[0] + 1) << 8), 32, 8)  # an option twice


def test_census_proofs_verify_for_every_member() -> None:
    members = [Account.create().address for _ in range(7)]
    root = enc.census_root(members)
    for m in members:
        assert enc.verify_census_proof(root, m, enc.census_proof(members, m))
    assert not enc.verify_census_proof(root, Account.create().address, enc.census_proof(members, members[0]))


def test_relay_worker_starts_lazily_exits_when_idle_and_close_fails_queued_ballots(env: Env) -> None:
    from civic_ledger.errors import ChainUnavailable
    from civic_ledger.voting.relay import BallotRelay

    pid = env.create_poll()["poll_id"]
    relay = BallotRelay(env.platform.relayer, env.voting, idle_exit_s=0.2)
    assert relay._thread is None  # nothing runs before the first ballot
    outcome = relay.cast(env.ballot_input(pid, env.sign_ballot(pid, env.citizens[0], options=[0])), timeout=60)
    assert outcome.accepted and outcome.batch_size == 1
    thread = relay._thread
    assert thread is not None and thread.daemon
    thread.join(5)
    assert not thread.is_alive()  # idle: the worker left by itself
    relay.close()
    with pytest.raises(ChainUnavailable):
        relay.submit(env.ballot_input(pid, env.sign_ballot(pid, env.citizens[1], options=[0])))


def test_relay_splits_a_batch_whose_transaction_fails_so_one_ballot_can_not_sink_the_others(env: Env) -> None:
    from civic_ledger.errors import TransactionFailed
    from civic_ledger.voting.relay import BallotRelay

    class Flaky(BallotRelay):
        sent: list[list[Any]] = []

        def _flush(self, batch):  # type: ignore[no-untyped-def]
            self.sent.append([item.ballot for item in batch])
            if ("poison",) in [item.ballot for item in batch]:
                raise TransactionFailed("castBatch reverted: out of gas")
            for item in batch:
                item.future.set_result(item.ballot[0])  # type: ignore[arg-type]

    relay = Flaky(env.platform.relayer, env.voting, linger_s=0.3)
    futures = [relay.submit((x,)) for x in ("a", "poison", "b", "c")]
    assert [f.result(10) if x != "?" else None for f, x in zip(futures, "a?bc", strict=True)] == [
        "a",
        None,
        "b",
        "c",
    ]
    with pytest.raises(TransactionFailed):
        futures[1].result(10)
    assert Flaky.sent[0] == [("a",), ("poison",), ("b",), ("c",)] and [("poison",)] in Flaky.sent
    relay.close()


# -- polls ---------------------------------------------------------------------------------


def test_create_poll_emits_PollCreated_and_the_api_serves_the_texts(env: Env) -> None:
    poll = env.create_poll(question="Night market all year?", options=["Yes", "No", "Weekends only"], eligible_count=6)
    pid = poll["poll_id"]
    assert poll["question"] == "Night market all year?"
    assert [o["text"] for o in poll["options"]] == ["Yes", "No", "Weekends only"]
    assert poll["status"] == "open" and poll["creator"] == env.admin.address and poll["eligible_count"] == 6
    (event,) = tx_events(env, poll["created_tx"], "PollCreated")
    assert event["pollId"] == pid and event["creator"] == env.admin.address
    assert event["question"] == "Night market all year?" and list(event["options"]) == ["Yes", "No", "Weekends only"]

    shown = env.api.get(f"/voting/polls/{pid}").json()
    assert shown["options"][2]["text"] == "Weekends only" and shown["created_block"] == poll["created_block"]
    listed = env.api.get("/voting/polls").json()
    assert listed[0]["poll_id"] == pid  # newest first
    assert any(p["poll_id"] == pid for p in env.api.get("/voting/polls", params={"status": "open"}).json())


def test_create_poll_rejections(env: Env) -> None:
    outsider = Account.create()
    body = {"question": "Q?", "options": ["a", "b"], "duration_s": 60, "creator": outsider.address}
    td = env.api.post("/voting/polls/typed-data", json=body).json()
    sig = eip712.TypedMessage.from_dict(td["typed_data"]).sign(outsider)
    assert_error(
        env.api.post("/voting/polls", json={**td["fields"], "signature": "0x" + sig.hex()}),
        403,
        "MVotingNotPollAdmin",
        "POLL_ADMIN_ROLE",
    )

    # the admin's address, someone else's signature
    td = env.api.post("/voting/polls/typed-data", json={**body, "creator": env.admin.address}).json()
    sig = eip712.TypedMessage.from_dict(td["typed_data"]).sign(outsider)
    assert_error(
        env.api.post("/voting/polls", json={**td["fields"], "signature": "0x" + sig.hex()}),
        403,
        "MVotingInvalidSignature",
        outsider.address,
    )

    # a signed poll whose fields are altered after signing
    sig = eip712.TypedMessage.from_dict(td["typed_data"]).sign(env.admin)
    assert_error(
        env.api.post("/voting/polls", json={**td["fields"], "question": "Other?", "signature": "0x" + sig.hex()}),
        403,
        "MVotingInvalidSignature",
    )

    # contract validation: already-closed schedule, district filter on an all-citizens poll
    now = env.now()
    r = env.api.post(
        "/voting/polls/typed-data",
        json={**body, "creator": env.admin.address, "opens_at": now - 100, "closes_at": now - 10, "duration_s": None},
    )
    sig = eip712.TypedMessage.from_dict(r.json()["typed_data"]).sign(env.admin)
    assert_error(
        env.api.post("/voting/polls", json={**r.json()["fields"], "signature": "0x" + sig.hex()}),
        422,
        "MVotingInvalidSchedule",
    )
    r = env.api.post("/voting/polls/typed-data", json={**body, "creator": env.admin.address, "districts": [3]})
    sig = eip712.TypedMessage.from_dict(r.json()["typed_data"]).sign(env.admin)
    assert_error(
        env.api.post("/voting/polls", json={**r.json()["fields"], "signature": "0x" + sig.hex()}),
        422,
        "MVotingInvalidEligibility",
    )
    # request validation names the field
    assert_error(
        env.api.post("/voting/polls/typed-data", json={**body, "options": ["only one"]}),
        422,
        "invalid_input",
        "options",
    )
    assert_error(
        env.api.post("/voting/polls/typed-data", json={**body, "districts": [26]}), 422, "invalid_input", "district 26"
    )


# -- ballots -------------------------------------------------------------------------------


def test_cast_gives_a_receipt_with_the_BallotCast_event_and_counts(env: Env) -> None:
    pid = env.create_poll(options=["A", "B", "C"], eligible_count=8)["poll_id"]
    alice, bob = env.citizens[0], env.citizens[1]
    signed = env.sign_ballot(pid, alice, options=[2])
    assert signed["version"] == 1 and signed["choice"] == 2
    r = env.post_ballot(pid, signed)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["ballot_hash"] == signed["_digest"] and rec["voter"] == alice.address and rec["version"] == 1
    (event,) = tx_events(env, rec["tx_hash"], "BallotCast")
    assert event["pollId"] == pid and event["voter"] == alice.address and event["choice"] == 2
    assert "0x" + event["ballotHash"].hex() == rec["ballot_hash"] and event["logIndex"] == rec["log_index"]
    assert str(event["citizenId"]) == rec["citizen_id"]
    env.vote(pid, bob, options=[0])

    res = env.results(pid)
    assert [o["count"] for o in res["options"]] == [1, 0, 1]
    assert [o["text"] for o in res["options"]] == ["A", "B", "C"]
    assert res["ballots"] == 2 and res["counted"] == 2 and res["turnout"] == pytest.approx(2 / 8)
    assert res["winner"] == [0, 2] and res["source"] == "tallyOf"

    receipt = env.api.get(f"/voting/receipts/{rec['ballot_hash']}").json()
    assert (
        receipt["poll_id"] == pid
        and receipt["tx_hash"] == rec["tx_hash"]
        and receipt["block_number"] == rec["block_number"]
    )
    assert receipt["log_index"] == rec["log_index"] and receipt["current"] is True and receipt["counted"] is True
    assert receipt["choice"] == "2"
    svg = env.api.get(f"/voting/polls/{pid}/results.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg") and ">A</text>" in svg.text and "2 counted of 2 ballots" in svg.text


def test_receipt_found_from_logs_alone(env: Env) -> None:
    """A fresh service state (e.g. after a restart) finds the receipt by scanning BallotCast logs."""
    pid = env.create_poll()["poll_id"]
    rec = env.vote(pid, env.citizens[2], options=[1])
    st = service.state(env.platform)
    with st.lock:
        st.receipts.clear()
        st.receipts_scanned_to = -1
    out = env.api.get(f"/voting/receipts/{rec['ballot_hash']}").json()
    assert out["tx_hash"] == rec["tx_hash"] and out["log_index"] == rec["log_index"] and out["counted"] is True
    assert out["batch_size"] is None
    assert_error(env.api.get("/voting/receipts/0x" + "ab" * 32), 404, "receipt_not_found")
    assert_error(env.api.get("/voting/receipts/0x1234"), 422, "invalid_input", "32 bytes")


def test_double_vote_and_replayed_signature_are_rejected_409(env: Env) -> None:
    pid = env.create_poll()["poll_id"]
    voter = env.citizens[0]
    signed = env.sign_ballot(pid, voter, options=[0])
    assert env.post_ballot(pid, signed).status_code == 201
    # the very same signed ballot again (a replay by anyone who saw it)
    body = assert_error(env.post_ballot(pid, signed), 409, "MVotingReplayed", "current version 1")
    assert body["details"]["reason"] == "replayed" and body["details"]["ballot_hash"] == signed["_digest"]
    # a second ballot with the same version (a double vote)
    again = env.sign_ballot(pid, voter, options=[1], version=1)
    assert_error(env.post_ballot(pid, again), 409, "MVotingReplayed")
    # the contract itself refuses it with the custom error
    with pytest.raises(ContractError) as info:
        env.platform.relayer.transact(env.voting.functions.cast(env.ballot_input(pid, again)))
    assert info.value.error_name == "MVotingReplayed" and info.value.error_args["currentVersion"] == 1
    assert env.counts(pid) == [1, 0]


def test_vote_change_replaces_the_ballot_and_moves_the_tally(env: Env) -> None:
    pid = env.create_poll(options=["A", "B"])["poll_id"]
    voter = env.citizens[3]
    first = env.vote(pid, voter, options=[0])
    assert env.counts(pid) == [1, 0]
    signed = env.sign_ballot(pid, voter, options=[1])
    assert signed["version"] == 2  # current + 1
    second = env.post_ballot(pid, signed).json()
    (event,) = tx_events(env, second["tx_hash"], "BallotCast")
    assert event["version"] == 2 and event["choice"] == 1
    res = env.results(pid)
    assert [o["count"] for o in res["options"]] == [0, 1] and res["ballots"] == 1 and res["counted"] == 1
    old = env.api.get(f"/voting/receipts/{first['ballot_hash']}").json()
    assert old["current"] is False and old["counted"] is False and old["current_version"] == 2
    new = env.api.get(f"/voting/receipts/{second['ballot_hash']}").json()
    assert new["current"] is True and new["counted"] is True
    # the old signed version can not come back
    assert_error(env.post_ballot(pid, env.sign_ballot(pid, voter, options=[0], version=1)), 409, "MVotingReplayed")


def test_ballots_outside_the_window_are_rejected(env: Env) -> None:
    now = env.now()
    pid = env.create_poll(opens_at=now + 60, closes_at=now + 120, duration_s=None)["poll_id"]
    voter = env.citizens[0]
    early = env.sign_ballot(pid, voter, options=[0])
    body = assert_error(env.post_ballot(pid, early), 409, "MVotingPollNotOpen", "not open yet")
    assert body["details"]["reason"] == "not_open"
    env.travel(70)
    assert env.post_ballot(pid, env.sign_ballot(pid, voter, options=[0])).status_code == 201
    late = env.sign_ballot(pid, env.citizens[1], options=[1])
    env.travel(60)
    assert_error(env.post_ballot(pid, late), 409, "MVotingPollClosed", "closed")
    with pytest.raises(ContractError) as info:
        env.platform.relayer.transact(env.voting.functions.cast(env.ballot_input(pid, late)))
    assert info.value.error_name == "MVotingPollClosed"
    # close: finalize publishes the result
    res = env.api.post(f"/voting/polls/{pid}/finalize").json()
    assert (
        res["finalized"] is True and res["source"] == "PollFinalized" and [o["count"] for o in res["options"]] == [1, 0]
    )
    (event,) = tx_events(env, res["finalized_tx"], "PollFinalized")
    assert list(event["counts"]) == [1, 0] and event["ballots"] == 1 and event["counted"] == 1
    assert_error(env.api.post(f"/voting/polls/{pid}/finalize"), 409, "MVotingAlreadyFinalized")


def test_expired_deadline_is_rejected(env: Env) -> None:
    pid = env.create_poll(duration_s=3000)["poll_id"]
    signed = env.sign_ballot(pid, env.citizens[0], options=[0], ttl_s=10)
    env.travel(30)
    assert_error(env.post_ballot(pid, signed), 422, "MVotingSignatureExpired", "deadline")


def test_ineligible_district_and_age_band_are_rejected_403(env: Env) -> None:
    d1, d14, young = env.citizens[0], env.citizens[6], env.citizens[7]
    pid = env.create_poll(eligibility="districts", districts=[14])["poll_id"]
    assert env.api.get(f"/voting/polls/{pid}").json()["districts"] == [14]
    env.vote(pid, d14, options=[0])
    body = assert_error(
        env.post_ballot(pid, env.sign_ballot(pid, d1, options=[0])), 403, "MVotingNotEligible", "districts"
    )
    assert body["details"]["reason"] == "not_eligible"
    with pytest.raises(ContractError) as info:
        env.platform.relayer.transact(
            env.voting.functions.cast(env.ballot_input(pid, env.sign_ballot(pid, d1, options=[0])))
        )
    assert info.value.error_name == "MVotingNotEligible" and info.value.error_args["voter"] == d1.address

    # born 1980..2000 only: 1960 and 2005 are out, 1990 is in
    pid = env.create_poll(eligibility="age_band", min_birth_year=1980, max_birth_year=2000)["poll_id"]
    env.vote(pid, d1, options=[1])
    assert_error(env.post_ballot(pid, env.sign_ballot(pid, d14, options=[0])), 403, "MVotingNotEligible")
    assert_error(env.post_ballot(pid, env.sign_ballot(pid, young, options=[0])), 403, "MVotingNotEligible")
    assert env.counts(pid) == [0, 1]


def test_non_citizen_and_suspended_voter_are_rejected_403(env: Env) -> None:
    pid = env.create_poll()["poll_id"]
    stranger = Account.create()
    assert_error(
        env.post_ballot(pid, env.sign_ballot(pid, stranger, options=[0])),
        403,
        "MVotingNotCitizen",
        "registered citizen",
    )

    voter = Account.create()
    cid = register(env, voter)
    env.vote(pid, voter, options=[0])
    receipt = suspend(env, cid)
    registry = env.platform.deployment.contract("CitizenRegistry")
    (event,) = registry.events.CitizenSuspended().process_receipt(receipt.raw)
    assert event["args"]["citizenId"] == cid
    body = assert_error(
        env.post_ballot(pid, env.sign_ballot(pid, voter, options=[1])), 403, "MVotingSuspended", "suspended"
    )
    assert body["details"]["reason"] == "suspended"
    with pytest.raises(ContractError) as info:
        env.platform.relayer.transact(
            env.voting.functions.cast(env.ballot_input(pid, env.sign_ballot(pid, voter, options=[1])))
        )
    assert info.value.error_name == "MVotingSuspended" and info.value.error_args["citizenId"] == cid
    assert env.counts(pid) == [1, 0]  # the earlier ballot stays


def test_forged_signature_is_rejected_403(env: Env) -> None:
    pid = env.create_poll()["poll_id"]
    victim, forger = env.citizens[0], Account.create()
    r = env.api.post(f"/voting/polls/{pid}/ballots/typed-data", json={"voter": victim.address, "options": [1]})
    td = r.json()
    forged = eip712.TypedMessage.from_dict(td["typed_data"]).sign(forger)
    ballot = {**td["fields"], "signature": "0x" + forged.hex()}
    body = assert_error(env.post_ballot(pid, ballot), 403, "MVotingInvalidSignature", forger.address)
    assert body["details"]["reason"] == "bad_signature"
    # the victim's real signature with a changed choice does not verify either
    good = env.sign_ballot(pid, victim, options=[1])
    assert_error(env.post_ballot(pid, {**good, "choice": 0}), 403, "MVotingInvalidSignature")
    with pytest.raises(ContractError) as info:
        env.platform.relayer.transact(env.voting.functions.cast(env.ballot_input(pid, {**good, "choice": 0})))
    assert info.value.error_name == "MVotingInvalidSignature" and info.value.error_args["signer"] == victim.address
    # malformed signature: 65 bytes that are not a signature; wrong length is a request error
    assert_error(
        env.post_ballot(pid, {**good, "signature": "0x" + "00" * 65}), 403, "MVotingInvalidSignature", "malformed"
    )
    assert_error(env.post_ballot(pid, {**good, "signature": "0x1234"}), 422, "invalid_input", "signature")
    assert env.counts(pid) == [0, 0]


def test_bad_ballot_inside_a_batch_is_skipped_with_BallotRejected(env: Env) -> None:
    pid = env.create_poll(options=["A", "B"])["poll_id"]
    a, b, c = env.citizens[0], env.citizens[1], env.citizens[2]
    good1 = env.sign_ballot(pid, a, options=[0])
    bad = env.sign_ballot(pid, b, options=[1])
    bad = {
        **bad,
        "signature": "0x"
        + eip712.TypedMessage.from_dict(
            env.api.post(f"/voting/polls/{pid}/ballots/typed-data", json={"voter": b.address, "options": [1]}).json()[
                "typed_data"
            ]
        )
        .sign(Account.create())
        .hex(),
    }
    good2 = env.sign_ballot(pid, c, options=[1])
    batch = [env.ballot_input(pid, x) for x in (good1, bad, good2)]
    receipt = env.platform.relayer.transact(env.voting.functions.castBatch(batch))
    cast = env.voting.events.BallotCast().process_receipt(receipt.raw, errors=DISCARD)
    rejected = env.voting.events.BallotRejected().process_receipt(receipt.raw, errors=DISCARD)
    assert [e["args"]["voter"] for e in cast] == [a.address, c.address]
    (rej,) = rejected
    assert rej["args"]["voter"] == b.address and rej["args"]["reason"] == 5  # BadSignature
    assert rej["args"]["pollId"] == pid
    assert env.counts(pid) == [1, 1]


def test_relay_batches_concurrent_ballots_and_reports_in_batch_rejections(env: Env) -> None:
    """Two ballots with the same version both pass the pre-check; in the batch the second is
    rejected (BallotRejected reason Replayed) and its request gets the 409."""
    pid = env.create_poll(options=["A", "B"])["poll_id"]
    voter = env.citizens[4]
    one = env.sign_ballot(pid, voter, options=[0])
    two = env.sign_ballot(pid, voter, options=[1])
    relay = service.state(env.platform).relay
    f1 = relay.submit(env.ballot_input(pid, one))
    f2 = relay.submit(env.ballot_input(pid, two))
    o1, o2 = f1.result(60), f2.result(60)
    assert o1.accepted and not o2.accepted and o2.reason == 9 and o1.tx_hash == o2.tx_hash and o1.batch_size == 2
    (rej,) = tx_events(env, o1.tx_hash, "BallotRejected")
    assert rej["reason"] == 9 and "0x" + rej["ballotHash"].hex() == two["_digest"]

    # many concurrent API requests share castBatch transactions
    from concurrent.futures import ThreadPoolExecutor

    pid = env.create_poll(options=["A", "B"])["poll_id"]
    voters = env.citizens[:6]
    signed = [env.sign_ballot(pid, v, options=[i % 2]) for i, v in enumerate(voters)]
    with ThreadPoolExecutor(len(signed)) as pool:
        responses = list(pool.map(lambda s: env.post_ballot(pid, s), signed))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    assert len({r.json()["tx_hash"] for r in responses}) < len(responses)
    assert env.counts(pid) == [3, 3]


def test_census_poll_uses_a_merkle_proof(env: Env) -> None:
    outsider_citizen = env.citizens[5]
    members = [env.citizens[0].address, Account.create().address, env.citizens[6].address]
    non_citizen = Account.create()
    members.append(non_citizen.address)
    root = enc.census_root(members)
    pid = env.create_poll(eligibility="census", census_root="0x" + root.hex(), eligible_count=len(members))["poll_id"]
    proof = ["0x" + p.hex() for p in enc.census_proof(members, non_citizen.address)]
    assert enc.verify_census_proof(root, non_citizen.address, [bytes.fromhex(p[2:]) for p in proof])
    rec = env.post_ballot(pid, {**env.sign_ballot(pid, non_citizen, options=[0]), "proof": proof}).json()
    assert rec["citizen_id"] == str(int(non_citizen.address, 16))  # census polls key by address
    proof0 = ["0x" + p.hex() for p in enc.census_proof(members, env.citizens[0].address)]
    env.post_ballot(pid, {**env.sign_ballot(pid, env.citizens[0], options=[1]), "proof": proof0}).raise_for_status()
    # not in the census (even with someone else's proof)
    assert_error(
        env.post_ballot(pid, {**env.sign_ballot(pid, outsider_citizen, options=[0]), "proof": proof0}),
        403,
        "MVotingNotEligible",
    )
    assert_error(env.post_ballot(pid, env.sign_ballot(pid, outsider_citizen, options=[0])), 403, "MVotingNotEligible")
    res = env.results(pid)
    assert [o["count"] for o in res["options"]] == [1, 1] and res["turnout"] == pytest.approx(0.5)


def test_sealed_poll_leaks_nothing_before_close_and_counts_on_reveal(env: Env) -> None:
    poll = env.create_poll(options=["A", "B", "C"], secrecy="sealed", duration_s=120, reveal_window_s=120)
    pid = poll["poll_id"]
    assert poll["reveal_ends_at"] == poll["closes_at"] + 120
    votes = {env.citizens[0]: 2, env.citizens[1]: 2, env.citizens[2]: 0}
    salts: dict[str, bytes] = {}
    receipts = {}
    for voter, choice in votes.items():
        salts[voter.address] = secrets.token_bytes(32)
        commitment = enc.commitment(pid, voter.address, choice, salts[voter.address])
        receipts[voter.address] = env.vote(pid, voter, commitment="0x" + commitment.hex())
    (event,) = tx_events(env, receipts[env.citizens[0].address]["tx_hash"], "BallotCast")
    assert event["choice"] == 0 and event["commitment"] == enc.commitment(
        pid, env.citizens[0].address, 2, salts[env.citizens[0].address]
    )

    # a public-style ballot is refused; no counts anywhere before close
    assert_error(
        env.api.post(
            f"/voting/polls/{pid}/ballots/typed-data", json={"voter": env.citizens[3].address, "options": [0]}
        ),
        422,
        "invalid_input",
        "sealed",
    )
    body = assert_error(env.api.get(f"/voting/polls/{pid}/results"), 403, "MVotingTallySealed", "sealed until close")
    assert "count" not in str(body["details"])
    assert env.api.get(f"/voting/polls/{pid}/results.svg").status_code == 403
    with pytest.raises(ContractError) as info:
        env.platform.relayer.call(env.voting.functions.tallyOf(pid))
    assert info.value.error_name == "MVotingTallySealed"
    receipt = env.api.get(f"/voting/receipts/{receipts[env.citizens[2].address]['ballot_hash']}").json()
    assert receipt["choice"] is None and receipt["counted"] is False and receipt["current"] is True
    a0 = env.citizens[0].address
    assert_error(
        env.api.post(
            f"/voting/polls/{pid}/reveals", json={"voter": a0, "options": [2], "salt": "0x" + salts[a0].hex()}
        ),
        409,
        "MVotingNotRevealable",
        "reveal window",
    )

    env.travel(125)
    res = env.results(pid)  # closed: readable, nothing revealed yet
    assert [o["count"] for o in res["options"]] == [0, 0, 0] and res["ballots"] == 3 and res["counted"] == 0
    assert_error(
        env.api.post(
            f"/voting/polls/{pid}/reveals", json={"voter": a0, "options": [1], "salt": "0x" + salts[a0].hex()}
        ),
        422,
        "MVotingCommitmentMismatch",
    )
    r = env.api.post(f"/voting/polls/{pid}/reveals", json={"voter": a0, "options": [2], "salt": "0x" + salts[a0].hex()})
    assert r.status_code == 200, r.text
    (rev,) = tx_events(env, r.json()["tx_hash"], "BallotRevealed")
    assert rev["voter"] == a0 and rev["choice"] == 2 and rev["salt"] == salts[a0]
    assert_error(
        env.api.post(
            f"/voting/polls/{pid}/reveals", json={"voter": a0, "options": [2], "salt": "0x" + salts[a0].hex()}
        ),
        409,
        "MVotingAlreadyRevealed",
    )
    a1 = env.citizens[1].address
    env.api.post(
        f"/voting/polls/{pid}/reveals", json={"voter": a1, "choice": 2, "salt": "0x" + salts[a1].hex()}
    ).raise_for_status()
    assert env.counts(pid) == [0, 0, 2]
    assert env.api.get(f"/voting/receipts/{receipts[a0]['ballot_hash']}").json()["counted"] is True
    assert_error(env.api.post(f"/voting/polls/{pid}/finalize"), 409, "MVotingPollNotEnded", "reveal window")
    env.travel(125)
    res = env.api.post(f"/voting/polls/{pid}/finalize").json()
    assert (
        [o["count"] for o in res["options"]] == [0, 0, 2] and res["ballots"] == 3 and res["counted"] == 2
    )  # one never revealed
    env.extra["sealed_poll"] = pid


def test_approval_and_ranked_encodings(env: Env) -> None:
    assert enc.encode_choice("ranked", [2, 0, 5], 6, 3) == 0x060103
    assert enc.decode_choice("ranked", 0x060103) == [2, 0, 5]
    assert enc.encode_choice("approval", [0, 3], 4, 2) == 0b1001
    pid = env.create_poll(options=["A", "B", "C", "D"], ballot_type="approval", max_choices=2)["poll_id"]
    env.vote(pid, env.citizens[0], options=[0, 3])
    env.vote(pid, env.citizens[1], options=[3])
    assert env.counts(pid) == [1, 0, 0, 2]
    assert_error(
        env.api.post(
            f"/voting/polls/{pid}/ballots/typed-data", json={"voter": env.citizens[2].address, "options": [0, 1, 2]}
        ),
        422,
        "invalid_input",
        "at most 2",
    )
    assert_error(
        env.api.post(
            f"/voting/polls/{pid}/ballots/typed-data", json={"voter": env.citizens[2].address, "choice": 0b10000}
        ),
        422,
        "MVotingInvalidChoice",
    )
    # an invalid encoded choice signed anyway is refused by the contract's pre-check
    td = service.ballot_typed_message(
        env.platform, pid, env.citizens[2].address, 0b0111, b"\0" * 32, 1, env.now() + 600
    )
    raw = {
        "voter": env.citizens[2].address,
        "choice": 0b0111,
        "version": 1,
        "deadline": td.message["deadline"],
        "signature": "0x" + td.sign(env.citizens[2]).hex(),
    }
    assert_error(env.post_ballot(pid, raw), 422, "MVotingInvalidChoice")

    pid = env.create_poll(options=["A", "B", "C"], ballot_type="ranked", max_choices=3)["poll_id"]
    env.vote(pid, env.citizens[0], options=[2, 0, 1])  # C 3, A 2, B 1
    env.vote(pid, env.citizens[1], options=[0])  # A 3
    env.vote(pid, env.citizens[2], options=[1, 2])  # B 3, C 2
    res = env.results(pid)
    assert [o["count"] for o in res["options"]] == [5, 4, 5] and res["winner"] == [0, 2]
    # changing a ranked ballot undoes its points
    env.vote(pid, env.citizens[1], options=[1, 0])
    assert env.counts(pid) == [4, 7, 5]
    env.extra["ranked_poll"] = pid


def test_recount_equals_the_published_result(env: Env, tmp_path: Path) -> None:
    pid = env.create_poll(options=["A", "B", "C"], ballot_type="ranked", max_choices=2, duration_s=60)["poll_id"]
    env.vote(pid, env.citizens[0], options=[1, 0])
    env.vote(pid, env.citizens[1], options=[2])
    env.vote(pid, env.citizens[1], options=[0, 2])  # replaced
    # running tally (not yet final)
    platform = env.platform
    server = TrustedDeployment.from_platform(platform)
    running = recount_trusted(server, pid)
    assert running.published_source == "tallyOf" and running.matches, running.problems
    assert running.deployment["manifest"] == "server deployment"
    assert running.deployment["contracts"] == {"MVoting": platform.deployment.address("MVoting")}
    env.travel(65)
    published = env.api.post(f"/voting/polls/{pid}/finalize").json()
    counts = [o["count"] for o in published["options"]]
    assert counts == [3, 2, 1]
    manifest = platform.deployment.manifest_path
    for poll_id in [pid, *(env.extra[k] for k in ("sealed_poll", "ranked_poll") if k in env.extra)]:
        if env.anvil_url is not None:
            result = recount_rpc(env.anvil_url, poll_id, manifest=manifest)  # only the node URL + the manifest
            assert result.deployment["manifest"] == str(manifest)
        else:
            result = recount_trusted(server, poll_id)
        assert result.matches, result.problems
        assert result.created.block_number >= platform.deployment.entries["MVoting"]["block"]
    final = recount_rpc(env.anvil_url, pid, manifest=manifest) if env.anvil_url else recount_trusted(server, pid)
    assert final.published_source == "PollFinalized" and final.recomputed_counts == counts and final.ballots == 2

    if env.anvil_url is None:
        # Chain-only: the manifest carries the ABIs, so the command needs no build and no compiler
        # (an empty build directory and no `node` on PATH); the server's /rpc is the node here.
        empty = tmp_path / "no-build"
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "civic_ledger.cli",
                "voting",
                "recount",
                str(pid),
                "--rpc-url",
                f"{env.api.base_url}/rpc",
                "--manifest",
                str(manifest),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "CIVIC_BUILD_DIR": str(empty), "PATH": str(Path(sys.executable).parent)},
        )
        assert run.returncode == 0, run.stderr
        assert "matches" in run.stdout and "PollFinalized" in run.stdout
        assert not empty.exists() or not any(empty.iterdir())  # nothing was compiled
    if env.anvil_url is not None:
        from civic_ledger.cli import app

        out = CliRunner().invoke(
            app, ["voting", "recount", str(pid), "--rpc-url", env.anvil_url, "--manifest", str(manifest)]
        )
        assert out.exit_code == 0, out.output
        assert "matches" in out.output and "PollFinalized" in out.output
        bad = CliRunner().invoke(
            app, ["voting", "recount", "999", "--rpc-url", env.anvil_url, "--manifest", str(manifest)]
        )
        assert bad.exit_code == 1 and "does not exist" in bad.output


def test_api_errors_are_clear_4xx(env: Env) -> None:
    assert_error(env.api.get("/voting/polls/9999"), 404, "MVotingUnknownPoll", "9999")
    assert_error(env.api.get("/voting/polls/9999/results"), 404, "MVotingUnknownPoll")
    assert_error(
        env.api.post("/voting/polls/9999/ballots/typed-data", json={"voter": env.citizens[0].address, "options": [0]}),
        404,
        "MVotingUnknownPoll",
    )
    pid = env.create_poll()["poll_id"]
    assert_error(
        env.api.post(f"/voting/polls/{pid}/ballots/typed-data", json={"voter": "0x123", "options": [0]}),
        422,
        "invalid_input",
        "voter",
    )
    assert_error(
        env.api.post(
            f"/voting/polls/{pid}/ballots/typed-data", json={"voter": env.citizens[0].address, "options": [5]}
        ),
        422,
        "invalid_input",
        "option 5",
    )
    assert_error(
        env.api.post(
            f"/voting/polls/{pid}/ballots/typed-data",
            json={"voter": env.citizens[0].address, "options": [0], "choice": 0},
        ),
        422,
        "invalid_input",
        "not both",
    )
    assert_error(
        env.api.post(f"/voting/polls/{pid}/ballots/typed-data", json={"voter": env.citizens[0].address}),
        422,
        "invalid_input",
        "options",
    )
    assert_error(
        env.api.post(
            f"/voting/polls/{pid}/reveals",
            json={"voter": env.citizens[0].address, "options": [0], "salt": "0x" + "00" * 32},
        ),
        409,
        "MVotingNotRevealable",
        "public",
    )
    assert_error(env.api.post(f"/voting/polls/{pid}/finalize"), 409, "MVotingPollNotEnded", "closes")
    assert_error(
        env.api.post(f"/voting/polls/{pid}/ballots", json={"voter": env.citizens[0].address}),
        422,
        "invalid_input",
        "version",
    )
    assert_error(env.api.get("/voting/polls/0"), 422, "invalid_input", "poll_id")


def test_cli_create_vote_receipt_results_reveal(embedded_env: Env, tmp_path: Path) -> None:
    from civic_ledger.cli import app

    env = embedded_env
    url = str(env.api.base_url).rstrip("/")
    admin_ks, voter_ks = tmp_path / "agency.json", tmp_path / "citizen.json"
    voter = env.citizens[5]
    admin_ks.write_text(json.dumps(Account.encrypt(env.admin.key, "pw", iterations=2)))
    voter_ks.write_text(json.dumps(Account.encrypt(voter.key, "pw", iterations=2)))
    run = CliRunner().invoke
    common = ["--api", url, "--password", "pw"]

    out = run(
        app,
        [
            "voting",
            "create",
            "Bike lanes on Jong-ro?",
            "-o",
            "Yes",
            "-o",
            "No",
            "-k",
            str(admin_ks),
            "--duration",
            "600",
            *common,
        ],
    )
    assert out.exit_code == 0, out.output
    pid = int(re.search(r"poll (\d+)", out.output).group(1))  # type: ignore[union-attr]
    out = run(
        app, ["voting", "vote", str(pid), "-o", "1", "-k", str(voter_ks), "--save", str(tmp_path / "b1.json"), *common]
    )
    assert out.exit_code == 0, out.output
    assert "ballot accepted" in out.output and "No" in out.output
    ballot_hash = re.search(r"ballot_hash\s+│?\s*(0x[0-9a-f]{64})", out.output).group(1)  # type: ignore[union-attr]
    out = run(app, ["voting", "receipt", ballot_hash, "--api", url])
    assert out.exit_code == 0 and "yes" in out.output, out.output
    out = run(app, ["voting", "results", str(pid), "--api", url, "--svg", str(tmp_path / "r.svg")])
    assert out.exit_code == 0, out.output
    assert "Bike lanes" in out.output and (tmp_path / "r.svg").read_text().startswith("<svg")
    assert env.counts(pid) == [0, 1]
    out = run(app, ["voting", "list", "--api", url])
    assert out.exit_code == 0 and "Bike lanes" in out.output
    out = run(app, ["voting", "show", str(pid), "--api", url])
    assert out.exit_code == 0 and "Yes" in out.output
    # errors are one line, exit code 1
    out = run(app, ["voting", "vote", str(pid), "-o", "7", "-k", str(voter_ks), *common])
    assert out.exit_code == 1 and "option 7" in out.output
    out = run(app, ["voting", "vote", str(pid), "-o", "0", "-k", str(voter_ks), "--api", url, "--password", "wrong"])
    assert out.exit_code == 1 and "wrong password" in out.output

    # sealed: the salt stays next to the keystore; reveal after close
    out = run(
        app,
        [
            "voting",
            "create",
            "Sealed?",
            "-o",
            "A",
            "-o",
            "B",
            "-k",
            str(admin_ks),
            "--duration",
            "100",
            "--sealed",
            "--reveal-window",
            "100",
            *common,
        ],
    )
    assert out.exit_code == 0, out.output
    sid = int(re.search(r"poll (\d+)", out.output).group(1))  # type: ignore[union-attr]
    out = run(
        app, ["voting", "vote", str(sid), "-o", "0", "-k", str(voter_ks), "--save", str(tmp_path / "b2.json"), *common]
    )
    assert out.exit_code == 0, out.output
    out = run(app, ["voting", "results", str(sid), "--api", url])
    assert out.exit_code == 1 and "sealed until close" in out.output
    env.travel(105)
    out = run(app, ["voting", "reveal", str(sid), "-k", str(voter_ks), "--api", url])
    assert out.exit_code == 0, out.output
    env.travel(105)
    out = run(app, ["voting", "close", str(sid), "--api", url])
    assert out.exit_code == 0, out.output
    assert env.counts(sid) == [1, 0]


def test_bad_input_is_a_4xx_naming_the_problem_never_a_500(embedded_env: Env) -> None:
    env = embedded_env
    base = {"question": "Q?", "options": ["Yes", "No"], "duration_s": 300, "creator": env.admin.address}
    # Times past uint64 (given, or computed from a duration) failed building the typed data (500).
    for extra, field_name in [
        ({"opens_at": 2**64}, "opens_at"),
        ({"closes_at": 2**70}, "closes_at"),
        ({"duration_s": 2**64}, "duration_s"),
        ({"secrecy": "sealed", "reveal_ends_at": 2**64}, "reveal_ends_at"),
        ({"secrecy": "sealed", "reveal_window_s": 2**64}, "reveal_window_s"),
    ]:
        r = env.api.post("/voting/polls/typed-data", json={**base, **extra})
        assert_error(r, 422, "invalid_input", field_name)
    r = env.api.post("/voting/polls/typed-data", json={**base, "duration_s": 2**64 - 1})
    assert_error(r, 422, "invalid_input", "closes_at would be", "2**64 - 1")
    r = env.api.post(
        "/voting/polls/typed-data",
        json={**base, "secrecy": "sealed", "duration_s": 2**63, "reveal_window_s": 2**63},
    )
    assert_error(r, 422, "invalid_input", "reveal_ends_at would be")
    # An option with an unpaired surrogate could not be UTF-8 encoded for the typed data (500).
    body = json.dumps({**base, "options": ["\ud800", "b"]})
    r = env.api.post("/voting/polls/typed-data", content=body, headers={"content-type": "application/json"})
    assert_error(r, 422, "invalid_input", "options.0", "unpaired surrogate")

    # A signed poll whose nonce / deadline / districts do not fit the contract types (500 before).
    fields = env.api.post("/voting/polls/typed-data", json=base).json()["fields"]
    signed = {**fields, "signature": "0x" + "11" * 65}
    for extra, field_name in [({"nonce": 2**256}, "nonce"), ({"deadline": 2**300}, "deadline")]:
        assert_error(env.api.post("/voting/polls", json={**signed, **extra}), 422, "invalid_input", field_name)
    r = env.api.post("/voting/polls", json={**signed, "districts": [99]})
    assert_error(r, 422, "invalid_input", "district 99 is not a district code")
    body = json.dumps({**signed, "options": ["\udfff", "x"]})
    r = env.api.post("/voting/polls", content=body, headers={"content-type": "application/json"})
    assert_error(r, 422, "invalid_input", "unpaired surrogate")
    assert env.api.get("/voting/polls/999999").status_code == 404
