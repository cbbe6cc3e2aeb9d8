"""Role membership as a read model of the event index (``roles_members``) and the agency-key check
that answers from it: grants and revokes through the real API, registrations through the real API,
``hasRole`` on the real chain as the reference (embedded and anvil)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector
from web3.middleware import Web3Middleware

from civic_ledger.identity import agency
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.indexer.maintenance import rebuild_index, verify_index
from civic_ledger.platform.runtime import Platform
from civic_ledger.roles.projections import TABLE, roles_held
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import assert_error, bearer, make_registrar, register_via_api, sign_in

HAS_ROLE = "0x" + function_signature_to_4byte_selector("hasRole(bytes32,address)").hex()


@dataclass
class Env:
    platform: Platform
    api: httpx.Client
    registrar: LocalAccount
    admin: dict[str, str]  # the operator's (every contract's admin) session header


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp(f"role-index-{request.param}")
    with (
        module_chain(request) as chain,
        started_platform(chain, tmp / "data") as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        registrar = make_registrar(platform)
        yield Env(platform, client, registrar, bearer(sign_in(client, platform.operator)))


def register(env: Env, account: str) -> httpx.Response:
    """Typed data, the registrar's signature, the relay: a registration the way a registrar does it."""
    return register_via_api(env.api, env.registrar, {"account": account, "district": 1, "birth_year": 1990})


def grant(env: Env, contract: str, role: str, account: str) -> None:
    r = env.api.post("/roles", json={"contract": contract, "role": role, "account": account}, headers=env.admin)
    assert r.status_code == 201, r.text


def revoke(env: Env, contract: str, role: str, account: str) -> None:
    r = env.api.delete(f"/roles/{contract}/{role}/{account}", headers=env.admin)
    assert r.status_code == 200 and r.json()["has_role"] is False, r.text


def indexed(platform: Platform, account: str) -> set[tuple[str, str]]:
    with fresh_read(platform, "roles") as (conn, _):
        return roles_held(conn, account)


def on_chain(platform: Platform, account: str) -> set[tuple[str, str]]:
    """(contract, role id) of every role ``account`` holds, one ``hasRole`` per role: the reference."""
    return {
        (name, "0x" + role_id.hex())
        for name, _, role_id in agency.agency_roles(platform)
        if platform.deployment.contract(name).functions.hasRole(role_id, account).call()
    }


class HasRoleCalls:
    """The accounts of the ``hasRole`` eth_calls made through the platform's web3 while open (a
    middleware of web3's own onion: every request of the platform and the API server passes it)."""

    def __init__(self, platform: Platform) -> None:
        self.w3 = platform.chain.w3
        self.accounts: list[str] = []

    def of(self, account: str) -> int:
        return self.accounts.count(account.lower())

    def __enter__(self) -> HasRoleCalls:
        seen = self.accounts

        class Counting(Web3Middleware):
            def wrap_make_request(self, make_request: Any) -> Any:
                def middleware(method: Any, params: Any) -> Any:
                    data = str(params[0].get("data", "")) if method == "eth_call" else ""
                    if data.startswith(HAS_ROLE):
                        seen.append("0x" + data[len(HAS_ROLE) + 64 + 24 : len(HAS_ROLE) + 128].lower())
                    return make_request(method, params)

                return middleware

        self.w3.middleware_onion.add(Counting, name="has_role_calls")
        return self

    def __exit__(self, *exc: object) -> None:
        self.w3.middleware_onion.remove("has_role_calls")


def test_a_granted_key_is_refused_as_a_citizen_and_accepted_once_revoked(env: Env) -> None:
    key = Account.create().address
    grant(env, "CivicMileage", "TREASURY_ROLE", key)
    grant(env, "MVoting", "POLL_ADMIN_ROLE", key)
    # the grant is in the read model as soon as it is acknowledged
    labels = ["MVoting.POLL_ADMIN_ROLE", "CivicMileage.TREASURY_ROLE"]
    assert sorted(agency.agency_roles_of(env.platform, key)) == sorted(labels)
    assert agency.agency_roles_of(env.platform, key) == agency.agency_roles_on_chain(env.platform, key)
    body = assert_error(register(env, key), 403, "agency_key_as_citizen", key, *labels)
    assert sorted(body["details"]["roles"]) == sorted(labels) and body["details"]["account"] == key

    revoke(env, "MVoting", "POLL_ADMIN_ROLE", key)
    body = assert_error(register(env, key), 403, "agency_key_as_citizen", "CivicMileage.TREASURY_ROLE")
    assert body["details"]["roles"] == ["CivicMileage.TREASURY_ROLE"]
    revoke(env, "CivicMileage", "TREASURY_ROLE", key)
    assert agency.agency_roles_of(env.platform, key) == []
    r = register(env, key)
    assert r.status_code == 201, r.text
    assert r.json()["event"] == "CitizenRegistered" and r.json()["citizen"]["account"] == key


