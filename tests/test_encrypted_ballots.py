"""Encrypted polls (issue 13): trustees' dealer-free DKG, encrypted ballots with proofs checked on
chain, threshold decryption of the tally only, publication checked against count·G, recount.

One platform per chain for the module (a private anvil: these tests move chain time); each test
makes its own polls relative to chain time. Voters and trustees run the client side
(:mod:`civic_ledger.voting.encrypted_client`) against the live API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import given, settings
from hypothesis import strategies as st
from web3.logs import DISCARD

from civic_ledger.errors import ContractError
from civic_ledger.platform.runtime import Platform
from civic_ledger.platform.trust import TrustedDeployment
from civic_ledger.voting import dkg, elgamal, service
from civic_ledger.voting import encrypted_client as client
from civic_ledger.voting.recount import recount_trusted
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import assert_error, grant_role, make_registrar, register_citizen, travel


class ApiError(Exception):
    def __init__(self, r: httpx.Response) -> None:
        super().__init__(r.text)
        self.response = r
        self.status = r.status_code
        self.body = r.json()


class Api:
    """The client's API adapter over the live server: JSON in, JSON out, errors raised."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def _ok(self, r: httpx.Response) -> Any:
        if r.status_code >= 400:
            raise ApiError(r)
        return r.json()

    def get(self, path: str) -> Any:
        return self._ok(self.http.get(path))

    def post(self, path: str, body: Any) -> Any:
        return self._ok(self.http.post(path, json=body))


@dataclass
class Env:
    platform: Platform
    http: httpx.Client
    api: Api
    admin: LocalAccount
    trustees: list[LocalAccount]
    citizens: list[LocalAccount]
    secrets_dir: Path
    data_dir: Path
    log_records: list[str] = field(default_factory=list)

    def now(self) -> int:
        return service.chain_now(self.platform)

    def travel(self, seconds: int) -> None:
        travel(self.platform, seconds)

    @property
    def tally(self) -> Any:
        return self.platform.deployment.contract("EncryptedTally")

    @property
    def voting(self) -> Any:
        return self.platform.deployment.contract("MVoting")

    def secrets(self, poll_id: int, i: int) -> Path:
        return self.secrets_dir / f"poll{poll_id}-trustee{i}.json"

    def create_poll(self, options: list[str], *, lead: int = 120, duration: int = 600, **draft: Any) -> int:
        opens_at = self.now() + lead
        body = {
            "question": "Which park gets the new playground?",
            "options": options,
            "secrecy": "encrypted",
            "opens_at": opens_at,
            "closes_at": opens_at + duration,
            "creator": self.admin.address,
            **draft,
        }
        td = self.api.post("/voting/polls/typed-data", body)
        sig = client._sign(self.admin, td["typed_data"])
        return int(self.api.post("/voting/polls", {**td["fields"], "signature": sig})["poll_id"])

    def run_dkg(self, poll_id: int, threshold: int = 2) -> None:
        client.name_trustees(self.api, poll_id, self.admin, [t.address for t in self.trustees], threshold)
        for i, t in enumerate(self.trustees, start=1):
            client.trustee_commit(self.api, poll_id, t, self.secrets(poll_id, i))
        for i, t in enumerate(self.trustees, start=1):
            client.trustee_deal(self.api, poll_id, t, self.secrets(poll_id, i))

    def open_poll(self, options: list[str], lead: int = 120, **draft: Any) -> int:
        poll_id = self.create_poll(options, lead=lead, **draft)
        self.run_dkg(poll_id)
        self.travel(lead + 1)
        return poll_id

    def vote(self, poll_id: int, voter: LocalAccount, options: list[int], **kw: Any) -> dict[str, Any]:
        return client.encrypted_vote(self.api, poll_id, voter, options, **kw)


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(self.format(record))


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    data_dir = tmp_path_factory.mktemp("encrypted-data")
    records: list[str] = []
    handler = _Collect(records)
    logging.getLogger().addHandler(handler)
    previous = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    with (
        module_chain(request, own_anvil=True) as chain,
        started_platform(chain, data_dir) as platform,
        LiveServer(platform) as server,
    ):
        try:
            registrar = make_registrar(platform)
            admin = Account.create()
            grant_role(platform, "MVoting", "POLL_ADMIN_ROLE", admin.address)
            citizens = [Account.create() for _ in range(6)]
            for c in citizens:
                register_citizen(platform, registrar, c.address)
            trustees = [Account.create() for _ in range(3)]
            with server.client() as http:
                yield Env(
                    platform,
                    http,
                    Api(http),
                    admin,
                    trustees,
                    citizens,
                    tmp_path_factory.mktemp("trustee-secrets"),
                    data_dir,
                    records,
                )
        finally:
            service.close(platform)
            logging.getLogger().removeHandler(handler)
            logging.getLogger().setLevel(previous)


