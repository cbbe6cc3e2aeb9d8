"""Platform: compiler, chains (embedded and anvil), deploy manifest, relayer, errors, API skeleton."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from eth_utils import keccak

from civic_ledger.errors import ContractError, DeploymentMismatch
from civic_ledger.platform.compiler import compile_contracts
from civic_ledger.platform.deploy import manifest_path
from civic_ledger.platform.runtime import Platform
from tests.conftest import CHAINS_WITH_INTERVAL, make_settings
from tests.helpers import bearer, sign_in


@pytest.fixture(params=CHAINS_WITH_INTERVAL)
def chain_url(request: pytest.FixtureRequest) -> str:
    """The platform tests run on every chain kind, the interval-mining one included (issue 17)."""
    return (
        str(request.getfixturevalue("interval_anvil").url)
        if request.param == "interval"
        else ("embedded" if request.param == "embedded" else str(request.getfixturevalue("anvil").url))
    )


def doc_hash(n: int | str) -> str:
    return "0x" + keccak(text=f"document {n}").hex()


# -- compiler ------------------------------------------------------------------------------


@pytest.fixture
def notary(api: httpx.Client, platform: Platform) -> httpx.Client:
    """``api`` signed in as the operator, who holds ``Notary.NOTARY_ROLE`` (anchoring spends its gas)."""
    api.headers.update(bearer(sign_in(api, platform.operator)))
    return api


def test_two_clean_builds_give_identical_bytecode(tmp_path: Path) -> None:
    first = compile_contracts(tmp_path / "a", force=True)
    second = compile_contracts(tmp_path / "b", force=True)
    assert first.artifacts.keys() == second.artifacts.keys()
    for name, art in first.artifacts.items():
        assert art.bytecode == second.artifacts[name].bytecode, name
        assert art.deployed_bytecode == second.artifacts[name].deployed_bytecode, name
    assert first.build_hash == second.build_hash
    assert first.compiler_version.startswith("0.8.28+commit")
    cached = json.loads((tmp_path / "a" / "contracts.json").read_text())
    assert set(cached) >= {"abi", "artifacts", "compiler_version", "source_hashes", "settings"} - {"abi"}
    assert cached["settings"]["evmVersion"] == "cancun"
    assert cached["settings"]["optimizer"]["enabled"] is True


def test_build_is_cached_until_a_source_changes(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    source = contracts / "Tiny.sol"
    source.write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.28;\ncontract Tiny { uint256 public x = 1; }\n"
    )
    one = compile_contracts(tmp_path / "build", contracts)
    stamp = (tmp_path / "build" / "contracts.json").stat().st_mtime_ns
    again = compile_contracts(tmp_path / "build", contracts)
    assert again.build_hash == one.build_hash
    assert (tmp_path / "build" / "contracts.json").stat().st_mtime_ns == stamp  # not rewritten
    source.write_text(source.read_text().replace("x = 1", "x = 2"))
    changed = compile_contracts(tmp_path / "build", contracts)
    assert changed.build_hash != one.build_hash
    assert changed.artifacts["Tiny"].bytecode != one.artifacts["Tiny"].bytecode


def test_compile_error_shows_the_compiler_message_with_file_and_line(tmp_path: Path) -> None:
    from civic_ledger.errors import CompileError

    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "Broken.sol").write_text("pragma solidity 0.8.28;\ncontract Broken {\n  function f( }\n}\n")
    with pytest.raises(CompileError) as caught:
        compile_contracts(tmp_path / "build", contracts)
    message = caught.value.message
    assert "ParserError" in message
    assert "contracts/Broken.sol:3:" in message
    assert "Traceback" not in message


# -- chains, deploy, relayer ---------------------------------------------------------------


def test_deploy_writes_a_manifest_and_restart_reuses_it(platform: Platform) -> None:
    path = manifest_path(platform.settings.data_dir, platform.chain.chain_id)
    manifest = json.loads(path.read_text())
    assert manifest["chain_id"] == platform.chain.chain_id
    assert manifest["compiler_version"] == platform.build.compiler_version
    for name in ("Notary", "CitizenRegistry"):
        entry = manifest["contracts"][name]
        code = bytes(platform.chain.w3.eth.get_code(entry["address"]))
        assert "0x" + keccak(code).hex() == entry["code_hash"]
        assert entry["tx"].startswith("0x") and entry["block"] >= 1
    sent = platform.chain.w3.eth.get_transaction_count(platform.operator.address)
    settings = platform.settings
    platform.close()
    again = Platform.start(settings)
    try:
        assert again.deployment.addresses() == {n: e["address"] for n, e in manifest["contracts"].items()}
        # nothing redeployed: the operator sent nothing (the head is no measure on a chain that
        # mines a block every second whatever happens)
        assert again.chain.w3.eth.get_transaction_count(again.operator.address) == sent
    finally:
        again.close()


def test_manifest_that_does_not_match_the_chain_is_a_clear_error(platform: Platform) -> None:
    path = manifest_path(platform.settings.data_dir, platform.chain.chain_id)
    manifest = json.loads(path.read_text())
    manifest["contracts"]["Notary"]["address"] = "0x" + "12" * 20
    path.write_text(json.dumps(manifest))
    settings = platform.settings
    platform.close()
    with pytest.raises(DeploymentMismatch, match="Notary at 0x1212.*no code on chain"):
        Platform.start(settings)


def test_revert_is_decoded_into_the_contract_error(platform: Platform) -> None:
    notary = platform.deployment.contract("Notary")
    h = bytes.fromhex(doc_hash("once")[2:])
    platform.relayer.transact(notary.functions.anchor(h, b"\0" * 32))
    with pytest.raises(ContractError) as caught:
        platform.relayer.transact(notary.functions.anchor(h, b"\0" * 32))
    err = caught.value
    assert err.error_name == "NotaryAlreadyAnchored"
    assert err.error_args == {"documentHash": h, "sequence": 1}
    assert err.status == 409
    with pytest.raises(ContractError, match="NotaryEmptyHash"):
        platform.relayer.transact(notary.functions.anchor(b"\0" * 32, b"\0" * 32), simulate=True)


def test_role_checks_of_openzeppelin_are_decoded(platform: Platform, new_account) -> None:  # type: ignore[no-untyped-def]
    notary = platform.deployment.contract("Notary")
    stranger = new_account()
    with pytest.raises(ContractError) as caught:
        platform.relayer.call(notary.functions.anchor(b"\1" * 32, b"\0" * 32), sender=stranger.address)
    assert caught.value.error_name == "AccessControlUnauthorizedAccount"
    assert caught.value.error_args["account"] == stranger.address
    assert caught.value.status == 403


# -- API -----------------------------------------------------------------------------------


def test_health_and_chain(api: httpx.Client, platform: Platform) -> None:
    health = api.get("/health").json()
    assert health["status"] == "ok" and health["chain_reachable"] and health["deployment_matches"]
    info = api.get("/chain").json()
    assert info["chain_id"] == platform.chain.chain_id
    assert set(info["contracts"]) >= {"Notary", "CitizenRegistry"}
    assert info["compiler_version"].startswith("0.8.28")
    assert api.get("/openapi.json").status_code == 200


def test_anchor_through_the_api_and_errors_are_4xx_json(notary: httpx.Client) -> None:
    created = notary.post("/notary/anchors", json={"document_hash": doc_hash(1), "kind": "audit-trail"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["sequence"] == 1 and body["tx_hash"].startswith("0x")
    looked_up = notary.get(f"/notary/anchors/{doc_hash(1)}").json()
    assert (looked_up["block_number"], looked_up["tx_hash"], looked_up["kind"]) == (
        body["block_number"],
        body["tx_hash"],
        "audit-trail",
    )  # the transaction and kind come from the index (storage keeps only time, block, sequence)

    again = notary.post("/notary/anchors", json={"document_hash": doc_hash(1)})
    assert again.status_code == 409
    assert again.json()["error"] == "NotaryAlreadyAnchored"
    assert "sequence=1" in again.json()["message"]

    bad = notary.post("/notary/anchors", json={"document_hash": "0x1234"})
    assert bad.status_code == 422
    assert bad.json()["error"] == "invalid_input"
    assert "document_hash" in bad.json()["message"] and "32 bytes" in bad.json()["message"]

    missing = notary.get(f"/notary/anchors/{doc_hash('never')}")
    assert missing.status_code == 404 and missing.json()["error"] == "anchor_not_found"


def test_fifty_concurrent_relayed_transactions_are_all_mined_with_distinct_nonces(
    notary: httpx.Client, platform: Platform
) -> None:
    start_nonce = platform.chain.w3.eth.get_transaction_count(platform.operator.address)

    def anchor(i: int) -> httpx.Response:
        return notary.post("/notary/anchors", json={"document_hash": doc_hash(f"concurrent {i}")})

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(anchor, range(50)))
    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses if r.status_code != 201]
    hashes = {r.json()["tx_hash"] for r in responses}
    assert len(hashes) == 50
    nonces = sorted(platform.chain.w3.eth.get_transaction(h)["nonce"] for h in hashes)
    assert nonces == list(range(start_nonce, start_nonce + 50))
    assert sorted(r.json()["sequence"] for r in responses) == list(range(1, 51))
    assert platform.deployment.contract("Notary").functions.anchorCount().call() == 50


# -- configuration -------------------------------------------------------------------------


def test_development_keys_are_refused_on_other_chains(anvil, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from eth_account import Account

    from civic_ledger.errors import ConfigError
    from tests.conftest import Anvil

    other = Anvil("--chain-id", "4242")
    try:
        with pytest.raises(ConfigError, match="chain id 4242 is not a development chain"):
            Platform.start(make_settings(other.url, tmp_path / "d"))

        # With an encrypted operator keystore (funded on that chain) it deploys and relays.
        funded_key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil account 1
        keystore = tmp_path / "operator.json"
        keystore.write_text(json.dumps(Account.encrypt(funded_key, "s3cret")))
        with pytest.raises(ConfigError, match="wrong password"):
            Platform.start(
                make_settings(other.url, tmp_path / "d", operator_keystore=keystore, keystore_password="nope")
            )
        p = Platform.start(
            make_settings(other.url, tmp_path / "d", operator_keystore=keystore, keystore_password="s3cret")
        )
        try:
            assert p.chain.chain_id == 4242 and not p.chain.is_development
            assert p.operator.address == Account.from_key(funded_key).address
            notary = p.deployment.contract("Notary")
            p.relayer.transact(notary.functions.anchor(b"\5" * 32, b"\0" * 32))
            assert notary.functions.anchorCount().call() == 1
        finally:
            p.close()
    finally:
        other.stop()


def test_eip712_helper_matches_the_contract_typehash_and_signature_check(platform: Platform, new_account) -> None:  # type: ignore[no-untyped-def]
    from civic_ledger.platform import eip712
    from tests.helpers import REGISTER_TYPES, make_registrar, register_citizen

    registry = platform.deployment.contract("CitizenRegistry")
    assert eip712.typehash("RegisterCitizen", REGISTER_TYPES) == registry.functions.REGISTER_CITIZEN_TYPEHASH().call()
    registrar = make_registrar(platform)
    citizen = new_account()
    citizen_id = register_citizen(platform, registrar, citizen.address, district=7)
    assert citizen_id == 1
    assert registry.functions.eligibilityOf(citizen.address).call()[:3] == [1, True, 7]


def test_relayer_recovers_when_another_client_used_the_operator_nonce(platform: Platform) -> None:
    notary = platform.deployment.contract("Notary")
    platform.relayer.transact(notary.functions.anchor(b"\3" * 32, b"\0" * 32))
    # Someone else sends from the operator account behind the relayer's back.
    signed = platform.operator.sign_transaction(
        {
            "to": platform.operator.address,
            "value": 0,
            "gas": 21000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
            "nonce": platform.chain.w3.eth.get_transaction_count(platform.operator.address),
            "chainId": platform.chain.chain_id,
        }
    )
    platform.chain.w3.eth.wait_for_transaction_receipt(
        platform.chain.w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    receipt = platform.relayer.transact(notary.functions.anchor(b"\4" * 32, b"\0" * 32))
    assert notary.functions.anchorOf(b"\4" * 32).call()[1] == receipt.block_number


def test_custom_error_with_a_single_string_argument_keeps_its_name(platform: Platform, tmp_path: Path) -> None:
    """eth-tester's provider reads ABI-string-shaped revert data as a reason; we must not."""
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "Thrower.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.28;\n"
        "contract Thrower { error ThrowerFailed(string reason);\n"
        '  function f() external pure { revert ThrowerFailed("nope"); } }\n'
    )
    art = compile_contracts(tmp_path / "build", contracts).artifact("Thrower")
    receipt = platform.relayer.deploy(art.bytecode)
    thrower = platform.chain.w3.eth.contract(address=receipt.raw["contractAddress"], abi=art.abi)
    platform.relayer.decoder.add_abi("Thrower", art.abi)
    with pytest.raises(ContractError) as caught:
        platform.relayer.call(thrower.functions.f())
    assert caught.value.error_name == "ThrowerFailed"
    assert caught.value.error_args == {"reason": "nope"}
    with pytest.raises(ContractError) as mined:
        platform.relayer.transact(thrower.functions.f())
    assert mined.value.error_name == "ThrowerFailed"


