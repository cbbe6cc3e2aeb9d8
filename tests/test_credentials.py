"""Online credentials: registry governance, signed issuance (single and batch), status changes,
verification check by check, selective disclosure, presentations, CLI verify against a node."""

from __future__ import annotations

import base64
import copy
import csv
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

from civic_ledger.credentials import document as D
from civic_ledger.credentials import service
from civic_ledger.credentials.cli import app as cli_app
from civic_ledger.credentials.verify import CHECKS, REGISTRY_VIEWS_ABI, build_presentation, presentation_typed
from civic_ledger.errors import ContractError
from civic_ledger.platform import eip712
from civic_ledger.platform.deploy import manifest_path
from civic_ledger.platform.runtime import Platform
from civic_ledger.types import example_document
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import assert_error, make_registrar, ok, register_citizen, sign_in, travel

PASSWORD = "correct horse"


@dataclass
class Env:
    platform: Platform
    api: httpx.Client
    issuer_id: str
    type_id: str
    key: LocalAccount
    holders: list[LocalAccount]
    anvil_url: str | None

    @property
    def registry(self) -> Any:
        return self.platform.deployment.contract("CredentialRegistry")


def new_issuer(
    env: Env, code: str, *, key: LocalAccount | None = None, allow: bool = True, **window: int
) -> tuple[str, LocalAccount]:
    issuer_id = ok(env.api.post("/credentials/issuers", json={"code": code, "name": f"Agency {code}"}), 201)[
        "issuer_id"
    ]
    key = key or Account.create()
    ok(env.api.post(f"/credentials/issuers/{issuer_id}/keys", json={"key": key.address, **window}), 201)
    if allow:
        ok(env.api.post(f"/credentials/types/{env.type_id}/issuers", json={"issuer_id": issuer_id}), 201)
    return issuer_id, key


def draft(
    env: Env,
    *,
    issuer_id: str | None = None,
    type_id: str | None = None,
    key: LocalAccount | None = None,
    holder: LocalAccount | None = None,
    claims: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "issuer_id": issuer_id or env.issuer_id,
        "type_id": type_id or env.type_id,
        "key": (key or env.key).address,
        "subject": (holder or env.holders[0]).address,
        "claims": claims or {"course": "Welding II", "hours": 40, "grade": "A"},
        **extra,
    }
    return dict(ok(env.api.post("/credentials/issue/typed-data", json=body)))


def sign(key: LocalAccount, typed_data: dict[str, Any]) -> str:
    return "0x" + bytes(key.sign_message(encode_typed_data(full_message=typed_data)).signature).hex()


def issue_body(td: dict[str, Any], key: LocalAccount, issue_key: LocalAccount | None = None) -> dict[str, Any]:
    return {
        "draft": td["draft"],
        "credential_signature": sign(key, td["credential_typed_data"]),
        "issue_signature": sign(issue_key or key, td["issue_typed_data"]),
    }


def issue(env: Env, *, key: LocalAccount | None = None, **kw: Any) -> dict[str, Any]:
    td = draft(env, key=key, **kw)
    return dict(ok(env.api.post("/credentials/issue", json=issue_body(td, key or env.key)), 201))


def unanchored_document(env: Env, td: dict[str, Any], key: LocalAccount) -> dict[str, Any]:
    """The document an issuer would hold if it signed a draft that was never (or could not be) anchored."""
    typed = eip712.TypedMessage.from_dict(td["credential_typed_data"])
    return D.build_document(
        typed=typed,
        signature=sign(key, td["credential_typed_data"]),
        key=key.address,
        issuer_name="Nobody",
        claims=td["draft"]["claims"],
        anchor_id=td["credential_hash"],
    )