def events(env: Env, contract: Any, tx_hash: str, name: str) -> list[dict[str, Any]]:
    receipt = env.platform.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    return [dict(e["args"]) for e in getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)]


# -- the full poll -------------------------------------------------------------------------


def test_three_trustees_threshold_two_one_absent_result_published_and_recount_verifies(env: Env) -> None:
    poll_id = env.create_poll(["North park", "River park", "Hill park"])
    client.name_trustees(env.api, poll_id, env.admin, [t.address for t in env.trustees], 2)
    for i, t in enumerate(env.trustees, start=1):
        out = client.trustee_commit(env.api, poll_id, t, env.secrets(poll_id, i))
        (committed,) = events(env, env.tally, out["tx_hash"], "DkgCommitted")
        assert committed["index"] == i and len(committed["commitments"]) == 4  # t = 2 points
    # no ballot before the key exists
    with pytest.raises(elgamal.ProofError, match="no election key"):
        client.encrypt_for_poll(env.api, poll_id, env.citizens[0].address, [0])
    last = None
    for i, t in enumerate(env.trustees, start=1):
        last = client.trustee_deal(env.api, poll_id, t, env.secrets(poll_id, i))
    assert last is not None
    (fixed,) = events(env, env.tally, last["tx_hash"], "ElectionKeyFixed")
    e = env.api.get(f"/voting/polls/{poll_id}/election")
    assert e["key_fixed"] and [int(w) for w in e["election_key"]] == list(fixed["key"])
    commitments = {int(i): [int(w) for w in c] for i, c in e["commitments"].items()}
    assert dkg.election_key(commitments) == tuple(fixed["key"])
    for i in (1, 2, 3):  # every trustee checks the shares it received against the commitments
        assert client.trustee_verify(env.api, poll_id, env.secrets(poll_id, i))["ok"]
        assert tuple(env.tally.functions.verificationKeyOf(poll_id, i).call()) == dkg.verification_key(commitments, i)

    env.travel(121)
    choices = {0: [0], 1: [0], 2: [2], 3: [1], 4: [2]}
    for c, opt in choices.items():
        rec = env.vote(poll_id, env.citizens[c], opt)
        (cast,) = events(env, env.voting, rec["tx_hash"], "BallotCast")
        assert cast["choice"] == 0 and cast["commitment"] != b"\0" * 32
    env.vote(poll_id, env.citizens[1], [2])  # vote change: 0 -> 2

    env.travel(601)
    # trustee 2 is absent; 1 and 3 decrypt
    for i in (1, 3):
        out = client.trustee_decrypt(env.api, poll_id, env.trustees[i - 1], env.secrets(poll_id, i))
        (shared,) = events(env, env.tally, out["tx_hash"], "DecryptionShared")
        assert shared["index"] == i
    r = env.http.post(f"/voting/polls/{poll_id}/finalize")
    assert r.status_code == 200, r.text
    res = r.json()
    assert [o["count"] for o in res["options"]] == [1, 1, 3]
    assert res["ballots"] == 5 and res["finalized"] and res["secrecy"] == "encrypted"
    tx = res["finalized_tx"]
    (final,) = events(env, env.voting, tx, "PollFinalized")
    assert list(final["counts"]) == [1, 1, 3] and final["ballots"] == 5
    (dec,) = events(env, env.tally, tx, "TallyDecrypted")
    assert list(dec["trustees"]) == [1, 3]

    result = recount_trusted(TrustedDeployment.from_platform(env.platform), poll_id)
    assert result.matches, result.problems
    assert result.recomputed_counts == [1, 1, 3]
    assert result.encrypted["ballot_proofs_checked"] == 6 and result.encrypted["ballot_proofs_failed"] == 0
    assert result.encrypted["homomorphic_sum"] == "matches the contract's encrypted tally"
    assert result.encrypted["decryption_proofs_checked"] == 2
    assert result.encrypted["decrypted_with_trustees"] == [1, 3]


