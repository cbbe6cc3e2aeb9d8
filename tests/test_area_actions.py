"""The signed-action tables of credentials and voting (poll creation), on the platform's one pipeline.

The same two checks as ``tests/test_actions.py`` for these tables: every action's EIP-712 type
string is the contract's ``*_TYPEHASH`` preimage (the string in the Solidity source, and its keccak
the deployed constant's value), and a signature by anyone but the named signer is refused through
the real HTTP API with the 403 of ``eip712.TypedMessage.require_signer`` (its code, message and
details exactly as before the areas moved onto the table) — before any transaction is sent. The
``Credential`` signatures of a draft (the document's proof, no contract call) are refused the same way.

The trustee actions of an encrypted poll (``EncryptedTally``'s ``NameTrustees`` and ``TrusteeAction``)
answer a forged signature with the contract's own error, exactly as when only the contract checked it
(status, code, message and details recorded through the API before they moved onto the table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from civic_ledger.credentials.actions import ACTIONS as CREDENTIALS
from civic_ledger.platform.actions import Action
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import service as voting
from civic_ledger.voting.actions import ACTIONS as VOTING
from tests.conftest import LiveServer, started_platform
from tests.helpers import grant_role, make_registrar, ok, register_citizen, sign_in, sign_typed, travel
from tests.test_actions import preimage

AREAS: dict[str, dict[str, Action]] = {"credentials": CREDENTIALS, "voting": VOTING}
CASES = [(area, key) for area, table in AREAS.items() for key in table]
IDS = [f"{area}.{key}" for area, key in CASES]


# -- the stack: one embedded chain and server, an issuer with a key, a poll admin ------------------


@dataclass
class Stack:
    platform: Platform
    api: httpx.Client
    key: LocalAccount  # the issuer key
    admin: LocalAccount  # holds MVoting's POLL_ADMIN_ROLE
    holder: str
    issuer_id: str
    type_id: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = Path(tmp_path_factory.mktemp("area-actions")) / "data"
    with started_platform("embedded", data) as p, LiveServer(p) as server, server.client(timeout=120) as api:
        try:
            city = {"Authorization": f"Bearer {sign_in(api, p.operator)}"}
            key, admin, holder = Account.create(), Account.create(), Account.create()
            register_citizen(p, make_registrar(p), holder.address)
            grant_role(p, "MVoting", "POLL_ADMIN_ROLE", admin.address)
            t = ok(api.post("/credentials/types", json={"code": "forgery", "name": "Forgery test"}, headers=city), 201)
            i = ok(api.post("/credentials/issuers", json={"code": "forgery", "name": "Forgery"}, headers=city), 201)
            ok(api.post(f"/credentials/issuers/{i['issuer_id']}/keys", json={"key": key.address}, headers=city), 201)
            body = {"issuer_id": i["issuer_id"]}
            ok(api.post(f"/credentials/types/{t['type_id']}/issuers", json=body, headers=city), 201)
            yield Stack(p, api, key, admin, holder.address, i["issuer_id"], t["type_id"])
        finally:
            voting.close(p)


def test_every_area_declares_its_actions_on_the_platform_dataclass() -> None:
    assert {type(a) for table in AREAS.values() for a in table.values()} == {Action}
    assert all(key == a.key for table in AREAS.values() for key, a in table.items())
    assert [k for k, a in CREDENTIALS.items() if a.uses_nonce] == ["suspend", "reinstate"]


@pytest.mark.parametrize(("area", "key"), CASES, ids=IDS)
def test_type_string_is_the_contracts_typehash_preimage(stack: Stack, area: str, key: str) -> None:
    action = AREAS[area][key]
    assert action.type_string() == preimage(action)
    contract = stack.platform.deployment.contract(action.contract)
    deployed = bytes(getattr(contract.functions, action.typehash_constant)().call())
    assert keccak(text=action.type_string()) == deployed
    # the call's arguments and the signature are all the contract function takes
    (abi,) = [f for f in contract.abi if f.get("name") == action.function and f["type"] == "function"]
    assert abi["inputs"][-1]["type"] == "bytes"


# -- a forged signature, per action ---------------------------------------------------------------


@dataclass
class Case:
    path: str  # the relay route
    body: dict[str, Any]  # what is posted there, signed by the forger where it counts
    primary: str  # the typed data the refused signature was over
    role: str
    signer: str
    field: str = "signature"
    code: str = "invalid_signature"


def _issue(s: Stack, forger: LocalAccount, what: str) -> Case:
    body = {"issuer_id": s.issuer_id, "type_id": s.type_id, "key": s.key.address, "subject": s.holder}
    td = ok(s.api.post("/credentials/issue/typed-data", json={**body, "claims": {"course": "Forgery"}}))
    signers = {"credential": forger if what == "credential" else s.key, "issue": forger if what == "issue" else s.key}
    signed = {
        "draft": td["draft"],
        "credential_signature": sign_typed(signers["credential"], td["credential_typed_data"]),
        "issue_signature": sign_typed(signers["issue"], td["issue_typed_data"]),
    }
    primary = "Credential" if what == "credential" else "Issue"
    return Case("/credentials/issue", signed, primary, "issuer key", s.key.address, f"{what}_signature")


def _batch(s: Stack, forger: LocalAccount, what: str) -> Case:
    base = {"issuer_id": s.issuer_id, "type_id": s.type_id, "key": s.key.address}
    items = [{"subject": s.holder, "claims": {"seat": n}} for n in range(2)]
    td = ok(s.api.post("/credentials/batches/typed-data", json={**base, "credentials": items}))
    sigs = [sign_typed(s.key, t) for t in td["credential_typed_data"]]
    batch_signer = s.key
    if what == "credential":
        sigs[1] = sign_typed(forger, td["credential_typed_data"][1])
    else:
        batch_signer = forger
    body = {**base, "deadline": td["deadline"], "drafts": td["drafts"], "credential_signatures": sigs}
    body["batch_signature"] = sign_typed(batch_signer, td["batch_typed_data"])
    field = "credential_signatures[1]" if what == "credential" else "batch_signature"
    primary = "Credential" if what == "credential" else "IssueBatch"
    return Case("/credentials/batches", body, primary, "issuer key", s.key.address, field)


def _status(s: Stack, forger: LocalAccount, action: str) -> Case:
    anchor = "0x" + keccak(text=f"forged {action}").hex()
    body = {"issuer_id": s.issuer_id, "key": s.key.address, "credentials": [{"anchor_id": anchor, "position": 0}]}
    typed = ok(s.api.post(f"/credentials/status/{action}/typed-data", json=body))
    assert ("nonce" in typed["message"]) == (action != "revoke")
    signed = {"deadline": typed["message"]["deadline"], "nonce": typed["message"].get("nonce")}
    signed["signature"] = sign_typed(forger, typed)
    return Case(f"/credentials/status/{action}", {**body, **signed}, action.capitalize(), "issuer key", s.key.address)


def _create_poll(s: Stack, forger: LocalAccount, _: str) -> Case:
    draft = {"question": "Forged?", "options": ["yes", "no"], "duration_s": 60, "creator": s.admin.address}
    td = ok(s.api.post("/voting/polls/typed-data", json=draft))
    body = {**td["fields"], "signature": sign_typed(forger, td["typed_data"])}
    return Case("/voting/polls", body, "CreatePoll", "poll creator", s.admin.address, code="MVotingInvalidSignature")


BUILDERS: dict[str, tuple[Callable[[Stack, LocalAccount, str], Case], str]] = {
    "credentials.issue": (_issue, "issue"),
    "credentials.issue.credential": (_issue, "credential"),
    "credentials.issue_batch": (_batch, "batch"),
    "credentials.issue_batch.credential": (_batch, "credential"),
    "credentials.revoke": (_status, "revoke"),
    "credentials.suspend": (_status, "suspend"),
    "credentials.reinstate": (_status, "reinstate"),
    "voting.create_poll": (_create_poll, ""),
}


def test_every_action_has_a_forgery_case() -> None:
    assert set(IDS) <= set(BUILDERS) | set(TRUSTEE_FORGERIES)


@pytest.mark.parametrize("case_id", list(BUILDERS))
def test_forged_signature_is_refused_before_any_transaction(stack: Stack, case_id: str) -> None:
    build, what = BUILDERS[case_id]
    forger = Account.create()
    case = build(stack, forger, what)
    head = stack.platform.chain.w3.eth.block_number
    r = stack.api.post(case.path, json=case.body)
    assert r.status_code == 403, r.text
    assert r.json() == {
        "error": case.code,
        "message": f"{case.field} does not recover to the {case.role} {case.signer} (it recovers to "
        f"{forger.address}): sign exactly the {case.primary} typed data of the matching typed-data endpoint "
        "with that key",
        "details": {
            "expected_signer": case.signer,
            "recovered": forger.address,
            "role": case.role,
            "field": case.field,
        },
    }
    assert stack.platform.chain.w3.eth.block_number == head  # refused off chain: no gas spent


# -- the trustee actions of an encrypted poll: the contract's own answer ----------------------------


@dataclass
class Election:
    """Two encrypted polls with their trustees named: ``dkg`` before it opens (commit, deal),
    ``closing`` closing soon (decrypt, after a travel past its close)."""

    dkg: int
    closing: int
    closes_at: int
    trustees: list[LocalAccount]


def _encrypted_poll(s: Stack, opens_in: int, duration: int) -> tuple[int, int]:
    opens_at = voting.chain_now(s.platform) + opens_in
    draft = {
        "question": "Which trustees?",
        "options": ["yes", "no"],
        "secrecy": "encrypted",
        "opens_at": opens_at,
        "closes_at": opens_at + duration,
        "creator": s.admin.address,
    }
    td = ok(s.api.post("/voting/polls/typed-data", json=draft))
    poll = ok(
        s.api.post("/voting/polls", json={**td["fields"], "signature": sign_typed(s.admin, td["typed_data"])}), 201
    )
    return int(poll["poll_id"]), opens_at + duration


def _name(s: Stack, poll_id: int, trustees: list[str], signer: LocalAccount) -> tuple[str, dict[str, Any]]:
    """The relay route and body of NameTrustees signed by ``signer``."""
    td = ok(s.api.post(f"/voting/polls/{poll_id}/trustees/typed-data", json={"trustees": trustees, "threshold": 2}))
    f = td["fields"]
    body = {"trustees": f["trustees"], "threshold": f["threshold"], "deadline": f["deadline"]}
    return f"/voting/polls/{poll_id}/trustees", {**body, "signature": sign_typed(signer, td["typed_data"])}


@pytest.fixture(scope="module")
def election(stack: Stack) -> Election:
    trustees = [Account.create() for _ in range(2)]
    addresses = [t.address for t in trustees]
    dkg, _ = _encrypted_poll(stack, 7200, 600)
    closing, closes_at = _encrypted_poll(stack, 60, 60)
    for poll_id in (dkg, closing):
        path, body = _name(stack, poll_id, addresses, stack.admin)
        ok(stack.api.post(path, json=body), 201)
    return Election(dkg, closing, closes_at, trustees)


PAYLOADS: dict[str, dict[str, list[int]]] = {
    "commit": {"commitments": [1, 2, 3, 4], "encryption_key": [5, 6]},
    "deal": {"ephemeral": [7, 8], "encrypted_shares": [9, 10]},
    "decrypt": {"shares": [11, 12], "proofs": [13, 14]},
}


def _step(s: Stack, e: Election, step: str, signer: LocalAccount) -> tuple[str, dict[str, Any]]:
    """The relay route and body of the first trustee's step signed by ``signer`` (decrypt: after close)."""
    if step == "decrypt" and voting.chain_now(s.platform) <= e.closes_at:
        travel(s.platform, e.closes_at - voting.chain_now(s.platform) + 1)
    poll_id = e.closing if step == "decrypt" else e.dkg
    trustee = e.trustees[0].address
    path = f"/voting/polls/{poll_id}/trustees/{step}"
    td = ok(s.api.post(f"{path}/typed-data", json={"trustee": trustee, **PAYLOADS[step]}))
    body = {"trustee": trustee, "deadline": td["fields"]["deadline"], **PAYLOADS[step]}
    return path, {**body, "signature": sign_typed(signer, td["typed_data"])}