def verify(env: Env, doc: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return dict(ok(env.api.post("/credentials/verify", json={"document": doc, **extra})))


def checks(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["checks"]}


def assert_only_failing(report: dict[str, Any], *failing: str) -> None:
    """The named checks fail, every other one passes or is skipped (never a wrong check failing)."""
    got = checks(report)
    assert list(got) == list(CHECKS)
    assert report["valid"] is False and report["verdict"] == "invalid"
    for name in failing:
        assert got[name] == "fail", (name, report["checks"])
    for name, st in got.items():
        if name not in failing:
            assert st in ("pass", "skipped"), (name, report["checks"])


def status_change(
    env: Env, action: str, refs: list[dict[str, Any]], *, key: LocalAccount | None = None, issuer_id: str | None = None
) -> tuple[dict[str, Any], httpx.Response]:
    key = key or env.key
    body = {"issuer_id": issuer_id or env.issuer_id, "key": key.address, "credentials": refs}
    typed = ok(env.api.post(f"/credentials/status/{action}/typed-data", json=body))
    assert set(typed) == set(example_document("credentials-status-typed-data"))  # the OpenAPI example's shape
    full = {
        **body,
        "deadline": typed["message"]["deadline"],
        "nonce": typed["message"].get("nonce"),
        "signature": sign(key, typed),
    }
    return full, env.api.post(f"/credentials/status/{action}", json=full)


def ref(doc: dict[str, Any]) -> dict[str, Any]:
    return {"anchor_id": doc["credentialStatus"]["anchorId"], "position": doc["credentialStatus"]["position"]}


def tx_events(env: Env, tx_hash: str, event: str) -> list[dict[str, Any]]:
    receipt = env.platform.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    return [dict(e["args"]) for e in getattr(env.registry.events, event)().process_receipt(receipt)]


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    # A node of our own: ``travel`` moves chain time (see ``module_chain``).
    with (
        module_chain(request, own_anvil=True) as chain,
        started_platform(chain, tmp_path_factory.mktemp("credentials")) as platform,
        LiveServer(platform) as server,
    ):
        registrar = make_registrar(platform)
        holders = [Account.create() for _ in range(3)]
        for h in holders:
            register_citizen(platform, registrar, h.address)
        with server.client(timeout=120) as client:
            client.headers["Authorization"] = f"Bearer {sign_in(client, platform.operator)}"
            type_id = ok(
                client.post("/credentials/types", json={"code": "welding-course", "name": "Welding course"}), 201
            )["type_id"]
            anvil_url = None if chain == "embedded" else chain
            e = Env(platform, client, "", type_id, Account.create(), holders, anvil_url)
            e.issuer_id, _ = new_issuer(e, "training-centre", key=e.key)
            yield e


# -- EIP-712 types and the verifier's ABI -----------------------------------------------------------


def test_python_types_hash_to_the_contract_typehashes(env: Env) -> None:
    f = env.registry.functions
    assert f.ISSUE_TYPEHASH().call() == eip712.typehash("Issue", D.ISSUE_TYPES)
    assert f.ISSUE_BATCH_TYPEHASH().call() == eip712.typehash("IssueBatch", D.ISSUE_BATCH_TYPES)
    for action in ("revoke", "suspend", "reinstate"):
        primary = action.capitalize()
        assert getattr(f, f"{action.upper()}_TYPEHASH")().call() == eip712.typehash(primary, D.status_types(action))
    assert "nonce" not in str(D.ISSUE_TYPES) and "nonce" not in str(D.status_types("revoke"))
    # The merkle leaf encoding matches the contract's.
    h = D.code_id("x")
    assert f.batchLeaf(D.b32(h), 7).call() == D.batch_leaf(h, 7)


def test_verifier_abi_matches_the_compiled_registry(env: Env) -> None:
    compiled = {
        i["name"]: i for i in env.platform.build.artifacts["CredentialRegistry"].abi if i.get("type") == "function"
    }
    for item in REGISTRY_VIEWS_ABI:
        c = compiled[item["name"]]
        assert [i["type"] for i in c["inputs"]] == [i["type"] for i in item["inputs"]], item["name"]

        def shape(outs: list[dict[str, Any]]) -> list[Any]:
            return [(o["type"], shape(o.get("components", []))) for o in outs]

        assert shape(c["outputs"]) == shape(item["outputs"]), item["name"]


# -- governance ------------------------------------------------------------------------------------


def test_issuer_and_type_registration_emit_events_and_reject_duplicates(env: Env) -> None:
    issuer = ok(env.api.get(f"/credentials/issuers/{env.issuer_id}"))
    assert issuer["name"] == "Agency training-centre" and issuer["keys"][0]["key"] == env.key.address
    assert issuer["keys"][0]["valid_now"] is True and issuer["keys"][0]["valid_until"] is None
    assert ok(env.api.get(f"/credentials/types/{env.type_id}"))["name"] == "Welding course"
    r = env.api.post("/credentials/issuers", json={"code": "training-centre", "name": "Again"})
    assert_error(r, 409, "CredentialRegistryIssuerAlreadyRegistered", env.issuer_id)
    out = ok(env.api.post("/credentials/issuers", json={"code": "gov-events", "name": "Events Office"}), 201)
    (ev,) = tx_events(env, out["tx_hash"], "IssuerRegistered")
    assert D.hx(ev["issuerId"]) == out["issuer_id"] == D.code_id("gov-events") and ev["name"] == "Events Office"
    assert_error(env.api.get(f"/credentials/issuers/{D.code_id('nope')}"), 404, "issuer_not_found")
    r = env.api.post(f"/credentials/types/{env.type_id}/issuers", json={"issuer_id": env.issuer_id})
    assert_error(r, 409, "CredentialRegistryIssuerAlreadyAllowed")
    r = env.api.post("/credentials/issuers", json={"code": "bad code!", "name": "x"})
    assert r.status_code == 422 and "code" in r.text


def test_governance_needs_the_city_admin_signed_in(env: Env) -> None:
    body = {"code": "sneaky", "name": "Sneaky"}
    anonymous = env.api.post("/credentials/issuers", json=body, headers={"Authorization": ""})
    assert_error(anonymous, 401, "not_signed_in")
    # an issuer key is an agency with no admin role: it can not sign in as one
    # (agency sign-in needs some role); a citizen can sign in but holds no admin role
    token = sign_in(env.api, env.holders[0])
    r = env.api.post("/credentials/issuers", json=body, headers={"Authorization": f"Bearer {token}"})
    assert_error(r, 403, "missing_role", "CredentialRegistry.DEFAULT_ADMIN_ROLE")
    r = env.api.post(
        f"/credentials/types/{env.type_id}/issuers",
        json={"issuer_id": env.issuer_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403
    assert_error(env.api.get(f"/credentials/issuers/{D.code_id('sneaky')}"), 404, "issuer_not_found")


# -- issuance and acceptance -----------------------------------------------------------------------


def test_issue_through_the_api_anchors_the_eip712_digest_and_the_document_verifies(env: Env) -> None:
    out = issue(env)
    doc = out["document"]
    h = out["credential_hash"]
    (ev,) = tx_events(env, out["tx_hash"], "CredentialAnchored")
    assert D.hx(ev["anchorId"]) == h and D.hx(ev["issuerId"]) == env.issuer_id and D.hx(ev["typeId"]) == env.type_id
    assert ev["key"] == env.key.address
    # W3C VC 2.0 shape
    assert doc["@context"][0] == "https://www.w3.org/ns/credentials/v2" and "VerifiableCredential" in doc["type"]
    assert doc["credentialSubject"]["id"] == f"did:pkh:eip155:{env.platform.chain.chain_id}:{env.holders[0].address}"
    assert doc["issuer"]["name"] == "Agency training-centre" and doc["credentialSchema"]["name"] == "Welding course"
    # The anchored hash is the EIP-712 digest of the document's own message, and standard tooling recovers the key.
    e = doc["proof"]["eip712"]
    signable = encode_typed_data(full_message=e)
    assert Account.recover_message(signable, signature=doc["proof"]["proofValue"]) == env.key.address
    assert D.hx(eip712.TypedMessage.from_dict(e).digest()) == h
    # no raw claim value in what is signed or anchored
    assert "Welding II" not in json.dumps(e)
    report = verify(env, doc)
    assert report["valid"] is True and report["verdict"] == "valid", report["checks"]
    assert set(checks(report).values()) == {"pass"}
    assert report["claims"] == {"course": "Welding II", "grade": "A", "hours": 40}
    st = ok(env.api.get(f"/credentials/status/{h}"))
    assert st["exists"] and st["batch"] is False and st["revoked"] is False and st["issuer_id"] == env.issuer_id


def test_acceptance_cli_verifies_an_api_credential_against_the_node_alone(env: Env, tmp_path: Path) -> None:
    if env.anvil_url is None:
        pytest.skip("the CLI verifies over JSON-RPC: anvil")
    doc = issue(env, holder=env.holders[1])["document"]
    path = tmp_path / "cred.json"
    path.write_text(json.dumps(doc))
    manifest = manifest_path(env.platform.settings.data_dir, env.platform.chain.chain_id)
    runner = CliRunner()
    result = runner.invoke(
        cli_app,
        ["verify", str(path), "--rpc-url", env.anvil_url, "--manifest", str(manifest), "--json"],
        env={"CIVIC_API_URL": "http://127.0.0.1:9"},
    )  # an unreachable API: not used
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["valid"] is True and set(checks(report).values()) == {"pass"}
    # tampered → exit code 1 and the claims check fails
    doc["credentialSubject"]["claims"][0]["value"] = "Forged"
    path.write_text(json.dumps(doc))
    result = runner.invoke(
        cli_app, ["verify", str(path), "--rpc-url", env.anvil_url, "--manifest", str(manifest), "--json"]
    )
    assert result.exit_code == 1
    assert checks(json.loads(result.output))["claims"] == "fail"
    # table output names every check and the deployment it trusted; --registry is only compared
    result = runner.invoke(
        cli_app,
        [
            "verify",
            str(path),
            "--rpc-url",
            env.anvil_url,
            "--manifest",
            str(manifest),
            "--registry",
            env.registry.address,
        ],
    )
    assert result.exit_code == 1 and "INVALID" in result.output and "claims" in result.output
    assert f"trusted deployment: chain id {env.platform.chain.chain_id}" in result.output
    assert str(manifest) in result.output.replace("\n", "")


def test_replayed_issuance_signature_is_rejected(env: Env) -> None:
    td = draft(env, claims={"course": "replay"})
    body = issue_body(td, env.key)
    ok(env.api.post("/credentials/issue", json=body), 201)
    assert_error(
        env.api.post("/credentials/issue", json=body), 409, "CredentialRegistryAlreadyAnchored", td["credential_hash"]
    )
    # an expired authorisation
    late = draft(env, claims={"course": "late"})
    late["draft"]["deadline"] = late["issue_typed_data"]["message"]["deadline"] = 1
    r = env.api.post("/credentials/issue", json=issue_body(late, env.key))
    assert_error(r, 422, "CredentialRegistrySignatureExpired")
    # straight on the contract too (not only the API's simulation)
    msg = td["issue_typed_data"]["message"]
    fn = env.registry.functions.issue(
        D.b32(env.issuer_id),
        D.b32(env.type_id),
        D.b32(td["credential_hash"]),
        env.key.address,
        msg["deadline"],
        bytes.fromhex(body["issue_signature"][2:]),
    )
    with pytest.raises(ContractError) as exc:
        env.platform.relayer.transact(fn)
    assert exc.value.error_name == "CredentialRegistryAlreadyAnchored" and exc.value.status == 409


def test_forged_signature_is_refused_at_issuance_and_fails_the_signature_check(env: Env) -> None:
    mallory = Account.create()
    td = draft(env, claims={"course": "forged"})
    r = env.api.post("/credentials/issue", json=issue_body(td, mallory, issue_key=env.key))
    assert_error(r, 403, "invalid_signature", "credential_signature", mallory.address)
    r = env.api.post("/credentials/issue", json=issue_body(td, env.key, issue_key=mallory))
    assert_error(r, 403, "invalid_signature", "issue_signature")
    # a genuine credential whose proofValue is replaced by another key's signature
    doc = issue(env, claims={"course": "genuine"})["document"]
    forged = copy.deepcopy(doc)
    forged["proof"]["proofValue"] = sign(mallory, doc["proof"]["eip712"])
    report = verify(env, forged)
    assert_only_failing(report, "signature")
    assert mallory.address in next(c for c in report["checks"] if c["name"] == "signature")["detail"]


def test_unregistered_issuer_cannot_issue_and_its_documents_fail_the_issuer_check(env: Env) -> None:
    rogue = Account.create()
    td = draft(env, issuer_id=D.code_id("rogue-agency"), key=rogue)
    r = env.api.post("/credentials/issue", json=issue_body(td, rogue))
    assert_error(r, 404, "CredentialRegistryUnknownIssuer", D.code_id("rogue-agency"))
    report = verify(env, unanchored_document(env, td, rogue))
    assert_only_failing(report, "issuer_key", "anchored")
    assert "not registered" in next(c for c in report["checks"] if c["name"] == "issuer_key")["detail"]


def test_key_outside_its_window_and_rotation(env: Env) -> None:
    later = int(time.time()) + 10**6
    issuer_id, future_key = new_issuer(env, "window-office", valid_from=later)
    # before validFrom: the contract refuses, and a self-anchored document fails the key check
    td = draft(env, issuer_id=issuer_id, key=future_key)
    r = env.api.post("/credentials/issue", json=issue_body(td, future_key))
    assert_error(r, 422, "CredentialRegistryKeyNotValid", future_key.address)
    report = verify(env, unanchored_document(env, td, future_key))
    assert_only_failing(report, "issuer_key", "anchored")
    # rotation: a credential signed with key A, then A retired and B added, still verifies
    key_a = Account.create()
    ok(env.api.post(f"/credentials/issuers/{issuer_id}/keys", json={"key": key_a.address}), 201)
    old = issue(env, issuer_id=issuer_id, key=key_a)["document"]
    out = ok(env.api.post(f"/credentials/issuers/{issuer_id}/keys/{key_a.address}/retire", json={}))
    (ev,) = tx_events(env, out["tx_hash"], "IssuerKeyRetired")
    assert ev["key"] == key_a.address
    key_b = Account.create()
    ok(env.api.post(f"/credentials/issuers/{issuer_id}/keys", json={"key": key_b.address}), 201)
    assert verify(env, old)["valid"] is True  # anchored while A was valid (even in the same second)
    # after retirement (which ends with the current second): key A can no longer issue
    travel(env.platform, 2)
    td = draft(env, issuer_id=issuer_id, key=key_a, claims={"course": "late"})
    assert_error(env.api.post("/credentials/issue", json=issue_body(td, key_a)), 422, "CredentialRegistryKeyNotValid")
    fresh = issue(env, issuer_id=issuer_id, key=key_b)["document"]
    assert verify(env, fresh)["valid"] is True
    # a retroactive retirement (compromise) voids what was anchored after it
    key_b_info = ok(env.api.get(f"/credentials/issuers/{issuer_id}"))["keys"][-1]
    ok(
        env.api.post(
            f"/credentials/issuers/{issuer_id}/keys/{key_b.address}/retire",
            json={"valid_until": key_b_info["valid_from"]},
        )
    )
    assert_only_failing(verify(env, fresh), "issuer_key")


def test_type_not_allowed(env: Env) -> None:
    other = ok(env.api.post("/credentials/types", json={"code": "forklift-licence", "name": "Forklift licence"}), 201)[
        "type_id"
    ]
    td = draft(env, type_id=other)
    r = env.api.post("/credentials/issue", json=issue_body(td, env.key))
    assert_error(r, 422, "CredentialRegistryTypeNotAllowed", other)
    report = verify(env, unanchored_document(env, td, env.key))
    assert_only_failing(report, "type_allowed", "anchored")
    unknown = D.code_id("no-such-type")
    td = draft(env, type_id=unknown)
    assert_error(env.api.post("/credentials/issue", json=issue_body(td, env.key)), 404, "CredentialRegistryUnknownType")


def test_tampered_claim_and_document_fields(env: Env) -> None:
    doc = issue(env, claims={"course": "Plumbing", "hours": 12})["document"]
    tampered = copy.deepcopy(doc)
    tampered["credentialSubject"]["claims"][1]["value"] = 120  # hours
    assert_only_failing(verify(env, tampered), "claims")
    moved = copy.deepcopy(doc)
    moved["credentialSubject"]["id"] = D.did_pkh(env.platform.chain.chain_id, env.holders[2].address)
    assert_only_failing(verify(env, moved), "document")
    extended = copy.deepcopy(doc)
    extended["validUntil"] = "2099-01-01T00:00:00Z"
    assert_only_failing(verify(env, extended), "document")


def test_selective_disclosure(env: Env) -> None:
    doc = issue(env, claims={"course": "Electrics", "hours": 30, "grade": "B", "birthYear": 1990})["document"]
    partial = D.withhold(doc, ["course"])
    entries = partial["credentialSubject"]["claims"]
    assert [e.get("name") for e in entries if "value" in e] == ["course"]
    assert sum(1 for e in entries if set(e) == {"digest"}) == 3
    # Nothing of a withheld claim is left but its digest (no name, value or salt; the digests are
    # random-looking hex, so look at the values, not for the text "1990" in them).
    withheld = [e for e in entries if "value" not in e]
    assert all(set(e) == {"digest"} for e in withheld)
    values = [v for e in entries for k, v in e.items() if k != "digest"]
    assert 1990 not in values and "birthYear" not in values and "1990" not in values
    report = verify(env, partial)
    assert report["valid"] is True and report["claims"] == {"course": "Electrics"}
    assert (
        "1 disclosed claim(s) match their digests, 3 withheld"
        in next(c for c in report["checks"] if c["name"] == "claims")["detail"]
    )
    partial["credentialSubject"]["claims"][[e.get("name") for e in entries].index("course")]["value"] = "Nuclear"
    assert_only_failing(verify(env, partial), "claims")


def test_batch_issuance_merkle_proofs_and_a_wrong_proof(env: Env, tmp_path: Path) -> None:
    body = {
        "issuer_id": env.issuer_id,
        "type_id": env.type_id,
        "key": env.key.address,
        "credentials": [
            {"subject": h.address, "claims": {"course": "Batch", "seat": i}} for i, h in enumerate(env.holders)
        ],
    }
    td = ok(env.api.post("/credentials/batches/typed-data", json=body))
    sigs = [sign(env.key, t) for t in td["credential_typed_data"]]
    create = {
        "issuer_id": env.issuer_id,
        "type_id": env.type_id,
        "key": env.key.address,
        "deadline": td["deadline"],
        "drafts": td["drafts"],
        "credential_signatures": sigs,
        "batch_signature": sign(env.key, td["batch_typed_data"]),
    }
    out = ok(env.api.post("/credentials/batches", json=create), 201)
    (ev,) = tx_events(env, out["tx_hash"], "CredentialBatchAnchored")
    assert D.hx(ev["root"]) == out["root"] == td["root"] and ev["count"] == 3
    docs = out["documents"]
    for i, doc in enumerate(docs):
        assert doc["proof"]["merkle"]["position"] == i and doc["proof"]["merkle"]["root"] == out["root"]
        assert verify(env, doc)["valid"] is True
    # replaying the batch authorisation
    assert_error(env.api.post("/credentials/batches", json=create), 409, "CredentialRegistryAlreadyAnchored")
    # a wrong proof, a wrong position, another member's proof
    bad = copy.deepcopy(docs[0])
    bad["proof"]["merkle"]["proof"][0] = D.code_id("junk")
    assert_only_failing(verify(env, bad), "anchored")
    swapped = copy.deepcopy(docs[0])
    swapped["proof"]["merkle"]["position"] = swapped["credentialStatus"]["position"] = 1
    assert_only_failing(verify(env, swapped), "anchored")
    borrowed = copy.deepcopy(docs[0])
    borrowed["proof"]["merkle"]["proof"] = docs[1]["proof"]["merkle"]["proof"]
    assert_only_failing(verify(env, borrowed), "anchored")
    # revoke one member: only it is revoked
    _, r = status_change(env, "revoke", [ref(docs[2])])
    (rev,) = tx_events(env, ok(r)["tx_hash"], "CredentialRevoked")
    assert D.hx(rev["anchorId"]) == out["root"] and rev["position"] == 2
    assert_only_failing(verify(env, docs[2]), "not_revoked")
    assert verify(env, docs[1])["valid"] is True


def test_batch_from_csv_with_the_cli(env: Env, tmp_path: Path) -> None:
    if env.anvil_url is not None:
        pytest.skip("CLI batch flow: embedded only (same code path on both chains)")
    keystore = tmp_path / "issuer.json"
    keystore.write_text(json.dumps(Account.encrypt(env.key.key, PASSWORD, kdf="pbkdf2", iterations=1024)))
    path = tmp_path / "batch.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "course", "hours"])
        for h in env.holders:
            w.writerow([h.address, "CSV course", "8"])
    out_dir = tmp_path / "docs"
    runner = CliRunner()
    base = str(env.api.base_url).rstrip("/")
    result = runner.invoke(
        cli_app,
        [
            "issue-batch",
            str(path),
            "--issuer",
            env.issuer_id,
            "--type",
            env.type_id,
            "--keystore",
            str(keystore),
            "--out-dir",
            str(out_dir),
            "--password",
            PASSWORD,
            "--api",
            base,
        ],
    )
    assert result.exit_code == 0, result.output
    files = sorted(out_dir.glob("*.json"))
    assert len(files) == 3
    doc = json.loads(files[1].read_text())
    assert doc["credentialSubject"]["claims"][1] == {
        **doc["credentialSubject"]["claims"][1],
        "name": "hours",
        "value": 8,
    }
    assert verify(env, doc)["valid"] is True
    # suspend it with the CLI, then look at its status
    result = runner.invoke(
        cli_app, ["suspend", str(files[1]), "--keystore", str(keystore), "--password", PASSWORD, "--api", base]
    )
    assert result.exit_code == 0, result.output
    assert_only_failing(verify(env, doc), "not_suspended")
    result = runner.invoke(cli_app, ["status", str(files[1]), "--api", base])
    assert result.exit_code == 0 and "yes" in result.output


def test_revoked(env: Env) -> None:
    doc = issue(env, claims={"course": "to revoke"})["document"]
    full, r = status_change(env, "revoke", [ref(doc)])
    (ev,) = tx_events(env, ok(r)["tx_hash"], "CredentialRevoked")
    assert D.hx(ev["anchorId"]) == doc["credentialStatus"]["anchorId"] and D.hx(ev["issuerId"]) == env.issuer_id
    assert ev["key"] == env.key.address  # the signing key is in the event, not only in the calldata
    assert_only_failing(verify(env, doc), "not_revoked")
    assert ok(env.api.get(f"/credentials/status/{ref(doc)['anchor_id']}"))["revoked"] is True
    # the same signed revocation again (no nonce): revocation is permanent
    assert_error(env.api.post("/credentials/status/revoke", json=full), 409, "CredentialRegistryAlreadyRevoked")
    # out of range, unknown anchor, expired deadline
    _, r = status_change(env, "revoke", [{"anchor_id": ref(doc)["anchor_id"], "position": 1}])
    assert_error(r, 422, "CredentialRegistryPositionOutOfRange")
    _, r = status_change(env, "revoke", [{"anchor_id": D.code_id("never anchored"), "position": 0}])
    assert_error(r, 404, "CredentialRegistryUnknownAnchor")
    # another issuer may not revoke it
    other, other_key = new_issuer(env, "other-office")
    fresh = issue(env, claims={"course": "mine"})["document"]
    _, r = status_change(env, "revoke", [ref(fresh)], key=other_key, issuer_id=other)
    assert_error(r, 403, "CredentialRegistryNotAnchorIssuer")  # was 422: not the anchor's issuer is not allowed
    # a revocation signed by a non-key
    mallory = Account.create()
    typed = ok(
        env.api.post(
            "/credentials/status/revoke/typed-data",
            json={"issuer_id": env.issuer_id, "key": env.key.address, "credentials": [ref(fresh)]},
        )
    )
    r = env.api.post(
        "/credentials/status/revoke",
        json={
            "issuer_id": env.issuer_id,
            "key": env.key.address,
            "credentials": [ref(fresh)],
            "deadline": typed["message"]["deadline"],
            "signature": sign(mallory, typed),
        },
    )
    assert_error(r, 403, "invalid_signature")
    assert verify(env, fresh)["valid"] is True


def test_suspended_then_reinstated(env: Env) -> None:
    doc = issue(env, claims={"course": "to suspend"})["document"]
    suspend_body, r = status_change(env, "suspend", [ref(doc)])
    (ev,) = tx_events(env, ok(r)["tx_hash"], "CredentialSuspended")
    assert D.hx(ev["anchorId"]) == ref(doc)["anchor_id"]
    assert_only_failing(verify(env, doc), "not_suspended")
    _, r = status_change(env, "suspend", [ref(doc)])
    assert_error(r, 409, "CredentialRegistryAlreadySuspended")
    _, r = status_change(env, "reinstate", [ref(doc)])
    assert tx_events(env, ok(r)["tx_hash"], "CredentialReinstated")
    assert verify(env, doc)["valid"] is True
    # replaying the old suspension: its nonce is spent
    r = env.api.post("/credentials/status/suspend", json=suspend_body)
    assert_error(r, 409, "CredentialRegistryInvalidNonce")  # was 422: a spent nonce is 409, as InvalidAccountNonce
    _, r = status_change(env, "reinstate", [ref(doc)])
    assert_error(r, 409, "CredentialRegistryNotSuspended")  # was 422: 409 as CitizenRegistryNotSuspended


def test_expired(env: Env) -> None:
    until = int(time.time()) + 3600
    doc = issue(env, claims={"course": "short"}, valid_until=until)["document"]
    assert doc["validUntil"] == D.iso(until)
    assert verify(env, doc)["valid"] is True
    report = verify(env, doc, at=until)
    assert_only_failing(report, "not_expired")
    assert "expired" in next(c for c in report["checks"] if c["name"] == "not_expired")["detail"]
    r = env.api.post(
        "/credentials/issue/typed-data",
        json={
            "issuer_id": env.issuer_id,
            "type_id": env.type_id,
            "key": env.key.address,
            "subject": env.holders[0].address,
            "claims": {"a": 1},
            "valid_from": until,
            "valid_until": until - 1,
        },
    )
    assert_error(r, 422, "invalid_input", "valid_until")


def test_presentation_by_the_holder_and_by_a_non_holder(env: Env) -> None:
    holder = env.holders[2]
    doc = issue(env, holder=holder, claims={"course": "present"})["document"]
    audience, nonce = "https://employer.example", "n-" + base64.b16encode(b"12345678").decode()
    typed = ok(
        env.api.post(
            "/credentials/presentations/typed-data", json={"document": doc, "audience": audience, "nonce": nonce}
        )
    )
    assert set(typed) == set(example_document("credentials-presentation-typed-data"))  # the OpenAPI example's shape
    pres = build_presentation(doc, audience, nonce, sign(holder, typed))
    out = ok(
        env.api.post(
            "/credentials/presentations/verify", json={"presentation": pres, "audience": audience, "nonce": nonce}
        )
    )
    assert out["valid"] is True and out["presenter"] == holder.address
    # someone else holding a copy of the document
    thief = Account.create()
    stolen = build_presentation(doc, audience, nonce, sign(thief, typed))
    out = ok(
        env.api.post(
            "/credentials/presentations/verify", json={"presentation": stolen, "audience": audience, "nonce": nonce}
        )
    )
    assert out["valid"] is False and out["presenter"] == thief.address
    assert {c["name"]: c["status"] for c in out["checks"]} == {"challenge": "pass", "holder": "fail"}
    assert out["credential"]["valid"] is True
    # a replayed presentation for another verifier's nonce
    out = ok(
        env.api.post(
            "/credentials/presentations/verify",
            json={"presentation": pres, "audience": audience, "nonce": "other-nonce"},
        )
    )
    assert out["valid"] is False and {c["name"]: c["status"] for c in out["checks"]}["challenge"] == "fail"
    # the CLI signs a presentation offline the same way
    local = presentation_typed(
        env.platform.chain.chain_id, env.registry.address, D.credential_hash(D.typed_of_document(doc)), audience, nonce
    )
    assert local.to_dict() == typed


def test_bad_input_is_4xx_naming_the_field(env: Env) -> None:
    r = env.api.post(
        "/credentials/issue/typed-data",
        json={
            "issuer_id": "0x12",
            "type_id": env.type_id,
            "key": env.key.address,
            "subject": env.holders[0].address,
            "claims": {"a": 1},
        },
    )
    assert r.status_code == 422 and "issuer_id" in r.text
    r = env.api.post(
        "/credentials/issue/typed-data",
        json={"issuer_id": env.issuer_id, "type_id": env.type_id, "key": env.key.address, "claims": {"a": 1}},
    )
    assert r.status_code == 422 and "subject" in r.text
    stranger = Account.create()
    r = env.api.post(
        "/credentials/issue/typed-data",
        json={
            "issuer_id": env.issuer_id,
            "type_id": env.type_id,
            "key": env.key.address,
            "subject": stranger.address,
            "claims": {"a": 1},
        },
    )
    assert_error(r, 422, "invalid_input", "not an active citizen")
    assert_error(
        env.api.post("/credentials/verify", json={"document": {"hello": 1}}), 422, "invalid_input", "credentialSubject"
    )
    assert_error(env.api.get(f"/credentials/status/{D.code_id('none')}"), 404, "anchor_not_found")
    td = draft(env, claims={"x": 1})
    td["draft"]["claims"][0]["value"] = 2
    r = env.api.post("/credentials/issue", json=issue_body(td, env.key))
    assert_error(r, 422, "invalid_input", "claims do not hash")
    for field, value in (("subject", "nobody"), ("validFrom", -5), ("claimDigests", "x"), ("salt", "0x1234")):
        broken = copy.deepcopy(td)
        broken["draft"]["credential"][field] = value
        r = env.api.post("/credentials/issue", json=issue_body(broken, env.key))
        assert r.status_code == 422 and r.json()["error"] == "invalid_input", (field, r.text)
    broken = copy.deepcopy(td)
    del broken["draft"]["credential"]["typeId"]
    assert_error(env.api.post("/credentials/issue", json=issue_body(broken, env.key)), 422, "invalid_input", "typeId")
    r = env.api.post(
        "/credentials/status/suspend",
        json={
            "issuer_id": env.issuer_id,
            "key": env.key.address,
            "credentials": [{"anchor_id": td["credential_hash"]}],
            "deadline": 1,
            "signature": "0x" + "11" * 65,
        },
    )
    assert_error(r, 422, "invalid_input", "nonce")


def test_citizen_id_subject_and_qr_export(env: Env, tmp_path: Path) -> None:
    if env.anvil_url is not None:
        pytest.skip("embedded only")
    citizen_id = (
        env.platform.deployment.contract("CitizenRegistry").functions.citizenIdOf(env.holders[1].address).call()
    )
    body = {
        "issuer_id": env.issuer_id,
        "type_id": env.type_id,
        "key": env.key.address,
        "citizen_id": citizen_id,
        "claims": {"q": "r"},
    }
    td = ok(env.api.post("/credentials/issue/typed-data", json=body))
    assert td["draft"]["credential"]["subject"] == env.holders[1].address
    doc = ok(env.api.post("/credentials/issue", json=issue_body(td, env.key)), 201)["document"]
    r = env.api.post("/credentials/qr", json={"document": doc})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert service.document_of_qr_payload(service.qr_payload(doc, None)) == doc
    r = env.api.post("/credentials/qr", json={"url": "https://city.example/c/1"})
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    assert env.api.post("/credentials/qr", json={}).status_code == 422


def test_cli_operator_issue_disclose_present_and_qr(env: Env, tmp_path: Path) -> None:
    if env.anvil_url is None:
        pytest.skip("verify-presentation talks JSON-RPC: anvil")
    runner = CliRunner()
    base = str(env.api.base_url).rstrip("/")
    token = env.api.headers["Authorization"].removeprefix("Bearer ")
    pw = {"CIVIC_KEYSTORE_PASSWORD": PASSWORD, "CIVIC_API_URL": base, "CIVIC_TOKEN": token}

    def cli(*args: str) -> str:
        result = runner.invoke(cli_app, list(args), env=pw)
        assert result.exit_code == 0, result.output
        return str(result.output)

    # the operator registers an agency, the agency creates its key, the operator adds it
    issuer_keystore = tmp_path / "agency.json"
    out = cli("new-key", "--out", str(issuer_keystore))
    address = out.split()[2]
    issuer_id = D.code_id("cli-office")
    assert issuer_id in cli("register-issuer", "cli-office", "CLI Office")
    assert address in cli("add-key", issuer_id, address)
    cli("allow", env.type_id, issuer_id)
    # issue one credential to a holder, with a QR code
    doc_path, qr_path = tmp_path / "cred.json", tmp_path / "cred.png"
    cli(
        "issue",
        "--issuer",
        issuer_id,
        "--type",
        env.type_id,
        "--keystore",
        str(issuer_keystore),
        "--out",
        str(doc_path),
        "--subject",
        env.holders[0].address,
        "--claim",
        "course=CLI",
        "--claim",
        "hours=12",
        "--qr",
        str(qr_path),
    )
    assert qr_path.read_bytes()[:4] == b"\x89PNG"
    doc = json.loads(doc_path.read_text())
    assert verify(env, doc)["valid"] is True and verify(env, doc)["claims"] == {"course": "CLI", "hours": 12}
    # selective disclosure, then a presentation by the holder, verified against the node alone
    partial = tmp_path / "partial.json"
    cli("disclose", str(doc_path), "--keep", "course", "--out", str(partial))
    holder_keystore = tmp_path / "holder.json"
    holder_keystore.write_text(json.dumps(Account.encrypt(env.holders[0].key, PASSWORD, kdf="pbkdf2", iterations=1024)))
    pres = tmp_path / "pres.json"
    cli(
        "present",
        str(partial),
        "--keystore",
        str(holder_keystore),
        "--audience",
        "bank",
        "--nonce",
        "nonce-123456",
        "--out",
        str(pres),
    )
    manifest = manifest_path(env.platform.settings.data_dir, env.platform.chain.chain_id)
    node = ["--rpc-url", str(env.anvil_url), "--manifest", str(manifest), "--json"]
    report = json.loads(cli("verify-presentation", str(pres), "--audience", "bank", "--nonce", "nonce-123456", *node))
    assert report["valid"] is True and report["credential"]["claims"] == {"course": "CLI"}
    result = runner.invoke(
        cli_app, ["verify-presentation", str(pres), "--audience", "bank", "--nonce", "other-nonce", *node]
    )
    assert result.exit_code == 1
    # a non-holder's presentation of the same document
    thief_keystore = tmp_path / "thief.json"
    thief_keystore.write_text(
        json.dumps(Account.encrypt(Account.create().key, PASSWORD, kdf="pbkdf2", iterations=1024))
    )
    cli(
        "present",
        str(partial),
        "--keystore",
        str(thief_keystore),
        "--audience",
        "bank",
        "--nonce",
        "nonce-123456",
        "--out",
        str(pres),
    )
    result = runner.invoke(
        cli_app, ["verify-presentation", str(pres), "--audience", "bank", "--nonce", "nonce-123456", *node]
    )
    assert result.exit_code == 1
    assert {c["name"]: c["ok"] for c in json.loads(result.output)["checks"]} == {"challenge": True, "holder": False}
    # revoke with the CLI; the node-only verify now fails on not_revoked
    cli("revoke", str(doc_path), "--keystore", str(issuer_keystore))
    result = runner.invoke(cli_app, ["verify", str(doc_path), *node])
    assert result.exit_code == 1 and checks(json.loads(result.output))["not_revoked"] == "fail"
    # errors are one line, never a traceback
    result = runner.invoke(
        cli_app,
        [
            "issue",
            "--issuer",
            issuer_id,
            "--type",
            env.type_id,
            "--keystore",
            str(issuer_keystore),
            "--out",
            str(tmp_path / "x.json"),
            "--subject",
            env.holders[0].address,
            "--claim",
            "oops",
        ],
        env=pw,
    )
    assert result.exit_code == 1 and "name=value" in result.output


def test_withdrawn_permission_keeps_earlier_credentials_valid(env: Env) -> None:
    issuer_id, key = new_issuer(env, "withdrawn-office")
    doc = issue(env, issuer_id=issuer_id, key=key)["document"]
    out = ok(env.api.delete(f"/credentials/types/{env.type_id}/issuers/{issuer_id}"))
    (ev,) = tx_events(env, out["tx_hash"], "IssuerDisallowedForType")
    assert D.hx(ev["issuerId"]) == issuer_id and D.hx(ev["typeId"]) == env.type_id
    report = verify(env, doc)
    assert report["valid"] is True
    assert "permission withdrawn since" in next(c for c in report["checks"] if c["name"] == "type_allowed")["detail"]
    td = draft(env, issuer_id=issuer_id, key=key, claims={"course": "after"})
    assert_error(env.api.post("/credentials/issue", json=issue_body(td, key)), 422, "CredentialRegistryTypeNotAllowed")
    assert_error(
        env.api.delete(f"/credentials/types/{env.type_id}/issuers/{issuer_id}"), 422, "CredentialRegistryTypeNotAllowed"
    )


MALFORMED = {
    "subject not an address": (("proof", "eip712", "message", "subject"), "xyz"),
    "digests not a list": (("proof", "eip712", "message", "claimDigests"), "abc"),
    "short digest": (("proof", "eip712", "message", "claimDigests"), ["0x12"]),
    "validFrom not a number": (("proof", "eip712", "message", "validFrom"), "x"),
    "validUntil beyond uint64": (("proof", "eip712", "message", "validUntil"), 2**70),
    "domain without fields": (("proof", "eip712", "domain"), {"chainId": "x"}),
    "types not an object": (("proof", "eip712", "types"), "x"),
    "proof not an object": (("proof",), "x"),
    "subject not an object": (("credentialSubject",), None),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_documents_are_422_never_500(env: Env, case: str) -> None:
    if env.anvil_url is not None:
        pytest.skip("input validation: embedded only")
    doc = _malformed_base(env)
    path, value = MALFORMED[case]
    target = doc
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    r = env.api.post("/credentials/verify", json={"document": doc})
    assert r.status_code == 422 and r.json()["error"] == "invalid_input", r.text


def _malformed_base(env: Env, _cache: dict[int, dict[str, Any]] = {}) -> dict[str, Any]:  # noqa: B006
    if id(env) not in _cache:
        _cache[id(env)] = issue(env, claims={"course": "fuzz"})["document"]
    return copy.deepcopy(_cache[id(env)])


def test_odd_but_wellformed_documents_fail_checks_instead(env: Env) -> None:
    doc = _malformed_base(env)
    odd = copy.deepcopy(doc)
    odd["credentialStatus"]["position"] = -1
    assert_only_failing(verify(env, odd), "anchored")
    odd = copy.deepcopy(doc)
    odd["proof"]["proofValue"] = "zz"
    assert_only_failing(verify(env, odd), "signature")
    odd = copy.deepcopy(doc)
    odd["credentialSubject"]["claims"] = [1]
    assert_only_failing(verify(env, odd), "claims")


def _raw(env: Env, path: str, body: Any) -> httpx.Response:
    """POST ``body`` as JSON as Python writes it: NaN, Infinity and lone surrogates included."""
    return env.api.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def test_out_of_range_numbers_and_odd_text_are_422_never_500(env: Env) -> None:
    if env.anvil_url is not None:
        pytest.skip("input validation: embedded only")
    base = {"issuer_id": env.issuer_id, "type_id": env.type_id, "key": env.key.address, "claims": {"a": 1}}
    subject = {**base, "subject": env.holders[0].address}
    # Numbers past what the contract's ABI takes crashed web3's encoder (MismatchedABI, 500).
    new_key = Account.create().address
    r = env.api.post(f"/credentials/issuers/{env.issuer_id}/keys", json={"key": new_key, "valid_from": 2**64})
    assert_error(r, 422, "invalid_input", "valid_from", "less than or equal to 253402300799")
    r = env.api.post(f"/credentials/issuers/{env.issuer_id}/keys/{env.key.address}/retire", json={"valid_until": 2**70})
    assert_error(r, 422, "invalid_input", "valid_until")
    r = env.api.post("/credentials/issue/typed-data", json={**base, "citizen_id": 2**256})
    assert_error(r, 422, "invalid_input", "citizen_id")
    r = env.api.get(f"/credentials/status/{D.code_id('x')}", params={"position": str(2**256)})
    assert_error(r, 422, "invalid_input", "query.position")
    ref_ = {"anchor_id": D.code_id("x"), "position": 2**256}
    r = env.api.post(
        "/credentials/status/suspend/typed-data",
        json={"issuer_id": env.issuer_id, "key": env.key.address, "credentials": [ref_]},
    )
    assert_error(r, 422, "invalid_input", "credentials.0.position")
    # Deadlines and nonces outside uint256 were reported as "malformed signature: ... UnsignedIntegerEncoder".
    r = env.api.post(
        "/credentials/status/suspend",
        json={
            "issuer_id": env.issuer_id,
            "key": env.key.address,
            "credentials": [{"anchor_id": D.code_id("x")}],
            "deadline": -5,
            "nonce": 0,
            "signature": "0x" + "11" * 65,
        },
    )
    assert_error(r, 422, "invalid_input", "deadline: Input should be greater than or equal to 0")
    td = draft(env, claims={"range": 1})
    body = copy.deepcopy(issue_body(td, env.key))
    body["draft"]["deadline"] = 2**256
    assert_error(env.api.post("/credentials/issue", json=body), 422, "invalid_input", "draft.deadline")
    body = copy.deepcopy(issue_body(td, env.key))
    body["draft"]["credential"]["validFrom"] = float("inf")
    assert_error(_raw(env, "/credentials/issue", body), 422, "invalid_input", "draft.credential")

    # Claims are hashed as UTF-8 JSON: a lone surrogate (UnicodeEncodeError, 500) or NaN can not be.
    r = _raw(env, "/credentials/issue/typed-data", {**subject, "claims": {"name": "\ud800"}})
    assert_error(r, 422, "invalid_input", "claims.name", "Unicode")  # refused at the edge (api/limits.py)
    r = _raw(env, "/credentials/issue/typed-data", {**subject, "claims": {"hours": float("nan")}})
    assert_error(r, 422, "invalid_input", "claim 'hours'", "NaN")


def test_a_validity_past_year_9999_is_refused_before_anything_is_anchored(env: Env) -> None:
    """valid_from = 2**62 fits uint64, so the contract anchored the credential; then rendering the
    document's dates raised (500): an anchored credential whose issuer never got its document."""
    if env.anvil_url is not None:
        pytest.skip("input validation: embedded only")
    r = env.api.post(
        "/credentials/issue/typed-data",
        json={
            "issuer_id": env.issuer_id,
            "type_id": env.type_id,
            "key": env.key.address,
            "subject": env.holders[0].address,
            "claims": {"a": 1},
            "valid_from": 2**62,
        },
    )
    assert_error(r, 422, "invalid_input", "valid_from")
    td = draft(env, claims={"late": 1})
    td["draft"]["credential"]["validFrom"] = 2**62  # a hand-made draft: refused before the signature checks
    r = env.api.post("/credentials/issue", json=issue_body(td, env.key))
    assert_error(r, 422, "invalid_input", "validFrom", "9999-12-31T23:59:59Z")
    assert env.registry.functions.anchorOf(bytes.fromhex(td["credential_hash"][2:])).call()[0] is False


def test_verifying_odd_documents_never_gives_a_500(env: Env) -> None:
    if env.anvil_url is not None:
        pytest.skip("input validation: embedded only")
    doc = _malformed_base(env)

    def verify_raw(mutate: Any) -> httpx.Response:
        odd = copy.deepcopy(doc)
        mutate(odd)
        return _raw(env, "/credentials/verify", {"document": odd})

    # "²".isdigit() is True but int("²") raises; 5,000 digits exceed int()'s limit: both were 500s.
    for value in ("²", "9" * 5000):
        r = verify_raw(lambda d, v=value: d.__setitem__("validFrom", v))
        report = ok(r)
        detail = {c["name"]: c["detail"] for c in report["checks"]}["document"]
        assert checks(report)["document"] == "fail" and "not an ISO-8601 time" in detail
    # A signed validFrom past year 9999 could not be shown as a date (OverflowError, 500).
    r = verify_raw(lambda d: d["proof"]["eip712"]["message"].__setitem__("validFrom", 2**63))
    assert_error(r, 422, "invalid_input", "validFrom", "9999-12-31T23:59:59Z")
    # An object as a claim name (unhashable dict key) and a lone surrogate as a value were 500s.
    r = verify_raw(lambda d: d["credentialSubject"]["claims"][0].__setitem__("name", {"x": 1}))
    assert_only_failing(ok(r), "claims")
    r = verify_raw(lambda d: d["credentialSubject"]["claims"][0].__setitem__("value", "\ud800"))
    assert_error(r, 422, "invalid_input", "document.credentialSubject.claims.0.value", "lone UTF-16 surrogate")