# -- invalid ballots -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_poll(env: Env) -> int:
    """A 4-option single-choice poll, open, with a fixed key (lasts the module)."""
    return env.open_poll(["A", "B", "C", "D"], duration=100_000)


def _cast_raw(env: Env, poll_id: int, voter: LocalAccount, bits: list[int]) -> httpx.Response:
    b = client.encrypt_for_poll(env.api, poll_id, voter.address, [0], bits=bits)
    td = env.api.post(
        f"/voting/polls/{poll_id}/encrypted-ballots/typed-data",
        {"voter": voter.address, "ciphertexts": b.ciphertexts, "proofs": b.proofs},
    )
    body = {
        "voter": voter.address,
        "version": td["fields"]["version"],
        "deadline": td["fields"]["deadline"],
        "ciphertexts": b.ciphertexts,
        "proofs": b.proofs,
        "signature": client._sign(voter, td["typed_data"]),
    }
    return env.http.post(f"/voting/polls/{poll_id}/encrypted-ballots", json=body)


def test_ballot_encrypting_two_for_one_option_is_refused(env: Env, open_poll: int) -> None:
    r = _cast_raw(env, open_poll, env.citizens[0], [2, 0, 0])
    assert_error(r, 422, "MVotingInvalidProof", "proofs do not verify")


def test_ballot_choosing_two_options_in_a_single_choice_poll_is_refused(env: Env, open_poll: int) -> None:
    r = _cast_raw(env, open_poll, env.citizens[1], [1, 1, 0])
    assert_error(r, 422, "MVotingInvalidProof")
    with pytest.raises(elgamal.ProofError, match="exactly one"):
        env.vote(open_poll, env.citizens[1], [0, 1])


def test_invalid_proof_in_a_batch_is_skipped_with_its_reason(env: Env, open_poll: int) -> None:
    good, bad = env.citizens[2], env.citizens[3]
    inputs = []
    for voter, bits in ((bad, [1, 1, 0]), (good, [0, 1, 0])):
        b = client.encrypt_for_poll(env.api, open_poll, voter.address, [0], bits=bits)
        td = env.api.post(
            f"/voting/polls/{open_poll}/encrypted-ballots/typed-data",
            {"voter": voter.address, "ciphertexts": b.ciphertexts, "proofs": b.proofs},
        )
        f = td["fields"]
        sig = bytes.fromhex(client._sign(voter, td["typed_data"])[2:])
        ballot = (open_poll, voter.address, 0, b.commitment(), f["version"], f["deadline"], sig, [])
        inputs.append((ballot, (b.ciphertexts, b.proofs, [])))
    fn = env.voting.functions.castEncryptedBatch([i[0] for i in inputs], [i[1] for i in inputs])
    tx = env.platform.relayer.transact(fn)
    (rejected,) = events(env, env.voting, tx.tx_hash, "BallotRejected")
    assert rejected["voter"] == bad.address and rejected["reason"] == 16
    (cast,) = events(env, env.voting, tx.tx_hash, "BallotCast")
    assert cast["voter"] == good.address


def test_plain_ballot_on_an_encrypted_poll_is_refused(env: Env, open_poll: int) -> None:
    r = env.http.post(
        f"/voting/polls/{open_poll}/ballots/typed-data", json={"voter": env.citizens[0].address, "options": [0]}
    )
    assert_error(r, 422, "MVotingInvalidProof", "encrypted")


# -- vote change, secrecy before close -----------------------------------------------------


