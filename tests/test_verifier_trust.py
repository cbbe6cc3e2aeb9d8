"""Chain-only verifiers trust a deployment, never the thing they verify (issue 15, items 2 and 4).

A second, complete deployment of the city's contracts on the same chain (the operator deploys
every contract again at new addresses, with a server of its own) is the look-alike: its labour
bundles, credentials and polls are internally consistent, so only the verifier's trusted
deployment (a manifest, or the genuine server's deployment) tells them apart from genuine ones.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from typer.testing import CliRunner

from civic_ledger.errors import ConfigError, DeploymentMismatch
from civic_ledger.platform.deploy import deploy_all
from civic_ledger.platform.indexer import open_indexer
from civic_ledger.platform.indexer.source import open_source
from civic_ledger.platform.runtime import Platform
from civic_ledger.platform.trust import SERVER_DEPLOYMENT, TrustedDeployment, trusted_from_node
from tests.conftest import LiveServer, make_settings, module_chain, started_platform
from tests.helpers import make_registrar, ok, register_citizen, sign_in

MON = date(2026, 3, 2)


@dataclass
class Cities:
    genuine: Platform
    fake: Platform  # the look-alike: every contract deployed again on the same chain
    api: httpx.Client  # the genuine server
    fake_api: httpx.Client
    rpc: str  # a JSON-RPC URL of the chain (anvil, or the genuine server's read-only /rpc)
    manifest: Path  # the genuine deployment manifest
    data_dir: Path

    def citizen(self, platform: Platform) -> Any:
        account = Account.create()
        register_citizen(platform, make_registrar(platform), account.address)
        return account


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def cities(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cities]:
    root = Path(tmp_path_factory.mktemp("trust"))
    with module_chain(request) as chain, started_platform(chain, root / "genuine") as genuine:
        fake_dir = root / "lookalike"
        fake_deployment = deploy_all(genuine.chain, genuine.build, genuine.relayer, fake_dir)
        fake_settings = make_settings(chain, fake_dir)
        fake_index = open_indexer(  # the look-alike city's server indexes its own contracts
            fake_settings,
            chain_id=genuine.chain.chain_id,
            entries=fake_deployment.entries,
            build=genuine.build,
            source=open_source(chain, genuine.settings.data_dir),  # the same chain
        )
        fake_index.start()
        fake = dataclasses.replace(genuine, settings=fake_settings, deployment=fake_deployment, indexer=fake_index)
        assert fake.deployment.address("LaborRecords") != genuine.deployment.address("LaborRecords")
        with (
            closing(fake_index),
            LiveServer(genuine) as server,
            LiveServer(fake) as fake_server,
            server.client(timeout=120) as api,
            fake_server.client(timeout=120) as fake_api,
        ):
            rpc = chain if chain != "embedded" else f"{server.url}/rpc"
            yield Cities(genuine, fake, api, fake_api, rpc, genuine.deployment.manifest_path, root / "genuine")


def run(app: Any, args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, args, env=env)


# -- the trusted deployment itself -------------------------------------------------------------


def test_a_manifest_is_checked_against_the_node(cities: Cities, tmp_path: Path) -> None:
    trusted = trusted_from_node(cities.rpc, cities.manifest, tmp_path)
    assert trusted.chain_id == cities.genuine.chain.chain_id and trusted.manifest == str(cities.manifest)
    assert trusted.manifest_sha256 == hashlib.sha256(cities.manifest.read_bytes()).hexdigest()
    assert trusted.address("LaborRecords") == cities.genuine.deployment.address("LaborRecords")
    assert trusted.deploy_block("LaborRecords") == cities.genuine.deployment.entries["LaborRecords"]["block"]
    assert trusted.abi("LaborRecords") == cities.genuine.build.artifact("LaborRecords").abi
    # the default is the data dir's manifest for the node's chain id
    assert trusted_from_node(cities.rpc, None, cities.data_dir).manifest == str(cities.manifest)
    with pytest.raises(ConfigError, match="give --manifest"):
        trusted_from_node(cities.rpc, None, tmp_path)
    data = json.loads(cities.manifest.read_text())
    other_chain = tmp_path / "other.json"
    other_chain.write_text(json.dumps({**data, "chain_id": 5}))
    with pytest.raises(ConfigError, match="is for chain id 5"):
        trusted_from_node(cities.rpc, other_chain, tmp_path)
    empty = copy.deepcopy(data)
    empty["contracts"]["LaborRecords"]["address"] = "0x" + "00" * 19 + "42"
    (tmp_path / "empty.json").write_text(json.dumps(empty))
    with pytest.raises(DeploymentMismatch, match="LaborRecords: no code at"):
        trusted_from_node(cities.rpc, tmp_path / "empty.json", tmp_path)
    swapped = copy.deepcopy(data)  # an address with code, but not the code the manifest records
    swapped["contracts"]["LaborRecords"]["address"] = cities.genuine.deployment.address("Notary")
    (tmp_path / "swapped.json").write_text(json.dumps(swapped))
    with pytest.raises(DeploymentMismatch, match="LaborRecords: the code at .* is not the code the manifest records"):
        trusted_from_node(cities.rpc, tmp_path / "swapped.json", tmp_path)
    # The manifest carries each ABI, so no build is needed...
    assert data["contracts"]["LaborRecords"]["abi"] == cities.genuine.build.artifact("LaborRecords").abi
    # ...and an older manifest without ABIs falls back to the build, which must be the deployed one.
    stale = copy.deepcopy(data)  # the chain holds the recorded code, but this build compiled other code
    del stale["contracts"]["LaborRecords"]["abi"]
    stale["contracts"]["LaborRecords"]["creation_hash"] = "0x" + "11" * 32
    (tmp_path / "stale.json").write_text(json.dumps(stale))
    with pytest.raises(DeploymentMismatch, match="the compiled LaborRecords is not the one deployed"):
        trusted_from_node(cities.rpc, tmp_path / "stale.json", tmp_path).abi("LaborRecords")
    server = TrustedDeployment.from_platform(cities.genuine).describe("CivicWon")
    assert server.manifest == SERVER_DEPLOYMENT and server.manifest_sha256 == trusted.manifest_sha256


# -- labour evidence -----------------------------------------------------------------------------


def _labour_bundle(cities: Cities, platform: Platform, api: httpx.Client) -> dict[str, Any]:
    from tests.test_labor import record_week, register, terms

    employer, worker = Account.create(), cities.citizen(platform)
    contract = register(api, terms(employer.address, worker.address, hourly_wage=48_000), employer, worker)
    record_week(api, contract["contract_id"], employer, MON, [0, 1, 2, 3, 4])
    return dict(ok(api.get(f"/labor/contracts/{contract['contract_id']}/evidence", params={"as_of": "2026-04-30"})))


def test_a_labour_bundle_of_a_look_alike_contract_is_refused_and_the_genuine_one_verifies(
    cities: Cities, tmp_path: Path
) -> None:
    from civic_ledger.labor.cli import app

    genuine = _labour_bundle(cities, cities.genuine, cities.api)
    forged = _labour_bundle(cities, cities.fake, cities.fake_api)
    real, lookalike = cities.genuine.deployment.address("LaborRecords"), cities.fake.deployment.address("LaborRecords")
    assert forged["chain"]["labor_records"] == lookalike and forged["event_abi"] == genuine["event_abi"]
    # the look-alike's bundle is consistent in itself: a verifier trusting the look-alike passes it
    assert ok(cities.fake_api.post("/labor/evidence/verify", json=forged))["ok"] is True

    result = ok(cities.api.post("/labor/evidence/verify", json=genuine))
    assert result["ok"] is True, result["problems"]
    assert result["checks"][0] == {"record": "deployment", "ok": True, "problem": None}
    assert result["deployment"]["manifest"] == SERVER_DEPLOYMENT
    assert result["deployment"]["contracts"] == {"LaborRecords": real}
    assert result["deployment"]["manifest_sha256"] == hashlib.sha256(cities.manifest.read_bytes()).hexdigest()

    result = ok(cities.api.post("/labor/evidence/verify", json=forged))
    assert result["ok"] is False
    check = result["checks"][0]
    assert check["record"] == "deployment" and check["ok"] is False
    assert f"names LaborRecords at '{lookalike}'" in check["problem"] and real in check["problem"]
    records = [c for c in result["checks"] if " tx " in c["record"]]
    assert records and all(f"not by the trusted LaborRecords at {real}" in c["problem"] for c in records)
    # pointing the bundle at the genuine address does not help: its logs were emitted elsewhere
    relabelled = copy.deepcopy(forged)
    relabelled["chain"]["labor_records"] = real
    for r in relabelled["records"]:
        r["address"] = real
    result = ok(cities.api.post("/labor/evidence/verify", json=relabelled))
    assert result["ok"] is False and result["checks"][0]["ok"] is False  # the deploy block differs too
    assert all("not by the trusted LaborRecords" in c["problem"] for c in result["checks"] if " tx " in c["record"])

    # the CLI against the node alone, with the manifest the verifier trusts
    (tmp_path / "genuine.json").write_text(json.dumps(genuine))
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    node = ["--rpc-url", cities.rpc, "--manifest", str(cities.manifest)]
    out = run(app, ["verify", str(tmp_path / "genuine.json"), *node])
    assert out.exit_code == 0, out.output
    assert "verified" in out.output and str(cities.manifest) in out.output and real in out.output
    out = run(app, ["verify", str(tmp_path / "forged.json"), *node])
    assert out.exit_code == 1 and "NOT verified" in out.output and "deployment" in out.output
    # default manifest: the data dir's for the node's chain id, else a clear error
    out = run(
        app, ["verify", str(tmp_path / "forged.json"), "--rpc", cities.rpc], {"CIVIC_DATA_DIR": str(cities.data_dir)}
    )
    assert out.exit_code == 1 and "NOT verified" in out.output, out.output
    out = run(
        app, ["verify", str(tmp_path / "forged.json"), "--rpc-url", cities.rpc], {"CIVIC_DATA_DIR": str(tmp_path)}
    )
    assert out.exit_code == 1 and "give --manifest" in out.output


# -- credentials -----------------------------------------------------------------------------------


def _credential(cities: Cities, platform: Platform, api: httpx.Client) -> dict[str, Any]:
    from tests.test_credentials import Env, issue, new_issuer

    api.headers["Authorization"] = f"Bearer {sign_in(api, platform.operator)}"
    type_id = ok(api.post("/credentials/types", json={"code": "forklift", "name": "Forklift licence"}), 201)["type_id"]
    holder = cities.citizen(platform)
    env = Env(platform, api, "", type_id, Account.create(), [holder], None)
    env.issuer_id, _ = new_issuer(env, "seoul-city-hall", key=env.key)
    return dict(issue(env, claims={"licence": "forklift"})["document"])


def test_a_credential_of_a_look_alike_registry_fails_the_deployment_check(cities: Cities, tmp_path: Path) -> None:
    from civic_ledger.credentials.cli import app

    genuine = _credential(cities, cities.genuine, cities.api)
    forged = _credential(cities, cities.fake, cities.fake_api)
    real = cities.genuine.deployment.address("CredentialRegistry")
    lookalike = cities.fake.deployment.address("CredentialRegistry")
    assert forged["credentialStatus"]["registry"] == lookalike
    assert ok(cities.fake_api.post("/credentials/verify", json={"document": forged}))["valid"] is True

    report = ok(cities.api.post("/credentials/verify", json={"document": genuine}))
    assert report["valid"] is True and report["checks"][0]["name"] == "deployment"
    assert report["deployment"]["contracts"] == {"CredentialRegistry": real}
    assert report["deployment"]["manifest"] == SERVER_DEPLOYMENT
    report = ok(cities.api.post("/credentials/verify", json={"document": forged}))
    checks = {c["name"]: c for c in report["checks"]}
    assert report["valid"] is False and checks["deployment"]["status"] == "fail"
    assert f"verifyingContract names CredentialRegistry at '{lookalike}'" in checks["deployment"]["detail"]
    assert f"credentialStatus.registry names CredentialRegistry at '{lookalike}'" in checks["deployment"]["detail"]
    assert checks["anchored"]["status"] == "fail"  # the trusted registry never anchored it

    (tmp_path / "genuine.json").write_text(json.dumps(genuine))
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    node = ["--rpc-url", cities.rpc, "--manifest", str(cities.manifest), "--json"]
    out = run(app, ["verify", str(tmp_path / "genuine.json"), *node])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["deployment"]["manifest"] == str(cities.manifest)
    out = run(app, ["verify", str(tmp_path / "forged.json"), *node])
    assert out.exit_code == 1 and json.loads(out.stdout)["checks"][0]["status"] == "fail"
    # no --manifest: never the registry the document names; the data dir's manifest, else an error
    out = run(
        app, ["verify", str(tmp_path / "forged.json"), "--rpc-url", cities.rpc], {"CIVIC_DATA_DIR": str(tmp_path)}
    )
    assert out.exit_code == 1 and "give --manifest" in out.output
    env = {"CIVIC_DATA_DIR": str(cities.data_dir)}
    out = run(app, ["verify", str(tmp_path / "forged.json"), "--rpc-url", cities.rpc], env)
    assert out.exit_code == 1 and "INVALID" in out.output and str(cities.manifest) in out.output
    # --registry is only an expectation: one naming the look-alike is refused
    out = run(app, ["verify", str(tmp_path / "forged.json"), "--rpc-url", cities.rpc, "--registry", lookalike], env)
    assert out.exit_code == 1 and "the trusted deployment has it at" in out.output


# -- recount ---------------------------------------------------------------------------------------


def test_a_recount_reads_the_trusted_mvoting_and_refuses_another_address(cities: Cities) -> None:
    from civic_ledger.cli import app
    from civic_ledger.platform.eip712 import TypedMessage
    from civic_ledger.voting import service as voting_service
    from civic_ledger.voting.recount import recount_trusted
    from tests.helpers import grant_role

    admin = Account.create()
    grant_role(cities.genuine, "MVoting", "POLL_ADMIN_ROLE", admin.address)
    body = {"question": "Trust?", "options": ["Yes", "No"], "duration_s": 300, "creator": admin.address}
    td = ok(cities.api.post("/voting/polls/typed-data", json=body))
    signature = "0x" + TypedMessage.from_dict(td["typed_data"]).sign(admin).hex()
    poll = ok(cities.api.post("/voting/polls", json={**td["fields"], "signature": signature}), 201)["poll_id"]
    try:
        real, lookalike = cities.genuine.deployment.address("MVoting"), cities.fake.deployment.address("MVoting")
        trusted = trusted_from_node(cities.rpc, cities.manifest, cities.data_dir)
        result = recount_trusted(trusted, poll)
        assert result.matches, result.problems
        assert result.deployment["contracts"] == {"MVoting": real} and result.deployment["manifest"] == str(
            cities.manifest
        )
        other = recount_trusted(trusted, poll, expected_address=lookalike)
        assert not other.matches and other.problems[0].startswith(f"--address names MVoting at '{lookalike}'")

        args = ["voting", "recount", str(poll), "--rpc-url", cities.rpc, "--manifest", str(cities.manifest)]
        out = run(app, args)
        assert out.exit_code == 0, out.output
        assert "matches" in out.output and real in out.output and trusted.manifest_sha256 in out.output
        out = run(app, [*args, "--address", lookalike])
        assert out.exit_code == 2 and "DOES NOT MATCH" in out.output and lookalike in out.output
        out = run(app, ["voting", "recount", str(poll), "--rpc-url", cities.rpc], {"CIVIC_DATA_DIR": "/nonexistent"})
        assert out.exit_code == 1 and "give --manifest" in out.output
    finally:
        voting_service.close(cities.genuine)


# -- audit: trusted addresses, and tokens sent to the escrow outside any project ----------------------


def test_one_won_sent_straight_to_the_escrow_is_unattributed_not_a_mismatch(cities: Cities) -> None:
    from civic_ledger.audit.cli import app
    from tests.test_payments import City

    city = City(cities.genuine, cities.api)
    project = city.project(funding={"labour": 1_000_000})
    before = ok(cities.api.get(f"/audit/projects/{project.id}/reconcile"))
    assert before["matches"] is True and before["escrow"]["unattributed"] == 0
    assert before["deployment"]["manifest"] == SERVER_DEPLOYMENT

    operator = cities.genuine.operator.address
    ok(cities.api.post("/payments/treasury/mint", json={"to": operator, "amount": 1}, headers=city.admin))
    token = cities.genuine.deployment.contract("CivicWon")
    escrow = cities.genuine.deployment.address("SubcontractPayments")
    cities.genuine.relayer.transact(token.functions.transfer(escrow, 1))

    after = ok(cities.api.get(f"/audit/projects/{project.id}/reconcile"))
    assert after["matches"] is True, after
    e = after["escrow"]
    assert e["unattributed"] == 1 and e["balance_on_chain"] == e["balance_from_events"] + 1 and e["matches"] is True
    assert "1 won in the escrow belong to no project" in e["note"]
    assert [b["matches"] for b in after["buckets"]] == [True] * len(after["buckets"])

    node = ["--rpc-url", cities.rpc, "--manifest", str(cities.manifest)]
    out = run(app, ["reconcile", str(project.id), *node])
    assert out.exit_code == 0, out.output
    assert "1 unattributed" in out.output and "reconciled" in out.output and str(cities.manifest) in out.output
    out = run(app, ["reconcile", str(project.id), *node, "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["escrow"]["unattributed"] == 1
    assert json.loads(out.stdout)["deployment"]["contracts"]["SubcontractPayments"] == escrow
    # the trail says which deployment it read, and the CLI finds the data dir's manifest by itself
    out = run(
        app, ["trail", str(project.id), "--rpc-url", cities.rpc, "--json"], {"CIVIC_DATA_DIR": str(cities.data_dir)}
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["manifest"]["deployment"]["manifest"] == str(cities.manifest)