def test_read_only_json_rpc_endpoint_serves_standard_clients(notary: httpx.Client, platform: Platform) -> None:
    from web3 import HTTPProvider, Web3

    created = notary.post("/notary/anchors", json={"document_hash": doc_hash("rpc")}).json()
    w3 = Web3(HTTPProvider(f"{notary.base_url}/rpc"))
    assert w3.eth.chain_id == platform.chain.chain_id
    assert w3.eth.block_number == platform.chain.head()
    notary_address = platform.deployment.address("Notary")
    contract = w3.eth.contract(address=notary_address, abi=platform.build.artifact("Notary").abi)
    assert contract.functions.anchorCount().call() == 1
    receipt = w3.eth.get_transaction_receipt(created["tx_hash"])
    assert receipt["status"] == 1 and receipt["blockNumber"] == created["block_number"]
    (log,) = contract.events.DocumentAnchored().get_logs(from_block=0)
    assert "0x" + log["args"]["documentHash"].hex() == doc_hash("rpc")
    assert bytes(w3.eth.get_code(notary_address)) == bytes(platform.chain.w3.eth.get_code(notary_address))
    # Reverts come back as standard JSON-RPC errors with the revert data.
    with pytest.raises(Exception) as caught:
        contract.functions.anchor(b"\0" * 32, b"\0" * 32).call({"from": platform.operator.address})
    assert "0x" in str(caught.value) or "revert" in str(caught.value).lower()
    # Anything that would sign or send is refused.
    refused = notary.post(
        "/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction", "params": [{}]}
    ).json()
    assert refused["error"]["code"] == -32601 and "read-only" in refused["error"]["message"]
    batch = notary.post("/rpc", json=[{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}]).json()
    assert batch[0]["result"] == hex(platform.chain.chain_id)