def test_vote_change_subtracts_the_old_ciphertext(env: Env, open_poll: int) -> None:
    voter = env.citizens[4]
    before = [int(w) for w in env.tally.functions.encryptedTallyOf(open_poll).call()]
    first = client.encrypt_for_poll(env.api, open_poll, voter.address, [0])
    td = env.api.post(
        f"/voting/polls/{open_poll}/encrypted-ballots/typed-data",
        {"voter": voter.address, "ciphertexts": first.ciphertexts, "proofs": first.proofs},
    )
    body = {**{k: td["fields"][k] for k in ("voter", "version", "deadline", "ciphertexts", "proofs")}}
    body["signature"] = client._sign(voter, td["typed_data"])
    assert env.http.post(f"/voting/polls/{open_poll}/encrypted-ballots", json=body).status_code == 201
    mid = [int(w) for w in env.tally.functions.encryptedTallyOf(open_poll).call()]
    assert mid == elgamal.add_ciphertexts(before, first.ciphertexts)
    rec = env.vote(open_poll, voter, [3])
    assert rec["replaced"] and rec["version"] == 2
    after = [int(w) for w in env.tally.functions.encryptedTallyOf(open_poll).call()]
    (added,) = events(env, env.tally, rec["tx_hash"], "EncryptedBallotAdded")
    new = [int(w) for w in added["ciphertexts"]]
    assert after == elgamal.add_ciphertexts(before, new)  # the first ballot is gone
    assert env.voting.functions.getPoll(open_poll).call()[17] >= 1  # ballots counted once per voter


def test_nobody_can_read_the_tally_before_close(env: Env, open_poll: int) -> None:
    assert_error(env.http.get(f"/voting/polls/{open_poll}/results"), 403, "MVotingTallySealed", "encrypted")
    with pytest.raises(ContractError) as exc:
        env.platform.relayer.call(env.voting.functions.tallyOf(open_poll))
    assert exc.value.error_name == "MVotingTallySealed"
    with pytest.raises(ApiError) as api_exc:  # a trustee can not decrypt before close
        client.trustee_decrypt(env.api, open_poll, env.trustees[0], env.secrets(open_poll, 1))
    assert api_exc.value.status == 409 and api_exc.value.body["error"] == "EncryptedTallyNotClosed"
    r = env.http.post(f"/voting/polls/{open_poll}/finalize")
    assert_error(r, 409, "EncryptedTallyNotClosed")


def test_a_trustee_alone_can_not_open_a_ballot(env: Env, open_poll: int) -> None:
    """One share x_i is not the election secret: decrypting with it gives no count."""
    _s, x1, e = client.trustee_secret_share(env.api, open_poll, env.secrets(open_poll, 1))
    assert elgamal.mul(elgamal.GENERATOR, x1) != tuple(int(w) for w in e["election_key"])
    tally = [int(w) for w in e["encrypted_tally"]]
    shares, _ = elgamal.partial_decrypt(e["tally_contract"], open_poll, 1, x1, tally)
    with pytest.raises(elgamal.ProofError):
        elgamal.combine(tally, {1: shares}, 10)


# -- decryption ----------------------------------------------------------------------------


def test_wrong_decryption_share_is_refused(env: Env) -> None:
    poll_id = env.open_poll(["Yes", "No"], duration=300)
    env.vote(poll_id, env.citizens[0], [0])
    env.travel(301)
    with pytest.raises(ApiError) as exc:
        client.trustee_decrypt(env.api, poll_id, env.trustees[1], env.secrets(poll_id, 2), tamper=True)
    assert exc.value.status == 422 and exc.value.body["error"] == "EncryptedTallyInvalidDecryption"
    assert env.tally.functions.electionOf(poll_id).call()[4] == 0  # nothing recorded
    # one honest share is not enough to publish
    client.trustee_decrypt(env.api, poll_id, env.trustees[0], env.secrets(poll_id, 1))
    assert_error(env.http.post(f"/voting/polls/{poll_id}/finalize"), 409, "EncryptedTallyNotEnoughShares")
    client.trustee_decrypt(env.api, poll_id, env.trustees[1], env.secrets(poll_id, 2))
    # a wrong count is refused by the contract (count·G does not match)
    with pytest.raises(ContractError) as wrong:
        env.platform.relayer.transact(env.tally.functions.publishResult(poll_id, [0, 1]), simulate=True)
    assert wrong.value.error_name == "EncryptedTallyWrongCount"
    r = env.http.post(f"/voting/polls/{poll_id}/finalize")
    assert r.status_code == 200, r.text
    assert [o["count"] for o in r.json()["options"]] == [1, 0]