def test_the_read_model_equals_has_role_for_every_key_touched(env: Env) -> None:
    platform = env.platform
    a, b = Account.create().address, Account.create().address
    grant(env, "Notary", "NOTARY_ROLE", a)
    grant(env, "Notary", "NOTARY_ROLE", b)
    grant(env, "CitizenRegistry", "REGISTRAR_ROLE", a)
    revoke(env, "Notary", "NOTARY_ROLE", a)
    grant(env, "Notary", "NOTARY_ROLE", a)  # granted again after a revoke
    revoke(env, "Notary", "NOTARY_ROLE", b)
    keys = [a, b, env.registrar.address, platform.operator.address, Account.create().address]
    for key in keys:
        assert indexed(platform, key) == on_chain(platform, key), key
        assert agency.agency_roles_of(platform, key) == agency.agency_roles_on_chain(platform, key), key
    # the operator administers every contract with AccessControl (deploy's grants are indexed too)
    labels = agency.agency_roles_of(platform, platform.operator.address)
    assert {label.split(".")[0] for label in labels if label.endswith(".DEFAULT_ADMIN_ROLE")} == {
        name for name, role, _ in agency.agency_roles(platform) if role == "DEFAULT_ADMIN_ROLE"
    }
    # ``only`` restricts the answer as before (sign-in sessions, agency requests)
    assert agency.agency_roles_of(platform, a, {"Notary.NOTARY_ROLE", "MVoting.POLL_ADMIN_ROLE"}) == [
        "Notary.NOTARY_ROLE"
    ]
    # every (contract, role, account) of the table is a live hasRole
    with fresh_read(platform, "roles") as (conn, _):
        rows = list(conn.execute(f"SELECT contract, role, account FROM {TABLE}"))
    for contract, role, account in rows:
        fn = platform.deployment.contract(contract).functions.hasRole(bytes.fromhex(role[2:]), account)
        assert fn.call() is True, (contract, role, account)


def test_the_check_makes_no_has_role_call(env: Env) -> None:
    platform = env.platform
    key = Account.create().address
    grant(env, "CivicWon", "TREASURY_ROLE", key)
    agency.agency_roles(platform)  # the role ids are read once per contract, then cached
    with HasRoleCalls(platform) as calls:
        assert agency.agency_roles_of(platform, key) == ["CivicWon.TREASURY_ROLE"]
        assert_error(register(env, key), 403, "agency_key_as_citizen", "CivicWon.TREASURY_ROLE")
        plain = Account.create().address
        assert register(env, plain).status_code == 201  # typed data and relay: both check the key
    # the only hasRole left is identity's registrar check of the typed data that got that far
    assert calls.of(key) == 0 and calls.of(plain) == 0
    assert calls.accounts == [env.registrar.address.lower()]
    # the chain path, for comparison: one call per (contract, role)
    with HasRoleCalls(platform) as calls:
        agency.agency_roles_on_chain(platform, key)
    assert calls.of(key) == len(agency.agency_roles(platform)) > 20


def test_a_rebuilt_index_gives_the_same_answer_and_verifies(env: Env) -> None:
    platform = env.platform
    key = Account.create().address
    grant(env, "LaborRecords", "LABOR_OFFICE_ROLE", key)
    grant(env, "VehicleHistory", "DEFAULT_ADMIN_ROLE", key)
    revoke(env, "VehicleHistory", "DEFAULT_ADMIN_ROLE", key)
    keys = [key, env.registrar.address, platform.operator.address]
    before = {k: agency.agency_roles_of(platform, k) for k in keys}
    assert before[key] and before[key] == agency.agency_roles_on_chain(platform, key)
    assert platform.indexer.wait_for(platform.chain.head(), 30)
    # ``index rebuild``: the read model dropped and replayed from the stored events
    replayed = rebuild_index(platform.settings)[TABLE]
    assert replayed >= 3 + len(agency.agency_roles_of(platform, platform.operator.address))  # deploy grants too
    assert {k: agency.agency_roles_of(platform, k) for k in keys} == before
    # a tampered row answers wrongly, ``index verify`` (recomputed from the chain) names the table,
    # ``index rebuild`` restores the answer
    conn = sqlite3.connect(str(platform.indexer.path))
    with conn:
        conn.execute(f"DELETE FROM {TABLE} WHERE account = ?", (key,))
    conn.close()
    assert agency.agency_roles_of(platform, key) == []
    report = verify_index(platform.settings)
    assert report.mismatched == [TABLE] and not report.problems, report.as_dict()
    assert rebuild_index(platform.settings)[TABLE] == replayed
    assert verify_index(platform.settings).ok
    assert {k: agency.agency_roles_of(platform, k) for k in keys} == before


def test_role_members_are_listed_from_the_index(env: Env) -> None:
    a, b = Account.create().address, Account.create().address
    grant(env, "SubcontractPayments", "INSPECTOR_ROLE", a)
    grant(env, "SubcontractPayments", "INSPECTOR_ROLE", b)
    revoke(env, "SubcontractPayments", "INSPECTOR_ROLE", a)
    r = env.api.get("/roles/SubcontractPayments/INSPECTOR_ROLE/members")
    assert r.status_code == 200, r.text
    out = r.json()
    assert [m["account"] for m in out["members"]] == [b]
    assert out["members"][0]["granted_tx"].startswith("0x") and out["block"] >= out["members"][0]["granted_block"]
    registrars = env.api.get("/roles/CitizenRegistry/REGISTRAR_ROLE/members").json()["members"]
    assert env.registrar.address in {m["account"] for m in registrars}
    admins = env.api.get("/roles/CitizenRegistry/DEFAULT_ADMIN_ROLE/members").json()["members"]
    assert [m["account"] for m in admins] == [env.platform.operator.address]
    # the membership check beside it still answers for one account
    assert env.api.get(f"/roles/SubcontractPayments/INSPECTOR_ROLE/{b}").json()["has_role"] is True
    assert_error(env.api.get("/roles/Nope/X_ROLE/members"), 404, "unknown_contract", "Nope")
    assert_error(env.api.get("/roles/MVoting/BOSS_ROLE/members"), 404, "unknown_role", "POLL_ADMIN_ROLE")
