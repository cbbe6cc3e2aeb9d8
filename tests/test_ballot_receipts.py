"""Signed server receipts of ballots: a dropped ballot is detected and sent by the voter directly.

One platform on a private anvil for the module (chain time is moved past the promised inclusion
deadline); the API over real HTTP, the CLI's chain-only commands against the anvil node.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

from civic_ledger.cli import app
from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import server_receipts, service
from civic_ledger.voting.schemas import BallotCreate
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import grant_role, make_registrar, register_citizen, travel

INCLUSION_S = 5


@dataclass
class Env:
    platform: Platform
    api: httpx.Client
    admin: LocalAccount
    citizens: list[LocalAccount]
    rpc_url: str
    manifest: Path

    @property
    def mvoting(self) -> str:
        return str(self.platform.deployment.contract("MVoting").address)

    def create_poll(self) -> int:
        body = {"question": "Night market all year?", "options": ["Yes", "No"], "duration_s": 600}
        r = self.api.post("/voting/polls/typed-data", json={**body, "creator": self.admin.address})
        assert r.status_code == 200, r.text
        td = r.json()
        signature = eip712.TypedMessage.from_dict(td["typed_data"]).sign(self.admin)
        r = self.api.post("/voting/polls", json={**td["fields"], "signature": "0x" + signature.hex()})
        assert r.status_code == 201, r.text
        return int(r.json()["poll_id"])

    def sign_ballot(self, poll_id: int, voter: LocalAccount, options: list[int]) -> tuple[dict[str, Any], str]:
        r = self.api.post(
            f"/voting/polls/{poll_id}/ballots/typed-data", json={"voter": voter.address, "options": options}
        )
        assert r.status_code == 200, r.text
        td = r.json()
        signature = eip712.TypedMessage.from_dict(td["typed_data"]).sign(voter)
        return {**td["fields"], "signature": "0x" + signature.hex()}, str(td["digest"])

    def counts(self, poll_id: int) -> list[int]:
        r = self.api.get(f"/voting/polls/{poll_id}/results")
        assert r.status_code == 200, r.text
        return [o["count"] for o in r.json()["options"]]

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(app, ["voting", *args, "--rpc-url", self.rpc_url, "--manifest", str(self.manifest)])


@pytest.fixture(scope="module", params=["anvil"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with (
        module_chain(request, own_anvil=True) as chain,
        started_platform(chain, tmp_path_factory.mktemp("receipts"), ballot_inclusion_s=INCLUSION_S) as platform,
        LiveServer(platform) as server,
    ):
        try:
            registrar = make_registrar(platform)
            admin = Account.create()
            grant_role(platform, "MVoting", "POLL_ADMIN_ROLE", admin.address)
            citizens = [Account.create() for _ in range(3)]
            for c in citizens:
                register_citizen(platform, registrar, c.address)
            with server.client() as client:
                yield Env(platform, client, admin, citizens, chain, Path(platform.deployment.manifest_path))
        finally:
            service.close(platform)


def _keystore(path: Path, account: LocalAccount) -> Path:
    path.write_text(json.dumps(Account.encrypt(account.key, "pw", iterations=2)))
    return path


def test_cast_answers_with_a_receipt_signed_by_the_operator(env: Env) -> None:
    pid = env.create_poll()
    ballot, digest = env.sign_ballot(pid, env.citizens[0], [0])
    r = env.api.post(f"/voting/polls/{pid}/ballots", json=ballot)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["ballot_hash"] == digest and rec["tx_hash"].startswith("0x")  # the existing fields stay
    sr = rec["server_receipt"]
    recovered = Account.recover_message(encode_defunct(text=sr["message"]), signature=sr["signature"])
    assert recovered == sr["signer"] == env.platform.operator.address
    lines = sr["message"].split("\n")
    assert lines[:4] == [
        "civic-ledger ballot receipt v1",
        f"chain:{env.platform.chain.chain_id}",
        f"mvoting:{env.mvoting}",
        f"ballot:{digest}",
    ]
    accepted = int(lines[4].removeprefix("accepted:"))
    assert lines[5] == f"include-by:{accepted + INCLUSION_S}" and sr["include_by"] == accepted + INCLUSION_S
    claim = server_receipts.verify_receipt(sr)
    assert claim.ballot_hash == digest and claim.signer == env.platform.operator.address
    # a receipt whose message was changed no longer verifies
    forged = {**sr, "message": sr["message"].replace(f"include-by:{sr['include_by']}", "include-by:9999999999")}
    with pytest.raises(Exception, match="recovers to"):
        server_receipts.verify_receipt({**forged, "include_by": 9999999999})


def test_cli_vote_saves_ballot_and_receipt_and_receipt_file_says_included(env: Env, tmp_path: Path) -> None:
    pid = env.create_poll()
    ks = _keystore(tmp_path / "citizen.json", env.citizens[1])
    saved = tmp_path / "ballot.json"
    out = CliRunner().invoke(
        app,
        ["voting", "vote", str(pid), "-o", "1", "--as", str(ks), "--password", "pw", "--api", str(env.api.base_url)]
        + ["--save", str(saved)],
    )
    assert out.exit_code == 0, out.output
    assert "ballot accepted" in out.output and str(saved) in out.output.replace("\n", "")
    data = json.loads(saved.read_text())
    assert data["poll_id"] == pid and data["server_receipt"]["signer"] == env.platform.operator.address
    out = env.cli("receipt", "--file", str(saved))
    assert out.exit_code == 0, out.output
    assert "signature valid" in out.output and "operator" in out.output and "included" in out.output


def test_dropped_ballot_is_detected_and_self_submitted(env: Env, tmp_path: Path) -> None:
    pid = env.create_poll()
    voter = env.citizens[2]
    before = env.counts(pid)
    ballot, digest = env.sign_ballot(pid, voter, [0])
    # The server accepts the ballot (pre-checks pass, it signs a receipt) but never relays it.
    service.precheck_ballot(env.platform, pid, BallotCreate(**ballot))
    signed = server_receipts.sign_for_platform(env.platform, env.mvoting, bytes.fromhex(digest[2:]))
    path = tmp_path / "dropped.json"
    path.write_text(json.dumps(server_receipts.ballot_file(pid, ballot, digest, signed)))

    out = env.cli("receipt", "--file", str(path))
    assert out.exit_code == 0, out.output
    assert "not on chain yet" in out.output and "signature valid" in out.output

    travel(env.platform, INCLUSION_S + 5)  # past the promised deadline
    out = env.cli("receipt", "--file", str(path), "--json")
    assert out.exit_code == 3, out.output
    report = json.loads(out.stdout)
    assert report["status"] == "dropped" and report["signer_is_operator"] is True
    assert report["include_by"] == signed["include_by"] and report["chain_time"] > signed["include_by"]
    out = env.cli("receipt", "--file", str(path))
    assert out.exit_code == 3 and "DROPPED" in out.output and "--direct" in out.output, out.output
    assert env.counts(pid) == before

    # The voter sends the same signed ballot to MVoting.cast, paying the gas from its own key.
    w3 = env.platform.chain.w3
    w3.provider.make_request("anvil_setBalance", [voter.address, hex(10**18)])  # type: ignore[arg-type]
    ks = _keystore(tmp_path / "voter.json", voter)
    out = env.cli("vote", "--direct", "--file", str(path), "--as", str(ks), "--password", "pw")
    assert out.exit_code == 0, out.output
    tx_hash = re.search(r"tx (0x[0-9a-f]{64})", out.output.replace("\n", "")).group(1)  # type: ignore[union-attr]
    tx = w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
    assert tx["from"] == voter.address and tx["to"] == env.mvoting
    assert w3.eth.get_balance(voter.address) < 10**18  # the voter paid the gas
    (event,) = (
        env.platform.deployment.contract("MVoting")
        .events.BallotCast()
        .process_receipt(
            w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        )
    )
    assert "0x" + bytes(event["args"]["ballotHash"]).hex() == digest and event["args"]["voter"] == voter.address

    out = env.cli("receipt", "--file", str(path), "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["status"] == "included" and report["tx_hash"] == tx_hash
    assert env.counts(pid) == [before[0] + 1, before[1]]
    # sending it again is refused with the contract's reason, before any gas is spent
    out = env.cli("vote", "--direct", "--file", str(path), "--as", str(ks), "--password", "pw")
    assert out.exit_code == 1 and "would not accept" in out.output, out.output


def test_receipt_file_errors_are_one_clear_line(env: Env, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    out = env.cli("receipt", "--file", str(bad))
    assert out.exit_code == 1 and "is not a ballot saved by" in out.output
    out = env.cli("vote", "--direct", "--as", str(_keystore(tmp_path / "k.json", env.citizens[0])), "--password", "pw")
    assert out.exit_code == 1 and "--file" in out.output