def test_approval_poll_counts_each_approved_option(env: Env) -> None:
    poll_id = env.open_poll(["Bus", "Bike", "Tram"], ballot_type="approval", max_choices=2, duration=300)
    env.vote(poll_id, env.citizens[0], [0, 2])
    env.vote(poll_id, env.citizens[1], [1])
    with pytest.raises(elgamal.ProofError, match="1..2"):
        env.vote(poll_id, env.citizens[2], [0, 1, 2])
    r = _cast_raw(env, poll_id, env.citizens[2], [1, 1, 1])  # three approvals, max 2
    assert_error(r, 422, "MVotingInvalidProof")
    r = _cast_raw(env, poll_id, env.citizens[2], [0, 0, 0])  # none
    assert_error(r, 422, "MVotingInvalidProof")
    env.travel(301)
    for i in (2, 3):
        client.trustee_decrypt(env.api, poll_id, env.trustees[i - 1], env.secrets(poll_id, i))
    r = env.http.post(f"/voting/polls/{poll_id}/finalize")
    assert r.status_code == 200, r.text
    assert [o["count"] for o in r.json()["options"]] == [1, 1, 1]
    assert recount_trusted(TrustedDeployment.from_platform(env.platform), poll_id).matches


def test_dkg_steps_are_refused_after_the_poll_opens_and_from_non_trustees(env: Env) -> None:
    poll_id = env.create_poll(["Yes", "No"], lead=60)
    outsider = Account.create()
    with pytest.raises(ApiError) as exc:
        client.name_trustees(env.api, poll_id, outsider, [t.address for t in env.trustees], 2)
    assert exc.value.status == 403 and exc.value.body["error"] == "EncryptedTallyNotPollCreator"
    client.name_trustees(env.api, poll_id, env.admin, [t.address for t in env.trustees], 2)
    with pytest.raises(elgamal.ProofError, match="not a trustee"):
        client.trustee_commit(env.api, poll_id, outsider, env.secrets_dir / "outsider.json")
    env.travel(61)
    with pytest.raises(ApiError) as exc:
        client.trustee_commit(env.api, poll_id, env.trustees[0], env.secrets(poll_id, 1))
    assert exc.value.status == 409 and exc.value.body["error"] == "EncryptedTallyDkgClosed"
    with pytest.raises(elgamal.ProofError, match="no election key"):  # the DKG never finished
        client.encrypt_for_poll(env.api, poll_id, env.citizens[0].address, [0])


# -- the operator holds no secret ----------------------------------------------------------


def test_operator_data_dir_and_logs_hold_no_plaintext_choice_or_secret(env: Env) -> None:
    poll_id = env.open_poll(["Yes", "No"], duration=300)
    ballot = client.encrypt_for_poll(env.api, poll_id, env.citizens[5].address, [1])
    td = env.api.post(
        f"/voting/polls/{poll_id}/encrypted-ballots/typed-data",
        {"voter": env.citizens[5].address, "ciphertexts": ballot.ciphertexts, "proofs": ballot.proofs},
    )
    body = {k: td["fields"][k] for k in ("voter", "version", "deadline", "ciphertexts", "proofs")}
    body["signature"] = client._sign(env.citizens[5], td["typed_data"])
    assert env.http.post(f"/voting/polls/{poll_id}/encrypted-ballots", json=body).status_code == 201
    secrets_ = [dkg.TrusteeSecrets.load(env.secrets(poll_id, i)) for i in (1, 2, 3)]
    needles: list[int] = [*ballot.randomness]
    for s in secrets_:
        needles += [*s.coefficients, s.encryption_secret, s.dealer_randomness]
    # what would reveal the choice: the randomness (B - rH = bG) or any trustee secret
    forms = []
    for n in needles:
        forms += [n.to_bytes(32, "big"), n.to_bytes(32, "big").hex().encode(), str(n).encode()]
    blobs = [p.read_bytes() for p in env.data_dir.rglob("*") if p.is_file()]
    blobs.append("\n".join(env.log_records).encode())
    assert blobs
    for blob in blobs:
        for f in forms:
            assert f not in blob
    # what the server stored about the ballot: choice 0 and a commitment
    rec = env.api.get(f"/voting/receipts/{td['digest']}")
    assert rec["choice"] is None and rec["commitment"] == "0x" + ballot.commitment().hex()


# -- the CLI -------------------------------------------------------------------------------