def _contract_error(name: str, args: dict[str, Any], notice: str) -> dict[str, Any]:
    rendered = ", ".join(f"{k}={v}" for k, v in args.items())
    return {
        "error": name,
        "message": f"{name}({rendered}) (EncryptedTally): {notice}",
        "details": {"name": name, "args": args},
    }


NOT_CREATOR = "`signer` is not the poll's creator."
BAD_SIGNATURE = "The signature is not `signer`'s signature of the message."
EXPIRED = "The signed message's deadline has passed."
NOT_TRUSTEE = "`trustee` is not a trustee of the poll."
Forgery = tuple[str, dict[str, Any], dict[str, Any]]  # route, body, the contract's answer


def _forged_name(s: Stack, e: Election, forger: LocalAccount) -> Forgery:
    path, body = _name(s, e.dkg, [t.address for t in e.trustees], forger)
    args = {"pollId": e.dkg, "signer": s.admin.address}
    return path, body, _contract_error("EncryptedTallyNotPollCreator", args, NOT_CREATOR)


def _forged_step(step: str) -> Callable[[Stack, Election, LocalAccount], Forgery]:
    def build(s: Stack, e: Election, forger: LocalAccount) -> Forgery:
        path, body = _step(s, e, step, forger)
        args = {"signer": e.trustees[0].address}
        return path, body, _contract_error("EncryptedTallyInvalidSignature", args, BAD_SIGNATURE)

    return build