def test_malformed_bodies_and_hex_are_422_naming_the_problem(notary: httpx.Client) -> None:
    """Bad input is a 422 that says what is wrong: not a 500, not "1: JSON decode error"."""
    broken = notary.post("/notary/anchors", content=b'{"document_hash": ', headers={"content-type": "application/json"})
    assert broken.status_code == 422 and broken.json()["error"] == "invalid_input"
    assert "not valid JSON" in broken.json()["message"] and broken.json()["details"][0]["field"] == "body"

    form = notary.post("/notary/anchors", content=b"document_hash=0x12", headers={"content-type": "text/plain"})
    assert form.status_code == 422 and "Content-Type: application/json" in form.json()["message"]
    array = notary.post("/notary/anchors", json=[doc_hash(2)])
    assert array.status_code == 422 and "must be a JSON object" in array.json()["message"]

    # Whitespace inside the hex was accepted (bytes.fromhex skips it) and echoed back as "0xab ab ...".
    spaced = "0x" + " ".join(["ab"] * 32)
    r = notary.post("/notary/anchors", json={"document_hash": spaced})
    assert r.status_code == 422 and "not hexadecimal" in r.json()["message"], r.text
    r = notary.get("/notary/anchors/0x" + "ab%20" * 31 + "ab")
    assert r.status_code == 422 and "not hexadecimal" in r.json()["message"], r.text
    odd = notary.post("/notary/anchors", json={"document_hash": "0x" + "a" * 63})
    assert odd.status_code == 422 and "odd number of hex digits" in odd.json()["message"]


