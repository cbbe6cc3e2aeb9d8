"""The signed-action tables of credentials and voting (poll creation), on the platform's one pipeline.

The same two checks as ``tests/test_actions.py`` for these tables: every action's EIP-712 type
string is the contract's ``*_TYPEHASH`` preimage (the string in the Solidity source, and its keccak
the deployed constant's value), and a signature by anyone but the named signer is refused through
the real HTTP API with the 403 of ``eip712.TypedMessage.require_signer`` (its code, message and
details exactly as before the areas moved onto the table) — before any transaction is sent. The
``Credential`` signatures of a draft (the document's proof, no contract call) are refused the same way.
"""

from __future__ import annotations

import re
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
from civic_ledger.platform.compiler import PROJECT_ROOT
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import service as voting
from civic_ledger.voting.actions import ACTIONS as VOTING
from tests.conftest import LiveServer, started_platform
from tests.helpers import grant_role, make_registrar, ok, register_citizen, sign_in, sign_typed

AREAS: dict[str, dict[str, Action]] = {"credentials": CREDENTIALS, "voting": VOTING}
CASES = [(area, key) for area, table in AREAS.items() for key in table]
IDS = [f"{area}.{key}" for area, key in CASES]


def preimage(action: Action) -> str:
    """The string the contract's source hashes into the action's typehash constant."""
    source = PROJECT_ROOT / "contracts" / f"{action.contract}.sol"
    m = re.search(rf"\b{action.typehash_constant}\s*=\s*keccak256\(((?:\s*\"[^\"]*\")+)\s*\)", source.read_text())
    assert m, f"{action.typehash_constant} not found in {source}"
    return "".join(re.findall(r'"([^"]*)"', m.group(1)))  # adjacent literals concatenate


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
    assert set(IDS) <= set(BUILDERS)


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