def test_cli_trustees_dkg_encrypted_votes_decrypt_close_recount(env: Env, tmp_path: Path) -> None:
    import json
    import re

    from typer.testing import CliRunner

    from civic_ledger.cli import app

    url = str(env.http.base_url).rstrip("/")
    keys = {"admin": env.admin, "t1": env.trustees[0], "t2": env.trustees[1], "t3": env.trustees[2]}
    keys |= {"v1": env.citizens[0], "v2": env.citizens[1]}
    for name, acct in keys.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(Account.encrypt(acct.key, "pw", iterations=2)))
    common = ["--api", url, "--password", "pw"]

    def run(*args: str, ok: bool = True) -> str:
        extra = common if "-k" in args else common[:2]  # --password only with a signer
        out = CliRunner().invoke(app, ["voting", *args, *extra])
        if ok:
            assert out.exit_code == 0, out.output
        return str(out.output)

    def ks(name: str) -> list[str]:
        return ["-k", str(tmp_path / f"{name}.json")]

    opens = env.now() + 120
    out = run("create", "Night buses?", "-o", "Yes", "-o", "No", "-o", "Later", *ks("admin"), "--encrypted",
              "--opens-at", str(opens), "--duration", "300")  # fmt: skip
    assert "encrypted" in out
    pid = re.search(r"poll (\d+)", out).group(1)  # type: ignore[union-attr]
    trustees = [a for t in ("t1", "t2", "t3") for a in ("-t", str(tmp_path / f"{t}.json"))]
    assert "3 trustees named, threshold 2" in run("trustee", "name", pid, *trustees, "--threshold", "2", *ks("admin"))
    for t in ("t1", "t2", "t3"):
        assert "commitments posted" in run("trustee", "commit", pid, *ks(t))
    for t in ("t1", "t2", "t3"):
        assert "encrypted shares posted" in run("trustee", "deal", pid, *ks(t))
    assert "all 3 shares match" in run("trustee", "verify", pid, *ks("t2"))
    assert "election key: fixed" in run("trustee", "status", pid)
    env.travel(121)
    assert "encrypted ballot accepted" in run("vote", pid, "-o", "1", *ks("v1"))
    assert "encrypted ballot accepted" in run("vote", pid, "-o", "2", *ks("v2"))
    assert "replaces your previous ballot" in run("vote", pid, "-o", "0", *ks("v2"))
    out = run("vote", pid, "-o", "0", "-o", "1", *ks("v1"), ok=False)
    assert "exactly one" in out
    assert "MVotingTallySealed" in run("results", pid, ok=False)
    env.travel(301)
    for t in ("t1", "t3"):
        assert "partial decryption posted" in run("trustee", "decrypt", pid, *ks(t))
    out = run("close", pid)
    assert re.search(r"Yes[ ★]*│\s*1 ", out) and re.search(r"Later\s*│\s*0 ", out), out
    manifest = env.platform.deployment.manifest_path
    chain = str(env.platform.settings.chain)
    rpc = f"{url}/rpc" if chain == "embedded" else chain
    out = CliRunner().invoke(app, ["voting", "recount", pid, "--rpc-url", rpc, "--manifest", str(manifest)]).output
    assert "homomorphic sum matches" in out and "recount matches the published result" in out, out


def test_malformed_encrypted_ballots_get_clear_4xx(env: Env, open_poll: int) -> None:
    voter = env.citizens[5]
    b = client.encrypt_for_poll(env.api, open_poll, voter.address, [1])

    def signed(cts: list[int], proofs: list[int]) -> dict[str, Any]:
        td = env.api.post(
            f"/voting/polls/{open_poll}/encrypted-ballots/typed-data",
            {"voter": voter.address, "ciphertexts": cts, "proofs": proofs},
        )
        body = {k: td["fields"][k] for k in ("voter", "version", "deadline", "ciphertexts", "proofs")}
        return {**body, "signature": client._sign(voter, td["typed_data"])}

    path = f"/voting/polls/{open_poll}/encrypted-ballots"
    off_curve = signed([1, 3, *b.ciphertexts[2:]], b.proofs)  # (1, 3) is not a point
    assert_error(env.http.post(path, json=off_curve), 422, "MVotingInvalidProof")
    short = signed(b.ciphertexts[:4], b.proofs)  # one ciphertext for three counted options
    assert_error(env.http.post(path, json=short), 422, "MVotingInvalidProof")
    good = signed(b.ciphertexts, b.proofs)
    tampered = {**good, "ciphertexts": [*b.ciphertexts[:-1], b.ciphertexts[-1] ^ 1]}  # not what was signed
    assert_error(env.http.post(path, json=tampered), 403, "MVotingInvalidSignature")
    huge = {**good, "proofs": [2**256, *b.proofs[1:]]}
    assert_error(env.http.post(path, json=huge), 422, "invalid_input", "uint256")
    r = env.http.post("/voting/polls/9999/encrypted-ballots/typed-data", json={"voter": voter.address,
                      "ciphertexts": b.ciphertexts, "proofs": b.proofs})  # fmt: skip
    assert_error(r, 404, "MVotingUnknownPoll")


