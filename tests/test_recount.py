"""Recount re-checks every counted ballot: its EIP-712 signature from calldata, the voter's
eligibility from the registry's history at the ballot, the voting window (issue 19, item 3).

One platform per chain for the module (embedded and a private anvil); the embedded chain is also
read through the server's ``/rpc``, as an outside verifier would.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform
from civic_ledger.platform.trust import TrustedDeployment
from civic_ledger.voting import ballots as enc
from civic_ledger.voting import service
from civic_ledger.voting.recount import (
    LogRef,
    Recount,
    VoterBallot,
    VotingLogs,
    recount,
    recount_rpc,
    recount_trusted,
    struct_dict,
)
from civic_ledger.voting.recount_checks import (
    BallotVerifier,
    CalldataBallot,
    PollRules,
    Standing,
    ballot_digest,
    ballot_domain,
    eligibility_failure,
    recover_signer,
    signature_failure,
    window_failure,
)
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import (
    REGISTER_TYPES,
    SUSPEND_TYPES,
    _registry_typed,
    citizen_id_of,
    grant_role,
    make_registrar,
    recover_key,
    register_citizen,
    suspend_citizen,
)


@dataclass
class Env:
    platform: Platform
    api: httpx.Client
    rpc: str  # a JSON-RPC URL of the chain: anvil's, or the server's /rpc on the embedded chain
    registrar: LocalAccount
    admin: LocalAccount
    citizens: list[LocalAccount]

    @property
    def voting(self) -> Any:
        return self.platform.deployment.contract("MVoting")

    @property
    def registry(self) -> Any:
        return self.platform.deployment.contract("CitizenRegistry")

    def create_poll(self, **draft: Any) -> int:
        body = {"question": "Q?", "options": ["A", "B", "C"], "duration_s": 600, "creator": self.admin.address, **draft}
        r = self.api.post("/voting/polls/typed-data", json=body)
        assert r.status_code == 200, r.text
        td = r.json()
        signature = eip712.TypedMessage.from_dict(td["typed_data"]).sign(self.admin)
        r = self.api.post("/voting/polls", json={**td["fields"], "signature": "0x" + signature.hex()})
        assert r.status_code == 201, r.text
        return int(r.json()["poll_id"])

    def signed(self, poll_id: int, voter: LocalAccount, proof: list[bytes] | None = None, **draft: Any) -> tuple:
        r = self.api.post(f"/voting/polls/{poll_id}/ballots/typed-data", json={"voter": voter.address, **draft})
        assert r.status_code == 200, r.text
        f = r.json()["fields"]
        signature = eip712.TypedMessage.from_dict(r.json()["typed_data"]).sign(voter)
        commitment = bytes.fromhex(f["commitment"][2:])
        return (
            poll_id,
            f["voter"],
            int(f["choice"]),
            commitment,
            int(f["version"]),
            int(f["deadline"]),
            signature,
            proof or [],
        )

    def cast_batch(self, ballots: list[tuple]) -> str:
        """One castBatch transaction carrying every ballot (sent straight to the contract)."""
        receipt = self.platform.relayer.transact(self.voting.functions.castBatch(ballots))
        cast = self.voting.events.BallotCast().process_receipt(receipt.raw, errors=DISCARD)
        assert len(cast) == len(ballots), "a ballot of the batch was rejected"
        return receipt.tx_hash

    def vote(self, poll_id: int, voter: LocalAccount, **draft: Any) -> dict[str, Any]:
        r = self.api.post(f"/voting/polls/{poll_id}/ballots/typed-data", json={"voter": voter.address, **draft})
        td = r.json()
        signature = eip712.TypedMessage.from_dict(td["typed_data"]).sign(voter)
        r = self.api.post(
            f"/voting/polls/{poll_id}/ballots", json={**td["fields"], "signature": "0x" + signature.hex()}
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    def trusted(self) -> TrustedDeployment:
        return TrustedDeployment.from_platform(self.platform)

    def recount_outside(self, poll_id: int) -> Recount:
        """What an outsider gets: only a node URL and the manifest."""
        return recount_rpc(self.rpc, poll_id, manifest=self.platform.deployment.manifest_path)


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with (
        module_chain(request, own_anvil=True) as chain,
        started_platform(chain, tmp_path_factory.mktemp("recount")) as platform,
        LiveServer(platform) as server,
    ):
        try:
            registrar = make_registrar(platform)
            admin = Account.create()
            grant_role(platform, "MVoting", "POLL_ADMIN_ROLE", admin.address)
            citizens = [Account.create() for _ in range(6)]
            # 0..3: district 1, born 1990; 4: district 14, born 1960; 5: district 3, born 2005
            for i, c in enumerate(citizens):
                district, year = (1, 1990) if i < 4 else ((14, 1960) if i == 4 else (3, 2005))
                register_citizen(platform, registrar, c.address, district=district, birth_year=year)
            rpc = f"{server.url}/rpc" if chain == "embedded" else chain
            with server.client() as client:
                yield Env(platform, client, rpc, registrar, admin, citizens)
        finally:
            service.close(platform)


def assert_all_pass(result: Recount, ballots: int) -> None:
    assert result.matches and result.verdict == "matches", result.problems
    for name in ("signature", "eligibility", "window"):
        check = result.checks[name]
        assert (check.checked, check.passed, check.failures) == (ballots, ballots, []), (name, check)


# -- the checks pass on a normal poll ----------------------------------------------------------------


def test_every_counted_ballot_passes_signature_eligibility_and_window_checks(env: Env) -> None:
    # districts 1 and 14, born 1950..2000: citizens 0..4 may vote
    pid = env.create_poll(eligibility="districts", districts=[1, 14], min_birth_year=1950, max_birth_year=2000)
    voters = env.citizens[:5]
    env.cast_batch([env.signed(pid, v, options=[i % 3]) for i, v in enumerate(voters)])
    env.vote(pid, voters[0], options=[2])  # replaced through the API's relay: version 2 counts
    result = recount_trusted(env.trusted(), pid)
    assert_all_pass(result, 5)
    assert result.ballots_seen == 6 and result.recomputed_counts == [1, 2, 2]
    assert result.transactions_read == 2  # the five-ballot castBatch is read once
    rule = result.checks["eligibility"].rule
    assert env.registry.address in rule and "eligibilityOf" in rule

    outside = env.recount_outside(pid)  # anvil, or the embedded chain through the server's /rpc
    assert_all_pass(outside, 5)
    assert outside.to_dict()["checks"] == result.to_dict()["checks"]
    out = json.loads(json.dumps(outside.to_dict()))  # what `voting recount --json` prints
    assert out["matches"] is True and out["verdict"] == "matches" and out["checks_pass"] is True
    sig = out["checks"]["signature"]
    assert (sig["checked"], sig["passed"], sig["failed"], sig["ok"]) == (5, 5, 0, True)

    # without a trusted registry ABI: the registry MVoting names, read with the eligibilityOf ABI alone
    bare = recount(env.platform.chain.w3, env.voting, pid)
    assert_all_pass(bare, 5)


def test_a_sealed_poll_checks_the_signed_commitments(env: Env) -> None:
    pid = env.create_poll(secrecy="sealed", duration_s=600, reveal_window_s=600)
    salt = b"\x07" * 32
    for voter in env.citizens[:2]:
        commitment = enc.commitment(pid, voter.address, 1, salt)
        env.vote(pid, voter, commitment="0x" + commitment.hex())
    result = recount_trusted(env.trusted(), pid)
    # nothing is published before close, but both signed commitments and voters are checked
    assert result.verdict == "unpublished" and result.checks_pass
    assert [result.checks[n].passed for n in ("signature", "eligibility", "window")] == [2, 2, 2]


# -- history, not today's state -----------------------------------------------------------------------


def test_a_voter_suspended_or_moved_after_voting_was_eligible_at_the_ballot(env: Env) -> None:
    pid = env.create_poll(eligibility="districts", districts=[1])
    suspended, moved = env.citizens[2], env.citizens[3]
    env.cast_batch([env.signed(pid, suspended, options=[0]), env.signed(pid, moved, options=[1])])
    ballot_block = int(env.platform.chain.w3.eth.block_number)
    suspend_citizen(env.platform, env.registrar, suspended.address)
    new_key = Account.create()
    recover_key(env.platform, env.registrar, moved.address, new_key.address)
    # today: one suspended, the other key is no longer bound
    reg = env.registry.functions
    assert reg.eligibilityOf(suspended.address).call()[1] is False
    assert reg.eligibilityOf(moved.address).call()[0] == 0
    # the server's /rpc answers eth_call at a past block (hex block number) with the past state
    data = env.registry.encode_abi("eligibilityOf", [suspended.address])
    call = {"to": env.registry.address, "input": data}
    then, now = (
        httpx.post(env.rpc, json={"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, tag]}).json()
        for tag in (hex(ballot_block), "latest")
    )
    active_then, active_now = (int(r["result"][2 + 64 : 2 + 128], 16) for r in (then, now))
    assert (active_then, active_now) == (1, 0)

    for result in (recount_trusted(env.trusted(), pid), env.recount_outside(pid)):
        assert_all_pass(result, 2)


# -- census polls ------------------------------------------------------------------------------------


def test_census_ballots_are_checked_against_the_census_root_with_their_calldata_proof(env: Env) -> None:
    outsider = Account.create()  # not a citizen: census polls do not consult the registry
    members = [env.citizens[0].address, outsider.address, Account.create().address]
    root = enc.census_root(members)
    pid = env.create_poll(eligibility="census", census_root="0x" + root.hex(), eligible_count=len(members))
    env.cast_batch(
        [
            env.signed(pid, voter, proof=enc.census_proof(members, voter.address), options=[i])
            for i, voter in enumerate((env.citizens[0], outsider))
        ]
    )
    result = env.recount_outside(pid)
    assert_all_pass(result, 2)
    assert "census root" in result.checks["eligibility"].rule

    # the same ballots checked against another census root: each is reported with its ballot hash
    trusted = env.trusted()
    rules = dataclasses.replace(poll_rules(env, pid), census_root=enc.census_root(members[1:]))
    casts = current_casts(env, pid)
    reports = BallotVerifier(trusted.w3, trusted.contract("MVoting"), None, trusted.chain_id, rules).run(casts)
    eligibility = reports["eligibility"]
    assert (eligibility.checked, eligibility.passed) == (2, 0) and reports["signature"].ok
    assert {f.ballot_hash for f in eligibility.failures} == {"0x" + c.ballot_hash.hex() for c in casts}
    assert all("does not lead from" in f.reason for f in eligibility.failures)


# -- what the checks report when something is wrong ---------------------------------------------------


def poll_rules(env: Env, pid: int) -> PollRules:
    fn = env.voting.get_function_by_name("getPoll")
    return PollRules.from_poll(pid, struct_dict(fn.abi["outputs"][0]["components"], fn(pid).call()))


def current_casts(env: Env, pid: int) -> list[VoterBallot]:
    """The current BallotCast of each voter, as the recount reads them."""
    last: dict[int, VoterBallot] = {}
    logs = VotingLogs(env.platform.chain.w3, env.voting)
    for a, where in logs.fetch("BallotCast", poll_id=pid, from_block=env.trusted().deploy_block("MVoting")):
        cast = VoterBallot(
            a["voter"],
            int(a["citizenId"]),
            int(a["version"]),
            int(a["choice"]),
            bytes(a["commitment"]),
            bytes(a["ballotHash"]),
            where,
        )
        last[cast.citizen_id] = cast
    return list(last.values())


def test_a_tampered_ballot_fails_the_signature_check(env: Env) -> None:
    """The contract refuses every forged ballot, so the check is shown to catch one on the real
    ballot of a real transaction, altered as a lying node or a wrong decode would alter it."""
    pid = env.create_poll()
    voter = env.citizens[1]
    env.cast_batch([env.signed(pid, voter, options=[1]), env.signed(pid, env.citizens[0], options=[0])])
    (cast,) = [c for c in current_casts(env, pid) if c.voter == voter.address]
    trusted = env.trusted()
    verifier = BallotVerifier(trusted.w3, trusted.contract("MVoting"), None, trusted.chain_id, poll_rules(env, pid))
    (ballot,) = [b for b in verifier._tx(cast.where.tx_hash).ballots or [] if b.voter == voter.address]
    domain = ballot_domain(trusted.chain_id, trusted.address("MVoting"))
    assert signature_failure(domain, ballot, cast) is None
    assert recover_signer(bytes(cast.ballot_hash), ballot.signature) == voter.address

    # the choice changed in the calldata only: differs from the event, and the signature recovers to someone else
    changed = dataclasses.replace(ballot, choice=2)
    reason = signature_failure(domain, changed, cast)
    assert reason is not None and "choice 2 in the calldata, 1 in BallotCast" in reason
    assert f"recovers to {recover_signer(ballot_digest(domain, changed), ballot.signature)}, not to the voter" in reason
    # changed in the calldata and the event alike, even with a matching ballotHash: the signer differs
    forged_cast = dataclasses.replace(cast, choice=2, ballot_hash=ballot_digest(domain, changed))
    reason = signature_failure(domain, changed, forged_cast)
    assert reason is not None and reason.startswith("its signature recovers to") and voter.address in reason
    # another contract's domain (or another chain's) does not give the signed digest
    other = ballot_domain(trusted.chain_id + 1, trusted.address("MVoting"))
    assert "BallotCast's ballotHash" in str(signature_failure(other, ballot, cast))
    # malformed or high-s signatures are refused as OpenZeppelin's ECDSA refuses them
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    r, s, v = ballot.signature[:32], int.from_bytes(ballot.signature[32:64], "big"), ballot.signature[64]
    high_s = r + (n - s).to_bytes(32, "big") + bytes([55 - v])  # the malleable twin: same signer to ecrecover
    assert recover_signer(bytes(cast.ballot_hash), high_s) is None
    assert "not a valid 65-byte low-s" in str(
        signature_failure(domain, dataclasses.replace(ballot, signature=high_s), cast)
    )
    assert recover_signer(bytes(cast.ballot_hash), ballot.signature[:64]) is None

    # end to end: the verifier reports the failure with the ballot hash, and the recount does not match
    verifier._tx(cast.where.tx_hash).ballots = [
        dataclasses.replace(b, choice=2) if b.voter == voter.address else b
        for b in verifier._tx(cast.where.tx_hash).ballots or []
    ]
    reports = verifier.run(current_casts(env, pid))
    assert (reports["signature"].checked, reports["signature"].passed) == (2, 1)
    (failure,) = reports["signature"].failures
    assert failure.ballot_hash == "0x" + cast.ballot_hash.hex() and failure.tx_hash == cast.where.tx_hash
    result = recount_trusted(trusted, pid)
    assert result.matches
    result.checks = reports
    assert (
        not result.matches and result.verdict == "mismatch" and result.to_dict()["checks"]["signature"]["failed"] == 1
    )


def test_eligibility_rules_mirror_the_contract() -> None:
    voter = Account.create().address
    cast = VoterBallot(voter, 7, 1, 0, b"\0" * 32, b"\1" * 32, LogRef(10, "0x" + "ab" * 32, 0))
    ballot = CalldataBallot(1, voter, 0, b"\0" * 32, 1, 10**10, b"", ())
    rules = PollRules(1, "districts", 1 << 1 | 1 << 14, 1950, 2000, b"\0" * 32, 100, 200)

    def standing(**kw: Any) -> Standing:
        return Standing(**{"citizen_id": 7, "active": True, "district": 1, "birth_year": 1990, "block": 9, **kw})

    assert eligibility_failure(rules, ballot, cast, standing()) is None
    assert "not the current key" in str(eligibility_failure(rules, ballot, cast, standing(citizen_id=0)))
    assert "was citizen 8" in str(eligibility_failure(rules, ballot, cast, standing(citizen_id=8)))
    assert "suspended at block 9" in str(eligibility_failure(rules, ballot, cast, standing(active=False)))
    assert "district 3" in str(eligibility_failure(rules, ballot, cast, standing(district=3)))
    assert "before the poll's band" in str(eligibility_failure(rules, ballot, cast, standing(birth_year=1949)))
    assert "after the poll's band" in str(eligibility_failure(rules, ballot, cast, standing(birth_year=2001)))
    assert eligibility_failure(rules, ballot, cast, standing(birth_year=2000)) is None  # inclusive bounds
    open_rules = dataclasses.replace(
        rules, eligibility="all_citizens", district_mask=0, min_birth_year=0, max_birth_year=0
    )
    assert eligibility_failure(open_rules, ballot, cast, standing(district=25, birth_year=2020)) is None

    members = [voter, Account.create().address]
    census = dataclasses.replace(open_rules, eligibility="census", census_root=enc.census_root(members))
    keyed = dataclasses.replace(cast, citizen_id=int(voter, 16))
    proved = dataclasses.replace(ballot, proof=tuple(enc.census_proof(members, voter)))
    assert eligibility_failure(census, proved, keyed, None) is None
    assert "does not lead from" in str(eligibility_failure(census, ballot, keyed, None))
    assert "keyed by the voter address" in str(eligibility_failure(census, proved, cast, None))

    assert window_failure(rules, ballot, 100) is None and window_failure(rules, ballot, 199) is None
    assert "before the poll opened" in str(window_failure(rules, ballot, 99))
    assert "after the poll closed" in str(window_failure(rules, ballot, 200))
    late = dataclasses.replace(ballot, deadline=150)
    assert "after the ballot's deadline" in str(window_failure(rules, late, 151))


def test_registry_changes_in_the_ballots_own_block_are_ordered_by_transaction(env: Env) -> None:
    """One block holds, in this order: a registration, a castBatch with that new citizen's ballot
    and another's, and the other's suspension. The new citizen is checked on the block's state,
    the suspended one on the parent's: both were eligible when the batch ran."""
    if env.platform.chain.is_embedded:
        pytest.skip("needs a node whose mining can be paused (anvil)")
    w3, p = env.platform.chain.w3, env.platform
    pid = env.create_poll(eligibility="districts", districts=[1])
    staying, newcomer = env.citizens[1], Account.create()
    sender = Account.create()
    w3.provider.make_request("anvil_setBalance", [sender.address, hex(10**20)])
    reg = env.registry
    registrar_nonce = reg.functions.nonces(env.registrar.address).call()
    deadline = eip712.deadline(now=p.chain.now())
    record = b"\x05" * 32
    register = {
        "account": newcomer.address,
        "district": 1,
        "birthYear": 1990,
        "residency": 1,
        "recordHash": record,
        "registrar": env.registrar.address,
        "nonce": registrar_nonce,
        "deadline": deadline,
    }
    reg_sig = _registry_typed(p, "RegisterCitizen", REGISTER_TYPES, register).sign(env.registrar)
    staying_id = citizen_id_of(p, staying.address)
    suspend = {
        "citizenId": staying_id,
        "reason": 1,
        "registrar": env.registrar.address,
        "nonce": registrar_nonce + 1,
        "deadline": deadline,
    }
    sus_sig = _registry_typed(p, "SuspendCitizen", SUSPEND_TYPES, suspend).sign(env.registrar)
    ballots = []
    for voter, choice in ((newcomer, 0), (staying, 1)):
        typed = service.ballot_typed_message(p, pid, voter.address, choice, b"\0" * 32, 1, deadline)
        ballots.append((pid, voter.address, choice, b"\0" * 32, 1, deadline, typed.sign(voter), []))
    calls = [
        reg.functions.registerCitizen(
            newcomer.address, 1, 1990, 1, record, env.registrar.address, registrar_nonce, deadline, reg_sig
        ),
        env.voting.functions.castBatch(ballots),
        reg.functions.suspendCitizen(staying_id, 1, env.registrar.address, registrar_nonce + 1, deadline, sus_sig),
    ]
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        hashes = []
        for nonce, fn in enumerate(calls, start=w3.eth.get_transaction_count(sender.address)):
            tx = fn.build_transaction(
                {"from": sender.address, "nonce": nonce, "gas": 2_000_000, "chainId": w3.eth.chain_id}
            )
            hashes.append(w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction))
        w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    receipts = [w3.eth.wait_for_transaction_receipt(h) for h in hashes]
    assert len({r["blockNumber"] for r in receipts}) == 1 and all(r["status"] == 1 for r in receipts)
    block = receipts[0]["blockNumber"]
    assert [r["transactionIndex"] for r in receipts] == [0, 1, 2]
    assert len(env.voting.events.BallotCast().process_receipt(receipts[1], errors=DISCARD)) == 2
    # neither the block's state nor its parent's holds both voters as active citizens
    assert reg.functions.eligibilityOf(newcomer.address).call(block_identifier=block - 1)[0] == 0
    assert reg.functions.eligibilityOf(staying.address).call(block_identifier=block)[1] is False

    result = recount_trusted(env.trusted(), pid)
    assert_all_pass(result, 2)

    # had the newcomer's record also changed after the batch in that block, its state at the
    # ballot could not be read with eth_call: the check fails and says so
    trusted = env.trusted()
    verifier = BallotVerifier(
        trusted.w3,
        trusted.contract("MVoting"),
        trusted.contract("CitizenRegistry"),
        trusted.chain_id,
        poll_rules(env, pid),
    )
    newcomer_id = citizen_id_of(p, newcomer.address)
    verifier._changes[block] = [*verifier._registry_changes(block), (3, newcomer_id)]
    reports = verifier.run(current_casts(env, pid))
    (failure,) = reports["eligibility"].failures
    assert failure.citizen_id == newcomer_id and "both before and after the ballot" in failure.reason