TRUSTEE_FORGERIES: dict[str, Callable[[Stack, Election, LocalAccount], Forgery]] = {
    "voting.name_trustees": _forged_name,
    "voting.trustee_commit": _forged_step("commit"),
    "voting.trustee_deal": _forged_step("deal"),
    "voting.trustee_decrypt": _forged_step("decrypt"),
}


@pytest.mark.parametrize("case_id", list(TRUSTEE_FORGERIES))
def test_forged_trustee_signature_gets_the_contracts_own_error_before_any_transaction(
    stack: Stack, election: Election, case_id: str
) -> None:
    path, body, expected = TRUSTEE_FORGERIES[case_id](stack, election, Account.create())
    head = stack.platform.chain.w3.eth.block_number
    r = stack.api.post(path, json=body)
    assert r.status_code == 403, r.text
    assert r.json() == expected
    assert stack.platform.chain.w3.eth.block_number == head  # refused off chain: no gas spent


def test_forged_trustee_signature_answers_the_contracts_first_failing_check(stack: Stack, election: Election) -> None:
    """The contract checks the deadline, the window and the trustee before the signature: so does the API."""
    forger = Account.create()
    path, body = _name(stack, election.dkg, [t.address for t in election.trustees], forger)
    r = stack.api.post(path, json={**body, "deadline": 1})
    assert (r.status_code, r.json()) == (
        422,
        _contract_error("EncryptedTallySignatureExpired", {"deadline": 1}, EXPIRED),
    )
    path, body = _step(stack, election, "commit", election.trustees[0])
    r = stack.api.post(path, json={**body, "trustee": forger.address})  # a trustee's signature, an outsider named
    args = {"pollId": election.dkg, "trustee": forger.address}
    assert (r.status_code, r.json()) == (403, _contract_error("EncryptedTallyNotTrustee", args, NOT_TRUSTEE))
