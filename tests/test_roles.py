"""Agency roles through the API: only a signed-in admin of the contract grants or revokes."""

from __future__ import annotations

import httpx
import pytest
from eth_account import Account
from typer.testing import CliRunner

from civic_ledger.cli import app as cli_app
from civic_ledger.platform.runtime import Platform
from tests.helpers import make_registrar, register_citizen, sign_in


@pytest.fixture
def admin_token(api: httpx.Client, platform: Platform) -> str:
    return sign_in(api, platform.operator)


def test_roles_are_listed_from_the_abis(api: httpx.Client) -> None:
    roles = {(r["contract"], r["role"]) for r in api.get("/roles").json()}
    assert ("MVoting", "POLL_ADMIN_ROLE") in roles
    assert ("CitizenRegistry", "REGISTRAR_ROLE") in roles
    assert ("Notary", "DEFAULT_ADMIN_ROLE") in roles


def test_admin_grants_and_revokes_poll_admin(api: httpx.Client, platform: Platform, admin_token: str) -> None:
    agency = Account.create()
    auth = {"Authorization": f"Bearer {admin_token}"}
    body = {"contract": "MVoting", "role": "POLL_ADMIN_ROLE", "account": agency.address}
    granted = api.post("/roles", json=body, headers=auth)
    assert granted.status_code == 201, granted.text
    assert granted.json()["has_role"] is True and granted.json()["tx_hash"].startswith("0x")
    voting = platform.deployment.contract("MVoting")
    role_id = voting.functions.POLL_ADMIN_ROLE().call()
    (event,) = voting.events.RoleGranted().get_logs(from_block=granted.json()["block_number"])
    assert event["args"]["account"] == agency.address and event["args"]["role"] == role_id
    assert api.get(f"/roles/MVoting/POLL_ADMIN_ROLE/{agency.address}").json()["has_role"] is True

    again = api.post("/roles", json=body, headers=auth)
    assert again.status_code == 409 and again.json()["error"] == "role_already_granted"

    revoked = api.delete(f"/roles/MVoting/POLL_ADMIN_ROLE/{agency.address}", headers=auth)
    assert revoked.status_code == 200 and revoked.json()["has_role"] is False
    assert voting.functions.hasRole(role_id, agency.address).call() is False
    gone = api.delete(f"/roles/MVoting/POLL_ADMIN_ROLE/{agency.address}", headers=auth)
    assert gone.status_code == 404 and gone.json()["error"] == "role_not_held"


def test_grant_needs_a_signed_in_admin_of_that_contract(api: httpx.Client, platform: Platform) -> None:
    body = {"contract": "MVoting", "role": "POLL_ADMIN_ROLE", "account": Account.create().address}
    anonymous = api.post("/roles", json=body)
    assert anonymous.status_code == 401

    # A registrar is an agency (it can sign in) but not an admin of MVoting.
    registrar = make_registrar(platform)
    token = sign_in(api, registrar)
    refused = api.post("/roles", json=body, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "not_contract_admin"
    assert f"{registrar.address} is not an admin of MVoting" in refused.json()["message"]

    # A citizen is not an agency at all.
    citizen = Account.create()
    register_citizen(platform, registrar, citizen.address)
    citizen_token = sign_in(api, citizen)
    assert api.post("/roles", json=body, headers={"Authorization": f"Bearer {citizen_token}"}).status_code == 403


def test_unknown_contract_or_role_is_404_naming_the_choices(api: httpx.Client, admin_token: str) -> None:
    auth = {"Authorization": f"Bearer {admin_token}"}
    account = Account.create().address
    bad_contract = api.post("/roles", json={"contract": "Nope", "role": "X_ROLE", "account": account}, headers=auth)
    # The admin check runs first and finds no such contract.
    assert bad_contract.status_code == 404 and "no deployed contract named 'Nope'" in bad_contract.json()["message"]
    bad_role = api.get(f"/roles/MVoting/BOSS_ROLE/{account}")
    assert bad_role.status_code == 404 and "POLL_ADMIN_ROLE" in bad_role.json()["message"]
    bad_account = api.get("/roles/MVoting/POLL_ADMIN_ROLE/0x1234")
    assert bad_account.status_code == 422 and "account" in bad_account.json()["message"]


@pytest.mark.parametrize("chain_url", ["embedded"], indirect=True)
def test_cli_grants_poll_admin_with_the_admin_keystore(api: httpx.Client, platform: Platform, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin_keystore = tmp_path / "admin.json"
    import json

    admin_keystore.write_text(json.dumps(Account.encrypt(platform.operator.key, "pw", kdf="pbkdf2", iterations=1000)))
    agency = Account.create()
    runner = CliRunner()
    result = runner.invoke(
        cli_app,
        [
            "roles",
            "grant",
            "MVoting",
            "POLL_ADMIN_ROLE",
            agency.address,
            "-a",
            str(admin_keystore),
            "--api",
            str(api.base_url),
            "--password",
            "pw",
        ],
    )
    assert result.exit_code == 0, result.output
    check = runner.invoke(
        cli_app, ["roles", "check", "MVoting", "POLL_ADMIN_ROLE", agency.address, "--api", str(api.base_url)]
    )
    assert check.exit_code == 0 and "holds MVoting.POLL_ADMIN_ROLE" in check.output
    listed = runner.invoke(
        cli_app, ["roles", "members", "MVoting", "POLL_ADMIN_ROLE", "--api", str(api.base_url), "--json"]
    )
    assert listed.exit_code == 0, listed.output
    members = json.loads(listed.stdout)["members"]
    assert agency.address in [m["account"] for m in members]
    table = runner.invoke(cli_app, ["roles", "members", "MVoting", "POLL_ADMIN_ROLE", "--api", str(api.base_url)])
    assert (
        table.exit_code == 0
        and agency.address in table.output
        and "holder(s) of MVoting.POLL_ADMIN_ROLE" in table.output
    )


def test_an_admin_can_not_revoke_its_own_admin_role(api: httpx.Client, platform: Platform, admin_token: str) -> None:
    """A fuzzed ``DELETE /roles/MVoting/DEFAULT_ADMIN_ROLE/<operator>`` by the operator itself left
    MVoting without any admin, for good: nobody could grant POLL_ADMIN_ROLE again."""
    auth = {"Authorization": f"Bearer {admin_token}"}
    me = platform.operator.address
    r = api.delete(f"/roles/MVoting/DEFAULT_ADMIN_ROLE/{me.lower()}", headers=auth)
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "self_admin_revoke" and "without any admin" in r.json()["message"]
    assert api.get(f"/roles/MVoting/DEFAULT_ADMIN_ROLE/{me}").json()["has_role"] is True
    # Another admin can still be added and removed by this one.
    other = Account.create().address
    body = {"contract": "MVoting", "role": "DEFAULT_ADMIN_ROLE", "account": other}
    assert api.post("/roles", json=body, headers=auth).status_code == 201
    assert api.delete(f"/roles/MVoting/DEFAULT_ADMIN_ROLE/{other}", headers=auth).status_code == 200