def test_a_body_json_can_not_read_is_a_4xx_saying_why(notary: httpx.Client) -> None:
    for content in (b'{"document_hash": ' + b"9" * 5000 + b"}", b'{"document_hash": "\xff\xfe"}'):
        r = notary.post("/notary/anchors", content=content, headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_input", r.text
        assert "could not be read as JSON" in r.json()["message"]


@pytest.mark.parametrize("chain_url", ["embedded"], indirect=True)
def test_embedded_chain_time_follows_the_wall_clock_between_transactions(platform: Platform) -> None:
    """A block is stamped when it is mined, not when the block before it was (py-evm's default)."""
    import time

    w3 = platform.chain.w3
    head_ts = int(w3.eth.get_block("latest")["timestamp"])
    # Blocks mined faster than one a second run ahead of the clock (+1 s each); wait until idle
    # time has passed the head, as it does between requests of a real service.
    deadline = time.monotonic() + 60
    while time.time() < head_ts + 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    sent_at = int(time.time())
    notary = platform.deployment.contract("Notary")
    receipt = platform.relayer.transact(notary.functions.anchor(b"\x0a" * 32, b"\0" * 32))
    mined_ts = int(w3.eth.get_block(receipt.block_number)["timestamp"])
    assert mined_ts >= sent_at > head_ts + 1
    assert notary.functions.anchorOf(b"\x0a" * 32).call()[0] == mined_ts


@pytest.mark.parametrize("chain_url", ["embedded"], indirect=True)
def test_deeply_nested_or_huge_bodies_are_refused_before_parsing(notary: httpx.Client) -> None:
    # py-evm raises the recursion limit to 100,000: parsing this would overflow the C stack.
    deep = b'{"document_hash":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = notary.post("/notary/anchors", content=deep, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert "nested deeper than 64 levels" in r.json()["message"]
    huge = notary.post(
        "/notary/anchors", content=b" " * (9 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert huge.status_code == 413 and huge.json()["error"] == "body_too_large"
    assert notary.get("/health").json()["status"] == "ok"  # the server is still up
    # Brackets inside strings do not count.
    ok = notary.post(
        "/notary/anchors", json={"document_hash": doc_hash("brackets"), "kind": "doc"}, headers={"x": "[" * 10}
    )
    assert ok.status_code == 201


@pytest.mark.parametrize("chain_url", ["embedded"], indirect=True)
def test_redeploying_a_changed_contract_also_redeploys_its_dependents(platform: Platform) -> None:
    from civic_ledger.platform.deploy import deploy_all

    path = manifest_path(platform.settings.data_dir, platform.chain.chain_id)
    manifest = json.loads(path.read_text())
    old = {name: e["address"] for name, e in manifest["contracts"].items()}
    manifest["contracts"]["CitizenRegistry"]["creation_hash"] = "0x" + "00" * 32  # as if its source changed
    path.write_text(json.dumps(manifest))
    with pytest.raises(DeploymentMismatch, match="CitizenRegistry: the contract source changed"):
        deploy_all(platform.chain, platform.build, platform.relayer, platform.settings.data_dir)
    d = deploy_all(platform.chain, platform.build, platform.relayer, platform.settings.data_dir, redeploy_changed=True)
    new = d.addresses()
    assert new["CitizenRegistry"] != old["CitizenRegistry"]
    assert new["Notary"] == old["Notary"]  # unrelated: kept
    for dependent in ("MVoting", "LaborRecords", "CivicMileage", "SubcontractPayments"):
        assert new[dependent] != old[dependent], dependent
        assert new["CitizenRegistry"] in d.entries[dependent]["args"]
    assert d.contract("MVoting").functions.registry().call() == new["CitizenRegistry"]


def test_rpc_refuses_non_json_numbers_and_empty_or_huge_batches(api: httpx.Client) -> None:
    """``NaN`` as an id used to answer 500."""
    headers = {"content-type": "application/json"}
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = '{"jsonrpc": "2.0", "id": ' + constant + ', "method": "eth_chainId", "params": []}'
        r = api.post("/rpc", content=body, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["error"]["code"] == -32700 and constant.lstrip("-") in r.json()["error"]["message"]
    r = api.post("/rpc", content="[]", headers=headers)
    assert r.json()["error"] == {"code": -32600, "message": "invalid request: the batch is empty"}
    r = api.post("/rpc", json=[{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(101)])
    assert r.json()["error"]["code"] == -32600 and "at most 100" in r.json()["error"]["message"]
    r = api.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    assert r.json()["result"].startswith("0x")
