"""Security review (issue 15), items 6-9: formula-safe CSV exports, lone surrogates refused at the
edge, agency keys are not citizens, errors decoded against the contract that was called.

One chain + API server per module and chain kind. Items 6 and 7 are input handling (embedded
only); items 8 and 9 are chain behaviour (embedded and anvil).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.logs import DISCARD

from civic_ledger.audit.trail import CSV_COLUMNS, TrailRow, rows_to_csv
from civic_ledger.config import Settings
from civic_ledger.errors import ContractError
from civic_ledger.identity import service as identity
from civic_ledger.mileage import service as mileage
from civic_ledger.platform import csvsafe, eip712
from civic_ledger.platform.revert import ErrorDecoder
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import service as voting
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import (
    RECOVER_TYPES,
    REGISTER_TYPES,
    assert_error,
    bearer,
    grant_role,
    make_registrar,
    register_citizen,
    sign_in,
    sign_typed,
)

HOSTILE = '=HYPERLINK("http://x","y")'
SECRET = "hardening-test-session-secret"


@dataclass
class Env:
    platform: Platform
    api: httpx.Client
    url: str
    registrar: LocalAccount
    admin_token: str
    tmp: Path
    embedded: bool

    def only_embedded(self) -> None:
        if not self.embedded:
            pytest.skip("input handling: embedded only")


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp(f"hardening-{request.param}")
    with (
        module_chain(request) as chain,
        started_platform(chain, tmp / "data", session_secret=SECRET) as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        try:
            registrar = make_registrar(platform)
            token = sign_in(client, platform.operator)
            yield Env(platform, client, server.url, registrar, token, tmp, chain == "embedded")
        finally:
            voting.close(platform)


def _raw(env: Env, path: str, body: bytes, content_type: str | None = "application/json") -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    return env.api.post(path, content=body, headers=headers)


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# -- 6. CSV formula injection --------------------------------------------------------------


def test_csv_cells_that_would_start_a_formula_are_quoted_and_numbers_stay_numbers() -> None:
    for hostile in (HOSTILE, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1", "＝1+1", "-", "+"):
        assert csvsafe.cell(hostile) == "'" + hostile
    for plain in (-5, 0, 7, 1.5, -2.25, None, True, "", "Mangwon bakery", "-5", "-1.25", "+3", "1e5", "a=b", "망원"):
        assert csvsafe.cell(plain) == plain
    text = csvsafe.to_text(["name", "amount"], [[HOSTILE, -5], ["-1", "-1-1"]])
    assert _cells(text) == [["name", "amount"], ["'" + HOSTILE, "-5"], ["-1", "'-1-1"]]


def test_mileage_reports_and_the_cli_export_a_hostile_merchant_and_program_name_as_text(env: Env) -> None:
    env.only_embedded()
    admin = bearer(env.admin_token)
    awarder = Account.create()
    r = env.api.post(
        "/mileage/programs", headers=admin, json={"name": HOSTILE, "awarder": awarder.address, "annual_cap": 10**6}
    )
    assert r.status_code == 201, r.text
    program = r.json()["program_id"]
    biz = mileage.business_number_hash("1234567890", keccak(text="hardening"))
    r = env.api.post(
        "/mileage/merchants", headers=admin, json={"name": HOSTILE, "business_number_hash": biz, "district": 14}
    )
    assert r.status_code == 201, r.text
    merchant = r.json()["merchant_id"]
    citizen = Account.create()
    register_citizen(env.platform, env.registrar, citizen.address)
    item = {"account": citizen.address, "amount": 100, "ref": 1}
    t = env.api.post(f"/mileage/programs/{program}/awards/typed-data", json=item).json()
    r = env.api.post(
        f"/mileage/programs/{program}/awards",
        json={**item, "deadline": t["deadline"], "signature": sign_typed(awarder, t["typed_data"])},
    )
    assert r.status_code in (200, 201), r.text
    body = {"citizen": citizen.address, "merchant_id": merchant, "amount": 30, "order_ref": mileage.order_ref_of("o1")}
    t = env.api.post("/mileage/redemptions/typed-data", json=body).json()
    r = env.api.post(
        "/mileage/redemptions",
        json={
            **body,
            "nonce": t["nonce"],
            "deadline": t["deadline"],
            "signature": sign_typed(citizen, t["typed_data"]),
        },
    )
    assert r.status_code in (200, 201), r.text

    liability = _cells(env.api.get("/mileage/reports/liability", params={"format": "csv"}).text)
    (row,) = [c for c in liability[1:] if c[0] == str(program)]
    assert row[1] == "'" + HOSTILE and row[2:] == ["100", "0", "30", "0", "70"]
    merchants = _cells(env.api.get("/mileage/reports/merchants", params={"format": "csv"}).text)
    (row,) = [c for c in merchants[1:] if c[0] == str(merchant)]
    assert row[1] == "'" + HOSTILE and row[-1] == "30"
    statement = _cells(env.api.get(f"/mileage/reports/statements/{citizen.address}", params={"format": "csv"}).text)
    amounts = [c[statement[0].index("amount")] for c in statement[1:]]
    assert amounts == ["100", "-30"]  # a negative amount is a number, not neutralised
    assert not any(cell.startswith("=") for line in liability + merchants + statement for cell in line)

    from typer.testing import CliRunner

    from civic_ledger.mileage.cli import app as mileage_cli

    out = CliRunner().invoke(mileage_cli, ["report", "merchants", "--api", env.url, "--csv", "-"])
    assert out.exit_code == 0, out.output
    (row,) = [c for c in _cells(out.stdout)[1:] if c[0] == str(merchant)]
    assert row[1] == "'" + HOSTILE


def test_the_audit_trail_csv_neutralises_formulas_and_keeps_its_hash_deterministic() -> None:
    row = TrailRow(
        block=7,
        time="2026-12-01T00:00:00Z",
        tx="0x" + "ab" * 32,
        log_index=0,
        event="LinePaid",
        payer="0x" + "11" * 20,
        payee="0x" + "22" * 20,
        purpose=HOSTILE,
        amount=-5,
        claim=1,
        evidence="@evidence",
        due="",
        late="false",
        block_hash="0x" + "cd" * 32,
    )
    text = rows_to_csv([row])
    header, cells = _cells(text)
    assert header == CSV_COLUMNS
    assert cells[header.index("purpose")] == "'" + HOSTILE and cells[header.index("evidence")] == "'@evidence"
    assert cells[header.index("amount")] == "-5"
    assert rows_to_csv([row]) == text  # the API and the chain-only CLI hash the same bytes


# -- 7. lone UTF-16 surrogates in free-form JSON --------------------------------------------


def test_a_lone_surrogate_anywhere_in_a_json_body_is_a_422_naming_the_field(env: Env) -> None:
    env.only_embedded()
    cases = [
        (
            "/credentials/qr",
            b'{"document": {"credentialSubject": {"name": "\\ud800"}}}',
            "document.credentialSubject.name",
        ),
        ("/labor/evidence/verify", b'{"bundle": {"events": [{"note": "x\\udfff"}]}}', "bundle.events.0.note"),
        (
            "/identity/citizens/typed-data",
            json.dumps(
                {
                    "account": Account.create().address,
                    "district": 1,
                    "birth_year": 1990,
                    "registrar": env.registrar.address,
                    "record": {"name": "\ud800"},
                }
            ).encode(),
            "record.name",
        ),
        ("/credentials/qr", b'{"document": {"\\ud83d": 1}}', "document"),  # a key
        ("/credentials/qr", b'{"document": {"name": "\xed\xa0\x80"}}', "document.name"),  # as raw bytes
        ("/voting/polls/typed-data", b'"\\ud800"', "body"),  # the body itself
    ]
    for path, body, field in cases:
        for content_type in ("application/json", None):
            r = _raw(env, path, body, content_type)
            got = assert_error(r, 422, "invalid_input", f"{field}:", "lone UTF-16 surrogate")
            assert got["details"][0]["field"] == field and got["details"][0]["type"] == "lone_surrogate"
    # an escaped surrogate pair is one valid character: the route answers as usual
    r = _raw(env, "/credentials/qr", b'{"url": "https://x.example/\\ud83d\\ude00"}')
    assert r.status_code == 200, r.text
    # /rpc answers a JSON-RPC error, not a 500
    r = _raw(env, "/rpc", b'{"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"data": "\\ud800"}]}')
    assert r.status_code == 200, r.text
    assert r.json()["id"] == 1
    err = r.json()["error"]
    assert err["code"] == -32600 and "params.0.data" in err["message"] and "surrogate" in err["message"]
    r = _raw(env, "/rpc", b'[{"jsonrpc": "2.0", "id": 1, "method": "\\ud800"}]', None)
    assert r.status_code == 200 and "0.method" in r.json()["error"]["message"]
    # the server is still there
    assert env.api.get("/mileage/policy").status_code == 200


# -- 8. agency keys are not citizens ---------------------------------------------------------


def _register_fn(platform: Platform, registrar: LocalAccount, account: str) -> Any:
    registry = identity.registry(platform)
    nonce = registry.functions.nonces(registrar.address).call()
    message = {
        "account": account,
        "district": 1,
        "birthYear": 1990,
        "residency": 1,
        "recordHash": keccak(text=f"record {account}"),
        "registrar": registrar.address,
        "nonce": nonce,
        "deadline": eip712.deadline(now=platform.chain.now()),
    }
    typed = eip712.TypedMessage(
        eip712.domain("CitizenRegistry", platform.chain.chain_id, registry.address),
        "RegisterCitizen",
        REGISTER_TYPES,
        message,
    )
    return registry.functions.registerCitizen(*message.values(), typed.sign(registrar)), message, typed


def _recover_fn(platform: Platform, registrar: LocalAccount, citizen_id: int, new: str) -> Any:
    registry = identity.registry(platform)
    nonce = registry.functions.nonces(registrar.address).call()
    message = {
        "citizenId": citizen_id,
        "newAccount": new,
        "registrar": registrar.address,
        "nonce": nonce,
        "deadline": eip712.deadline(now=platform.chain.now()),
    }
    typed = eip712.TypedMessage(
        eip712.domain("CitizenRegistry", platform.chain.chain_id, registry.address),
        "RecoverKey",
        RECOVER_TYPES,
        message,
    )
    return registry.functions.recoverKey(*message.values(), typed.sign(registrar))


def test_the_contract_refuses_a_registrar_binding_its_own_key(env: Env) -> None:
    platform, registrar = env.platform, env.registrar
    fn, _, _ = _register_fn(platform, registrar, registrar.address)
    for attempt in (lambda: platform.relayer.call(fn), lambda: platform.relayer.transact(fn)):
        with pytest.raises(ContractError) as caught:
            attempt()
        assert caught.value.error_name == "CitizenRegistryRegistrarAccountForbidden"
        assert caught.value.error_args == {"account": registrar.address}
        assert caught.value.contract == "CitizenRegistry" and caught.value.status == 403
    # recovering a citizen to the registrar's own key is refused the same way
    citizen = Account.create()
    cid = register_citizen(platform, registrar, citizen.address)
    with pytest.raises(ContractError) as caught:
        platform.relayer.transact(_recover_fn(platform, registrar, cid, registrar.address))
    assert caught.value.error_name == "CitizenRegistryRegistrarAccountForbidden"
    assert caught.value.error_args == {"account": registrar.address}
    # another registrar may (the contract's rule is about the signer's own key; the API's is wider)
    other = make_registrar(platform)
    receipt = platform.relayer.transact(_register_fn(platform, other, Account.create().address)[0])
    assert identity.registry(platform).events.CitizenRegistered().process_receipt(receipt.raw, errors=DISCARD)


def _typed_data(env: Env, account: str) -> httpx.Response:
    body = {"account": account, "district": 1, "birth_year": 1990, "registrar": env.registrar.address}
    return env.api.post("/identity/citizens/typed-data", json=body)


def _post_signed_registration(env: Env, account: str) -> httpx.Response:
    _, message, typed = _register_fn(env.platform, env.registrar, account)
    return env.api.post(
        "/identity/citizens",
        json={
            "account": account,
            "district": 1,
            "birth_year": 1990,
            "residency": 1,
            "record_hash": "0x" + message["recordHash"].hex(),
            "registrar": env.registrar.address,
            "nonce": message["nonce"],
            "deadline": message["deadline"],
            "signature": "0x" + typed.sign(env.registrar).hex(),
        },
    )


def test_the_api_refuses_any_agency_key_as_a_citizen_naming_the_role(env: Env) -> None:
    poll_admin = Account.create()
    grant_role(env.platform, "MVoting", "POLL_ADMIN_ROLE", poll_admin.address)
    cases = [
        (env.registrar.address, "CitizenRegistry.REGISTRAR_ROLE"),
        (poll_admin.address, "MVoting.POLL_ADMIN_ROLE"),
        (env.platform.operator.address, "CitizenRegistry.DEFAULT_ADMIN_ROLE"),
    ]
    for account, role in cases:
        body = assert_error(_typed_data(env, account), 403, "agency_key_as_citizen", account, role)
        assert role in body["details"]["roles"]
        # a message signed without the typed-data endpoint is refused before anything is relayed
        before = env.platform.chain.w3.eth.get_transaction_count(env.platform.operator.address)
        assert_error(_post_signed_registration(env, account), 403, "agency_key_as_citizen", role)
        assert env.platform.chain.w3.eth.get_transaction_count(env.platform.operator.address) == before
    # recovery and rotation to an agency key are refused too
    citizen = Account.create()
    cid = register_citizen(env.platform, env.registrar, citizen.address)
    r = env.api.post(
        f"/identity/citizens/by-id/{cid}/recover/typed-data",
        json={"new_account": poll_admin.address, "registrar": env.registrar.address},
    )
    assert_error(r, 403, "agency_key_as_citizen", "new_account", "MVoting.POLL_ADMIN_ROLE")
    r = env.api.post(
        "/identity/rotations/typed-data", json={"old_account": citizen.address, "new_account": poll_admin.address}
    )
    assert_error(r, 403, "agency_key_as_citizen", "new_account", "MVoting.POLL_ADMIN_ROLE")
    # a plain key still registers
    assert _typed_data(env, Account.create().address).status_code == 200


def test_the_city_can_allow_agency_keys_as_citizens_but_never_a_registrars_own(env: Env) -> None:
    assert Settings().allow_agency_citizens is False
    assert Settings(allow_agency_citizens=True).allow_agency_citizens is True
    poll_admin = Account.create()
    grant_role(env.platform, "MVoting", "POLL_ADMIN_ROLE", poll_admin.address)
    env.platform.settings.allow_agency_citizens = True
    try:
        t = _typed_data(env, poll_admin.address)
        assert t.status_code == 200, t.text
        r = _post_signed_registration(env, poll_admin.address)
        assert r.status_code == 201, r.text
        assert r.json()["event"] == "CitizenRegistered" and r.json()["citizen"]["account"] == poll_admin.address
        # the registrar's own key: the contract's revert, decoded by name, with no gas spent
        before = env.platform.chain.w3.eth.get_transaction_count(env.platform.operator.address)
        r = _post_signed_registration(env, env.registrar.address)
        body = assert_error(r, 403, "CitizenRegistryRegistrarAccountForbidden", env.registrar.address, "own key")
        assert body["details"]["name"] == "CitizenRegistryRegistrarAccountForbidden"
        assert env.platform.chain.w3.eth.get_transaction_count(env.platform.operator.address) == before
    finally:
        env.platform.settings.allow_agency_citizens = False


# -- 9. errors decoded against the contract that was called ---------------------------------


def test_a_shared_error_is_named_after_the_contract_that_was_called() -> None:
    nonce_error = {
        "type": "error",
        "name": "InvalidAccountNonce",
        "inputs": [{"name": "account", "type": "address"}, {"name": "currentNonce", "type": "uint256"}],
    }
    decoder = ErrorDecoder([("CitizenRegistry", [nonce_error]), ("MVoting", [nonce_error])])
    decoder.bind("0x" + "aa" * 20, "MVoting")
    data = bytes.fromhex("752d88c0") + bytes(12) + bytes.fromhex("11" * 20) + (3).to_bytes(32, "big")
    assert decoder.decode(data, "0x" + "AA" * 20).contract == "MVoting"
    assert decoder.decode(data, "MVoting").contract == "MVoting"
    assert decoder.decode(data).contract == "CitizenRegistry"  # no target: the first ABI that has it


def test_a_replayed_poll_creation_reports_MVoting(env: Env) -> None:
    creator = Account.create()
    grant_role(env.platform, "MVoting", "POLL_ADMIN_ROLE", creator.address)
    draft = {"question": "Replay?", "options": ["Yes", "No"], "duration_s": 3600, "creator": creator.address}
    td = env.api.post("/voting/polls/typed-data", json=draft).json()
    body = {**td["fields"], "signature": sign_typed(creator, td["typed_data"])}
    first = env.api.post("/voting/polls", json=body)
    assert first.status_code == 201, first.text
    replay = assert_error(env.api.post("/voting/polls", json=body), 409, "InvalidAccountNonce", "(MVoting)")
    assert "CitizenRegistry" not in replay["message"]
    assert replay["details"]["args"]["account"] == creator.address
    # the same through the relayer directly (eth_call and a mined transaction)
    contract = env.platform.deployment.contract("MVoting")
    with pytest.raises(ContractError) as caught:
        env.platform.relayer.call(contract.functions.createPoll(*_poll_args(env, body)))
    assert (caught.value.error_name, caught.value.contract) == ("InvalidAccountNonce", "MVoting")
    with pytest.raises(ContractError) as caught:
        env.platform.relayer.transact(contract.functions.createPoll(*_poll_args(env, body)))
    assert (caught.value.error_name, caught.value.contract) == ("InvalidAccountNonce", "MVoting")


def _poll_args(env: Env, body: dict[str, Any]) -> tuple[Any, ...]:
    from civic_ledger.voting.schemas import PollCreate

    create = PollCreate(**body)
    typed = voting.poll_typed_message(env.platform, create)
    return (
        voting._poll_params(typed.message),
        create.creator,
        create.nonce,
        create.deadline,
        bytes.fromhex(create.signature[2:]),
    )