# -- the protocol alone (no chain) ---------------------------------------------------------


def test_a_bad_dealt_share_is_shown_to_anyone_by_disclosing_the_share_key() -> None:
    tally, poll = "0x" + "ab" * 20, 7
    ts = [dkg.new_trustee(tally, poll, i, f"0x{i:040x}", 2) for i in (1, 2, 3)]
    keys = [tuple(t.encryption_key()) for t in ts]
    ephemeral, shares = dkg.deal(ts[0], keys)  # type: ignore[arg-type]
    commitments = ts[0].commitments()
    assert dkg.receive_share(ts[1], 1, tuple(ephemeral), shares[1], commitments)  # type: ignore[arg-type]
    cheated = [*shares[:1], (shares[1] + 1) % elgamal.Q, *shares[2:]]
    with pytest.raises(elgamal.ProofError, match="does not match its commitments"):
        dkg.receive_share(ts[1], 1, tuple(ephemeral), cheated[1], commitments)  # type: ignore[arg-type]
    disclosed = dkg.open_share(ts[1], tuple(ephemeral))  # type: ignore[arg-type]
    args = (tally, poll, 1, 2, keys[1], tuple(ephemeral), disclosed)
    assert dkg.check_disclosed_share(*args, cheated[1], commitments)  # type: ignore[arg-type]
    assert not dkg.check_disclosed_share(*args, shares[1], commitments)  # type: ignore[arg-type]
    forged = (disclosed[0], disclosed[1], (disclosed[2] + 1) % elgamal.Q)
    with pytest.raises(elgamal.ProofError, match="does not verify"):
        dkg.check_disclosed_share(tally, poll, 1, 2, keys[1], tuple(ephemeral), forged, shares[1], commitments)  # type: ignore[arg-type]


@settings(max_examples=6, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=5),
    st.sampled_from([(1, 2), (1, 3), (2, 3), (1, 2, 3)]),
)
def test_any_t_trustees_decrypt_the_sum_of_the_ballots_and_it_is_the_count(
    choices: list[int], who: tuple[int, ...]
) -> None:
    """Property: whatever the ballots and whichever t (or more) trustees decrypt, the combined
    decryption of the homomorphic sum is the per-option count of the ballots."""
    tally, poll, n = "0x" + "cd" * 20, 3, 4
    ts = [dkg.new_trustee(tally, poll, i, f"0x{i:040x}", 2) for i in (1, 2, 3)]
    commitments = {t.index: t.commitments() for t in ts}
    keys = [tuple(t.encryption_key()) for t in ts]
    dealt = {}
    for t in ts:
        r, s = dkg.deal(t, keys)  # type: ignore[arg-type]
        dealt[t.index] = (tuple(r), s)
    xs = {t.index: dkg.secret_share(t, dealt, commitments) for t in ts}  # type: ignore[arg-type]
    key = dkg.election_key(commitments)
    total = [0] * 12
    for i, c in enumerate(choices):
        ctx = elgamal.BallotContext(tally, poll, f"0x{i + 1:040x}", key)
        b = elgamal.encrypt_ballot(ctx, "single", n, 1, elgamal.bits_of("single", [c], n, 1))
        assert elgamal.verify_ballot(ctx, "single", n, 1, b.ciphertexts, b.proofs)
        total = elgamal.add_ciphertexts(total, b.ciphertexts)
    parts = {}
    for i in who:
        shares, proofs = elgamal.partial_decrypt(tally, poll, i, xs[i], total)
        assert (
            elgamal.verify_decryption(tally, poll, i, dkg.verification_key(commitments, i), total, shares, proofs)
            is None
        )
        parts[i] = shares
    counted = elgamal.combine(total, {i: parts[i] for i in who[:2]}, len(choices))
    assert [*counted, len(choices) - sum(counted)] == [choices.count(o) for o in range(n)]
