"""Identity (issue 3): CitizenRegistry through the API, Sign-In with Ethereum, the CLI.

One chain + API server per module and chain kind (embedded, anvil): each test makes its own
fresh keys, so tests do not depend on each other's state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from civic_ledger.api.errors import install_error_handlers
from civic_ledger.cli import app as cli_app
from civic_ledger.identity import districts as codes
from civic_ledger.identity import service
from civic_ledger.identity.auth import (
    AgencyPrincipal,
    CitizenPrincipal,
    NonceStore,
    Session,
    TokenSigner,
    build_message,
)
from civic_ledger.identity.deps import CityAdmin, CurrentAgency, CurrentCitizen
from civic_ledger.identity.schemas import NonceOut
from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform
from civic_ledger.platform.store import open_store
from tests import helpers
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import bearer, error, make_registrar, sign_typed

SECRET = "identity-test-session-secret"


@dataclass
class Env:
    platform: Platform
    api: httpx.Client
    url: str
    registrar: LocalAccount
    admin_token: str
    tmp: Path

    @property
    def registry(self) -> Any:
        return self.platform.deployment.contract("CitizenRegistry")


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp(f"identity-{request.param}")
    with (
        module_chain(request) as chain,
        started_platform(chain, tmp / "data", session_secret=SECRET) as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        registrar = make_registrar(platform)
        admin_token = login(client, platform.operator).json()["token"]
        yield Env(platform, client, server.url, registrar, admin_token, tmp)


# -- helpers -------------------------------------------------------------------------------


def nonce_of(api: httpx.Client) -> NonceOut:
    r = api.get("/auth/nonce")
    assert r.status_code == 200, r.text
    return NonceOut(**r.json())


def login(
    api: httpx.Client,
    account: LocalAccount,
    *,
    signer: LocalAccount | None = None,
    nonce: NonceOut | None = None,
    **overrides: Any,
) -> httpx.Response:
    """Sign in ``account`` (optionally signed by another key, or with overridden message fields)."""
    n = nonce or nonce_of(api)
    message = build_message(n, account.address, **overrides)
    sig = (signer or account).sign_message(encode_defunct(text=message)).signature
    return api.post("/auth/login", json={"message": message, "signature": "0x" + bytes(sig).hex()})


def register_via_api(
    env: Env,
    account: str,
    *,
    registrar: LocalAccount | None = None,
    district: Any = "Mapo",
    birth_year: int = 1990,
    residency: Any = "resident",
    record: dict[str, Any] | None = None,
    **typed_extra: Any,
) -> httpx.Response:
    fields = {"account": account, "district": district, "birth_year": birth_year, "residency": residency}
    r = helpers.register_via_api(env.api, registrar or env.registrar, fields, record=record, **typed_extra)
    assert not r.url.path.endswith("/typed-data"), r.text  # the typed data was served
    return r


def new_citizen(env: Env, **kw: Any) -> tuple[LocalAccount, dict[str, Any]]:
    account = Account.create()
    r = register_via_api(env, account.address, **kw)
    assert r.status_code == 201, r.text
    return account, r.json()


def registrar_action(
    env: Env, citizen_id: int, action: str, fields: dict[str, Any], *, registrar: LocalAccount | None = None
) -> httpx.Response:
    reg = registrar or env.registrar
    path = f"/identity/citizens/by-id/{citizen_id}/{action}"
    t = env.api.post(f"{path}/typed-data", json={**fields, "registrar": reg.address})
    assert t.status_code == 200, t.text
    typed = t.json()
    extra = {"record_hash": typed["record_hash"]} if "record_hash" in typed else {}
    return env.api.post(
        path,
        json={
            **fields,
            **extra,
            "registrar": reg.address,
            "nonce": typed["nonce"],
            "deadline": typed["deadline"],
            "signature": sign_typed(reg, typed["typed_data"]),
        },
    )


def rotate(env: Env, old: LocalAccount, new: LocalAccount) -> httpx.Response:
    t = env.api.post("/identity/rotations/typed-data", json={"old_account": old.address, "new_account": new.address})
    assert t.status_code == 200, t.text
    typed = t.json()
    return env.api.post(
        "/identity/rotations",
        json={
            "old_account": old.address,
            "new_account": new.address,
            "nonce": typed["nonce"],
            "deadline": typed["deadline"],
            "old_signature": sign_typed(old, typed["typed_data"]),
            "new_signature": sign_typed(new, typed["typed_data"]),
        },
    )


def events(env: Env, name: str, tx_hash: str) -> list[dict[str, Any]]:
    receipt = env.platform.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    from web3.logs import DISCARD

    return [dict(e["args"]) for e in getattr(env.registry.events, name)().process_receipt(receipt, errors=DISCARD)]


# -- tables and EIP-712 types --------------------------------------------------------------


def test_districts_table_accepts_codes_and_names_and_age_bands() -> None:
    assert len(codes.DISTRICTS) == 25
    assert [codes.DISTRICTS[i].name for i in (1, 2, 14, 19, 23, 25)] == [
        "Jongno",
        "Jung",
        "Mapo",
        "Yeongdeungpo",
        "Gangnam",
        "Gangdong",
    ]
    for ref in (14, "14", "Mapo", "mapo-gu", "Mapo-gu", "마포구", "마포"):
        assert codes.district(ref).code == 14, ref
    assert codes.district("Jung").code == 2 and codes.district("Jungnang").code == 7
    assert codes.district("중구").name_ko == "중구"
    for bad in (0, 26, "Busan", "Jungg"):
        with pytest.raises(ValueError, match="unknown district"):
            codes.district(bad)
    assert codes.age_band(1990, year=2026) == "30-39"
    assert codes.age_band(2006, year=2026) == "20-29"
    assert codes.age_band(2026, year=2026) == "0-9"
    assert codes.age_band(1920, year=2026) == "100+"
    assert codes.residency_code("registered-foreigner") == 2
    assert codes.suspension_reason_code("deceased") == 2


def test_python_types_hash_to_the_contract_typehashes(env: Env) -> None:
    for primary, constant in service.TYPEHASH_CONSTANTS.items():
        assert eip712.typehash(primary, service.TYPES[primary]) == getattr(env.registry.functions, constant)().call()
    assert env.registry.functions.REGISTRAR_ROLE().call() == service.REGISTRAR_ROLE
    body = env.api.get("/identity/districts").json()
    assert len(body) == 25 and body[13] == {"code": 14, "name": "Mapo", "name_ko": "마포구"}


# -- registration --------------------------------------------------------------------------


def test_registrar_registers_through_the_api_and_the_event_and_lookups_match(env: Env) -> None:
    citizen = Account.create()
    r = register_via_api(env, citizen.address, district="영등포구", birth_year=1985, residency="overseas_korean")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["event"] == "CitizenRegistered"
    c = out["citizen"]
    (ev,) = events(env, "CitizenRegistered", out["tx_hash"])
    assert ev == {
        "citizenId": c["citizen_id"],
        "account": citizen.address,
        "district": 19,
        "birthYear": 1985,
        "residency": 3,
        "recordHash": bytes.fromhex(c["record_hash"][2:]),
        "registrar": env.registrar.address,
    }
    looked = env.api.get(f"/identity/citizens/{citizen.address.lower()}").json()
    assert looked == c == env.api.get(f"/identity/citizens/by-id/{c['citizen_id']}").json()
    year = datetime.now(UTC).year
    assert c["active"] is True and c["status"] == "active" and c["suspension_reason"] is None
    assert c["district"] == {"code": 19, "name": "Yeongdeungpo", "name_ko": "영등포구"}
    assert c["age_band"] == codes.age_band(1985, year=year)
    assert c["residency"] == "overseas_korean" and c["residency_code"] == 3
    block = env.platform.chain.w3.eth.get_block(out["block_number"])
    assert c["registered_at"] == block["timestamp"] == c["updated_at"]
    assert c["since"] == datetime.fromtimestamp(block["timestamp"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert out["gas_used"] < 150_000


def test_lookups_of_unknown_addresses_and_ids_are_404(env: Env) -> None:
    stranger = Account.create().address
    assert "not registered" in error(env.api.get(f"/identity/citizens/{stranger}"), 404, "citizen_not_found")
    assert "no citizen has id 999999" in error(env.api.get("/identity/citizens/by-id/999999"), 404, "citizen_not_found")
    assert "0x1234" in error(env.api.get("/identity/citizens/0x1234"), 422, "invalid_input")


def test_only_registrars_can_register(env: Env) -> None:
    stranger = Account.create()
    citizen = Account.create().address
    # The typed-data endpoint already refuses to prepare a message for a non-registrar ...
    r = env.api.post(
        "/identity/citizens/typed-data",
        json={"account": citizen, "district": 1, "birth_year": 1990, "registrar": stranger.address},
    )
    assert stranger.address in error(r, 403, "CitizenRegistryNotRegistrar")
    # ... and a message the stranger signed on their own is refused by the contract (simulated, no gas spent).
    registry = env.registry
    message = {
        "account": citizen,
        "district": 1,
        "birthYear": 1990,
        "residency": 1,
        "recordHash": b"\x01" * 32,
        "registrar": stranger.address,
        "nonce": 0,
        "deadline": eip712.deadline(),
    }
    typed = service.typed_message(env.platform, "RegisterCitizen", message)
    operator_nonce = env.platform.chain.w3.eth.get_transaction_count(env.platform.operator.address)
    body = {
        "account": citizen,
        "district": 1,
        "birth_year": 1990,
        "residency": 1,
        "record_hash": "0x" + "01" * 32,
        "registrar": stranger.address,
        "nonce": 0,
        "deadline": message["deadline"],
        "signature": "0x" + typed.sign(stranger).hex(),
    }
    r = env.api.post("/identity/citizens", json=body)
    msg = error(r, 403, "CitizenRegistryNotRegistrar")
    assert stranger.address in msg and "REGISTRAR_ROLE" in msg
    assert env.platform.chain.w3.eth.get_transaction_count(env.platform.operator.address) == operator_nonce
    assert registry.functions.citizenIdOf(citizen).call() == 0


def test_a_registrar_whose_role_was_revoked_can_not_register(env: Env) -> None:
    registrar = Account.create()
    granted = env.api.post("/identity/registrars", json={"address": registrar.address}, headers=bearer(env.admin_token))
    assert granted.status_code == 201 and granted.json()["is_registrar"] is True
    citizen = Account.create().address
    fields = {"account": citizen, "district": "Gangnam", "birth_year": 2000}
    t = env.api.post("/identity/citizens/typed-data", json={**fields, "registrar": registrar.address}).json()
    signed = {
        **fields,
        "record_hash": t["record_hash"],
        "registrar": registrar.address,
        "nonce": t["nonce"],
        "deadline": t["deadline"],
        "signature": sign_typed(registrar, t["typed_data"]),
    }
    revoked = env.api.delete(f"/identity/registrars/{registrar.address}", headers=bearer(env.admin_token))
    assert revoked.status_code == 200 and revoked.json()["is_registrar"] is False
    assert env.api.get(f"/identity/registrars/{registrar.address}").json()["is_registrar"] is False
    # The message signed while the role was held no longer works.
    msg = error(env.api.post("/identity/citizens", json=signed), 403, "CitizenRegistryNotRegistrar")
    assert registrar.address in msg
    assert env.registry.functions.citizenIdOf(citizen).call() == 0


def test_a_signature_by_another_key_is_refused_naming_the_expected_signer(env: Env) -> None:
    citizen = Account.create().address
    fields = {"account": citizen, "district": 3, "birth_year": 1970}
    t = env.api.post("/identity/citizens/typed-data", json={**fields, "registrar": env.registrar.address}).json()
    impostor = Account.create()
    body = {
        **fields,
        "record_hash": t["record_hash"],
        "registrar": env.registrar.address,
        "nonce": t["nonce"],
        "deadline": t["deadline"],
        "signature": sign_typed(impostor, t["typed_data"]),
    }
    msg = error(env.api.post("/identity/citizens", json=body), 403, "invalid_signature")
    assert f"registrar {env.registrar.address}" in msg and impostor.address in msg
    # A field changed after signing is the same failure (the message is rebuilt from the fields).
    body = {**body, "district": 4, "signature": sign_typed(env.registrar, t["typed_data"])}
    assert env.registrar.address in error(env.api.post("/identity/citizens", json=body), 403, "invalid_signature")


def test_duplicate_replayed_expired_and_invalid_registrations_are_4xx(env: Env) -> None:
    citizen = Account.create()
    fields = {"account": citizen.address, "district": 1, "birth_year": 1990, "residency": 1}
    t = env.api.post("/identity/citizens/typed-data", json={**fields, "registrar": env.registrar.address}).json()
    body = {
        **fields,
        "record_hash": t["record_hash"],
        "registrar": env.registrar.address,
        "nonce": t["nonce"],
        "deadline": t["deadline"],
        "signature": sign_typed(env.registrar, t["typed_data"]),
    }
    assert env.api.post("/identity/citizens", json=body).status_code == 201
    # the very same signed message again: its nonce is spent
    assert "nonce" in error(env.api.post("/identity/citizens", json=body), 409, "InvalidAccountNonce")
    # a fresh message for an address already bound
    r = env.api.post("/identity/citizens/typed-data", json={**fields, "registrar": env.registrar.address})
    assert citizen.address in error(r, 409, "CitizenRegistryAlreadyRegistered")
    # an expired deadline
    other = Account.create().address
    past = int(time.time()) - 60
    r = register_via_api(env, other, deadline=past)
    assert str(past) in error(r, 422, "CitizenRegistrySignatureExpired")
    # field validation names the field
    bad = env.api.post(
        "/identity/citizens/typed-data",
        json={"account": other, "district": "Busan", "birth_year": 1990, "registrar": env.registrar.address},
    )
    assert "district" in error(bad, 422, "invalid_input") and "Busan" in bad.json()["message"]
    bad = env.api.post(
        "/identity/citizens/typed-data",
        json={"account": other, "district": 1, "birth_year": 1850, "registrar": env.registrar.address},
    )
    assert "birth_year" in error(bad, 422, "invalid_input")
    bad = env.api.post(
        "/identity/citizens/typed-data",
        json={
            "account": other,
            "district": 1,
            "birth_year": 1990,
            "residency": "tourist",
            "registrar": env.registrar.address,
        },
    )
    assert "residency" in error(bad, 422, "invalid_input")
    bad = env.api.post(
        "/identity/citizens/typed-data",
        json={
            "account": other,
            "district": 1,
            "birth_year": 1990,
            "record": {"name": "x"},
            "record_hash": "0x" + "01" * 32,
            "registrar": env.registrar.address,
        },
    )
    assert "either record or record_hash" in error(bad, 422, "invalid_input")


def test_no_personal_data_on_chain_only_a_salted_record_hash(env: Env) -> None:
    name, rrn = "홍길동", "900101-1234567"
    record = {"name": name, "resident_number": rrn, "address": "서울특별시 마포구 월드컵북로 1"}
    citizen = Account.create()
    fields = {"account": citizen.address, "district": "Mapo", "birth_year": 1990}
    answer = env.api.post(
        "/identity/citizens/typed-data", json={**fields, "registrar": env.registrar.address, "record": record}
    )
    assert name not in answer.text and rrn not in answer.text  # the record is not echoed back
    t = answer.json()
    salt = bytes.fromhex(t["record_salt"][2:])
    expected = keccak(salt + json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    assert t["record_hash"] == "0x" + expected.hex()
    # the same record hashes differently each time (salted: a guessable resident number can not be tested)
    again = env.api.post(
        "/identity/citizens/typed-data", json={**fields, "registrar": env.registrar.address, "record": record}
    ).json()
    assert again["record_hash"] != t["record_hash"]
    assert record["name"] not in json.dumps(t["typed_data"], ensure_ascii=False)
    body = {
        **fields,
        "record_hash": t["record_hash"],
        "registrar": env.registrar.address,
        "nonce": t["nonce"],
        "deadline": t["deadline"],
        "signature": sign_typed(env.registrar, t["typed_data"]),
    }
    out = env.api.post("/identity/citizens", json=body).json()
    w3 = env.platform.chain.w3
    tx = w3.eth.get_transaction(out["tx_hash"])
    receipt = w3.eth.get_transaction_receipt(out["tx_hash"])
    blobs = [bytes(tx["input"])] + [
        bytes(log["data"]) + b"".join(bytes(x) for x in log["topics"]) for log in receipt["logs"]
    ]
    secrets_ = [s.encode() for s in (name, rrn, "900101", "1234567", record["address"])]
    for blob in blobs:
        for s in secrets_:
            assert s not in blob and s.hex().encode() not in blob
    assert any(expected in blob for blob in blobs)
    # Stored data: find the citizen's struct (2 slots) and check it holds only address, codes, year, time, hash.
    cid = out["citizen"]["citizen_id"]
    registry = env.registry.address
    for base in range(16):
        slot = int.from_bytes(keccak(cid.to_bytes(32, "big") + base.to_bytes(32, "big")), "big")
        packed = bytes(w3.eth.get_storage_at(registry, slot))
        if packed[-20:] == bytes.fromhex(citizen.address[2:]):
            break
    else:  # pragma: no cover
        pytest.fail("citizen struct not found in storage")
    # layout (right to left): account 20 · status 1 · district 1 · birthYear 2 · residency 1 · reason 1 · registeredAt 5
    v = int.from_bytes(packed, "big")
    assert (v >> 160) & 0xFF == 1 and (v >> 168) & 0xFF == 14 and (v >> 176) & 0xFFFF == 1990
    assert (v >> 192) & 0xFF == 1 and (v >> 200) & 0xFF == 0
    assert (v >> 208) & (2**40 - 1) == out["citizen"]["registered_at"] and v >> 248 == 0
    assert bytes(w3.eth.get_storage_at(registry, slot + 1)) == expected
    for s in secrets_:
        assert s not in packed and s not in expected
    if not env.platform.chain.is_embedded:
        # anvil: every storage slot the transaction wrote, from the node's own state diff
        trace = w3.provider.make_request(
            "debug_traceTransaction", [out["tx_hash"], {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}]
        )
        post = trace["result"]["post"]
        written = [bytes.fromhex(v[2:]) for acct in post.values() for v in (acct.get("storage") or {}).values()]
        assert packed in written and expected in written
        for value in written:
            for s in secrets_:
                assert s not in value


# -- other registrar actions ---------------------------------------------------------------


def test_update_suspend_reinstate_and_recover_emit_their_events(env: Env) -> None:
    citizen, reg = new_citizen(env, district=1, birth_year=1960)
    cid = reg["citizen"]["citizen_id"]

    r = registrar_action(env, cid, "update", {"district": "Songpa", "birth_year": 1961, "residency": 2})
    assert r.status_code == 200, r.text
    out = r.json()
    (ev,) = events(env, "CitizenUpdated", out["tx_hash"])
    assert (ev["citizenId"], ev["account"], ev["district"], ev["birthYear"], ev["residency"], ev["registrar"]) == (
        cid,
        citizen.address,
        24,
        1961,
        2,
        env.registrar.address,
    )
    assert ev["recordHash"].hex() == reg["citizen"]["record_hash"][2:]  # kept
    assert out["citizen"]["district"]["name"] == "Songpa" and out["citizen"]["residency"] == "registered_foreigner"

    msg = error(
        env.api.post(f"/identity/citizens/by-id/{cid}/reinstate/typed-data", json={"registrar": env.registrar.address}),
        409,
        "CitizenRegistryNotSuspended",
    )
    assert str(cid) in msg

    r = registrar_action(env, cid, "suspend", {"reason": "moved_away"})
    assert r.status_code == 200, r.text
    (ev,) = events(env, "CitizenSuspended", r.json()["tx_hash"])
    assert ev == {"citizenId": cid, "account": citizen.address, "reason": 3, "registrar": env.registrar.address}
    c = env.api.get(f"/identity/citizens/{citizen.address}").json()
    assert c["active"] is False and c["status"] == "suspended" and c["suspension_reason"] == "moved_away"
    assert env.registry.functions.isActive(citizen.address).call() is False

    r = registrar_action(env, cid, "reinstate", {})
    assert r.status_code == 200, r.text
    (ev,) = events(env, "CitizenReinstated", r.json()["tx_hash"])
    assert ev == {"citizenId": cid, "account": citizen.address, "registrar": env.registrar.address}
    assert r.json()["citizen"]["active"] is True and r.json()["citizen"]["suspension_reason"] is None

    new = Account.create()
    r = registrar_action(env, cid, "recover", {"new_account": new.address})
    assert r.status_code == 200, r.text
    (ev,) = events(env, "CitizenKeyRotated", r.json()["tx_hash"])
    assert ev == {
        "citizenId": cid,
        "oldAccount": citizen.address,
        "newAccount": new.address,
        "byRegistrar": env.registrar.address,
    }
    assert env.api.get(f"/identity/citizens/{new.address}").json()["citizen_id"] == cid
    msg = error(env.api.get(f"/identity/citizens/{citizen.address}"), 404, "account_retired")
    assert f"citizen #{cid}" in msg
    # a retired address can never be registered again
    r = env.api.post(
        "/identity/citizens/typed-data",
        json={"account": citizen.address, "district": 1, "birth_year": 1990, "registrar": env.registrar.address},
    )
    assert citizen.address in error(r, 409, "CitizenRegistryAccountUsed")
    # the history (from the index): every change, oldest first, with what it set and who made it
    history = env.api.get(f"/identity/citizens/by-id/{cid}/history")
    assert history.status_code == 200, history.text
    h = history.json()["events"]
    assert [e["event"] for e in h] == [
        "CitizenRegistered",
        "CitizenUpdated",
        "CitizenSuspended",
        "CitizenReinstated",
        "CitizenKeyRotated",
    ]
    assert h[0]["changes"] == {
        "district": 1,
        "birth_year": 1960,
        "residency": "resident",
        "record_hash": reg["citizen"]["record_hash"],
    }
    assert h[1]["changes"]["district"] == 24 and h[1]["changes"]["residency"] == "registered_foreigner"
    assert h[2]["changes"] == {"reason": "moved_away"} and h[2]["by"] == env.registrar.address
    assert h[4]["account"] == new.address and h[4]["changes"] == {"old_account": citizen.address}
    assert [e["block_number"] for e in h] == sorted(e["block_number"] for e in h)
    assert h[0]["tx_hash"] == reg["tx_hash"]
    assert "999999" in error(env.api.get("/identity/citizens/by-id/999999/history"), 404, "citizen_not_found")
    # unknown citizen ids are 404 for every action
    r = env.api.post(
        "/identity/citizens/by-id/999999/suspend/typed-data", json={"reason": 1, "registrar": env.registrar.address}
    )
    error(r, 404, "citizen_not_found")
    r = env.api.post(
        f"/identity/citizens/by-id/{cid}/suspend/typed-data",
        json={"reason": "bored", "registrar": env.registrar.address},
    )
    assert "reason" in error(r, 422, "invalid_input")


def test_citizen_self_rotation_needs_both_keys_and_retires_the_old_one(env: Env) -> None:
    old, reg = new_citizen(env)
    cid = reg["citizen"]["citizen_id"]
    new = Account.create()
    t = env.api.post(
        "/identity/rotations/typed-data", json={"old_account": old.address, "new_account": new.address}
    ).json()
    assert t["signer"] == [old.address, new.address]
    base = {"old_account": old.address, "new_account": new.address, "nonce": t["nonce"], "deadline": t["deadline"]}
    other = Account.create()
    r = env.api.post(
        "/identity/rotations",
        json={
            **base,
            "old_signature": sign_typed(other, t["typed_data"]),
            "new_signature": sign_typed(new, t["typed_data"]),
        },
    )
    assert f"old key {old.address}" in error(r, 403, "invalid_signature")
    r = env.api.post(
        "/identity/rotations",
        json={
            **base,
            "old_signature": sign_typed(old, t["typed_data"]),
            "new_signature": sign_typed(other, t["typed_data"]),
        },
    )
    assert f"new key {new.address}" in error(r, 403, "invalid_signature")

    r = rotate(env, old, new)
    assert r.status_code == 200, r.text
    (ev,) = events(env, "CitizenKeyRotated", r.json()["tx_hash"])
    assert ev == {
        "citizenId": cid,
        "oldAccount": old.address,
        "newAccount": new.address,
        "byRegistrar": "0x" + "00" * 20,
    }
    assert r.json()["citizen"]["account"] == new.address and r.json()["citizen"]["citizen_id"] == cid
    assert env.registry.functions.isActive(old.address).call() is False
    # the old key can not rotate again, and nobody can rotate to it
    r = env.api.post(
        "/identity/rotations/typed-data", json={"old_account": old.address, "new_account": Account.create().address}
    )
    error(r, 404, "account_retired")
    r = env.api.post("/identity/rotations/typed-data", json={"old_account": new.address, "new_account": old.address})
    assert old.address in error(r, 409, "CitizenRegistryAccountUsed")
    r = env.api.post("/identity/rotations/typed-data", json={"old_account": new.address, "new_account": new.address})
    assert "must differ" in error(r, 422, "invalid_input")


def test_an_expired_rotation_is_refused_without_spending_gas(env: Env) -> None:
    old, _ = new_citizen(env)
    new = Account.create()
    past = int(time.time()) - 60
    t = env.api.post(
        "/identity/rotations/typed-data",
        json={"old_account": old.address, "new_account": new.address, "deadline": past},
    ).json()
    before = env.platform.chain.w3.eth.get_transaction_count(env.platform.operator.address)
    r = env.api.post(
        "/identity/rotations",
        json={
            "old_account": old.address,
            "new_account": new.address,
            "nonce": t["nonce"],
            "deadline": past,
            "old_signature": sign_typed(old, t["typed_data"]),
            "new_signature": sign_typed(new, t["typed_data"]),
        },
    )
    assert str(past) in error(r, 422, "CitizenRegistrySignatureExpired")
    assert env.platform.chain.w3.eth.get_transaction_count(env.platform.operator.address) == before
    assert env.registry.functions.isActive(old.address).call() is True


def test_a_suspended_citizen_can_not_rotate(env: Env) -> None:
    citizen, reg = new_citizen(env)
    assert registrar_action(env, reg["citizen"]["citizen_id"], "suspend", {"reason": "lost_device"}).status_code == 200
    r = env.api.post(
        "/identity/rotations/typed-data", json={"old_account": citizen.address, "new_account": Account.create().address}
    )
    error(r, 409, "CitizenRegistryNotActive")


# -- registrar administration --------------------------------------------------------------


def test_granting_and_revoking_registrars_needs_the_city_admin(env: Env) -> None:
    target = Account.create().address
    r = env.api.post("/identity/registrars", json={"address": target})
    assert "not signed in" in error(r, 401, "not_signed_in")
    citizen, _ = new_citizen(env)
    citizen_token = login(env.api, citizen).json()["token"]
    r = env.api.post("/identity/registrars", json={"address": target}, headers=bearer(citizen_token))
    assert "CitizenRegistry.DEFAULT_ADMIN_ROLE" in error(r, 403, "missing_role")
    r = env.api.post("/identity/registrars", json={"address": target}, headers=bearer(env.admin_token))
    assert r.status_code == 201 and r.json()["tx_hash"].startswith("0x")
    role = env.registry.functions.REGISTRAR_ROLE().call()
    assert env.registry.functions.hasRole(role, target).call() is True
    error(
        env.api.post("/identity/registrars", json={"address": target}, headers=bearer(env.admin_token)),
        409,
        "registrar_exists",
    )
    assert env.api.delete(f"/identity/registrars/{target}", headers=bearer(env.admin_token)).status_code == 200
    error(env.api.delete(f"/identity/registrars/{target}", headers=bearer(env.admin_token)), 404, "registrar_not_found")


# -- Sign-In with Ethereum -----------------------------------------------------------------


def test_a_citizen_signs_in_and_me_shows_the_identity(env: Env) -> None:
    citizen, reg = new_citizen(env)
    n = nonce_of(env.api)
    assert n.domain == "127.0.0.1:8000" and n.uri == "http://127.0.0.1:8000"
    assert n.chain_id == env.platform.chain.chain_id and len(n.nonce) >= 8
    r = login(env.api, citizen, nonce=n)
    assert r.status_code == 200, r.text
    session = r.json()
    assert session["address"] == citizen.address and session["citizen_id"] == reg["citizen"]["citizen_id"]
    assert session["roles"] == [] and session["expires_at"] > time.time() + 3000
    me = env.api.get("/auth/me", headers=bearer(session["token"])).json()
    assert me["citizen"]["citizen_id"] == reg["citizen"]["citizen_id"] and me["roles"] == []
    # the nonce endpoint can also prepare the whole message
    prepared = env.api.get("/auth/nonce", params={"address": citizen.address}).json()
    assert (
        prepared["message"].startswith("127.0.0.1:8000 wants you to sign in")
        and prepared["nonce"] in prepared["message"]
    )


def test_a_replayed_nonce_is_refused(env: Env) -> None:
    citizen, _ = new_citizen(env)
    n = nonce_of(env.api)
    message = build_message(n, citizen.address)
    body = {
        "message": message,
        "signature": "0x" + bytes(citizen.sign_message(encode_defunct(text=message)).signature).hex(),
    }
    assert env.api.post("/auth/login", json=body).status_code == 200
    msg = error(env.api.post("/auth/login", json=body), 409, "siwe_nonce_used")
    assert n.nonce in msg and "already used" in msg
    made_up = NonceOut(**{**n.model_dump(), "nonce": "notIssuedHere123"})
    assert "not issued" in error(login(env.api, citizen, nonce=made_up), 401, "siwe_nonce_unknown")


def test_an_expired_message_is_refused_and_its_nonce_is_burnt(env: Env) -> None:
    citizen, _ = new_citizen(env)
    n = nonce_of(env.api)
    past = datetime.now(UTC) - timedelta(minutes=5)
    r = login(env.api, citizen, nonce=n, issued_at=past - timedelta(minutes=1), expiration_time=past)
    assert "expired" in error(r, 401, "siwe_expired")
    # burnt even though the check failed: a corrected message with the same nonce is a replay
    error(login(env.api, citizen, nonce=n), 409, "siwe_nonce_used")


def test_a_message_issued_in_the_future_is_refused(env: Env) -> None:
    citizen, _ = new_citizen(env)
    future = datetime.now(UTC) + timedelta(hours=1)
    r = login(env.api, citizen, issued_at=future, expiration_time=future + timedelta(minutes=5))
    assert "in the future" in error(r, 401, "siwe_issued_in_future")


def test_a_message_for_another_domain_is_refused(env: Env) -> None:
    citizen, _ = new_citizen(env)
    msg = error(login(env.api, citizen, domain="evil.example"), 401, "siwe_wrong_domain")
    assert "'evil.example'" in msg and "'127.0.0.1:8000'" in msg


def test_a_message_for_another_chain_is_refused(env: Env) -> None:
    citizen, _ = new_citizen(env)
    msg = error(login(env.api, citizen, chain_id=1), 401, "siwe_wrong_chain")
    assert "chain id 1," in msg and str(env.platform.chain.chain_id) in msg


def test_a_signature_of_another_key_is_refused(env: Env) -> None:
    citizen, _ = new_citizen(env)
    other = Account.create()
    msg = error(login(env.api, citizen, signer=other), 401, "siwe_bad_signature")
    assert citizen.address in msg and other.address in msg


def test_malformed_messages_and_strangers_are_refused(env: Env) -> None:
    r = env.api.post("/auth/login", json={"message": "let me in", "signature": "0x" + "11" * 65})
    assert "EIP-4361" in error(r, 422, "siwe_malformed")
    stranger = Account.create()
    msg = error(login(env.api, stranger), 403, "not_a_citizen")
    assert stranger.address in msg and "neither a registered citizen nor" in msg


def test_a_suspended_citizen_loses_access_at_once(env: Env) -> None:
    citizen, reg = new_citizen(env)
    token = login(env.api, citizen).json()["token"]
    assert env.api.get("/auth/me", headers=bearer(token)).status_code == 200
    assert registrar_action(env, reg["citizen"]["citizen_id"], "suspend", {"reason": "lost_device"}).status_code == 200
    assert "suspended (reason: lost_device)" in error(login(env.api, citizen), 403, "citizen_suspended")
    assert "suspended" in error(env.api.get("/auth/me", headers=bearer(token)), 403, "citizen_suspended")


def test_the_rotated_away_key_loses_access_at_once(env: Env) -> None:
    old, reg = new_citizen(env)
    token = login(env.api, old).json()["token"]
    new = Account.create()
    assert rotate(env, old, new).status_code == 200
    msg = error(login(env.api, old), 403, "account_retired")
    assert f"rotated away from citizen #{reg['citizen']['citizen_id']}" in msg
    error(env.api.get("/auth/me", headers=bearer(token)), 403, "account_retired")
    assert login(env.api, new).json()["citizen_id"] == reg["citizen"]["citizen_id"]


def test_a_signed_out_token_stops_working(env: Env) -> None:
    citizen, _ = new_citizen(env)
    token = login(env.api, citizen).json()["token"]
    other = login(env.api, citizen).json()["token"]
    assert env.api.post("/auth/logout", headers=bearer(token)).status_code == 204
    assert "signed out" in error(env.api.get("/auth/me", headers=bearer(token)), 401, "session_revoked")
    assert env.api.get("/auth/me", headers=bearer(other)).status_code == 200  # only that session


def test_tokens_that_are_missing_tampered_or_expired_are_401(env: Env) -> None:
    error(env.api.get("/auth/me"), 401, "not_signed_in")
    error(env.api.get("/auth/me", headers=bearer("nonsense")), 401, "invalid_token")
    token = env.admin_token
    prefix, payload, mac = token.split(".")
    forged = f"{prefix}.{payload[:-2]}AA.{mac}"
    assert "signature" in error(env.api.get("/auth/me", headers=bearer(forged)), 401, "invalid_token")
    signer = TokenSigner(SECRET.encode(), "http://127.0.0.1:8000", env.platform.chain.chain_id)
    now = int(time.time())
    old = signer.encode(
        Session(env.platform.operator.address, None, ("CitizenRegistry.DEFAULT_ADMIN_ROLE",), now - 7200, now - 3600)
    )
    assert "expired" in error(env.api.get("/auth/me", headers=bearer(old)), 401, "session_expired")
    other_chain = TokenSigner(SECRET.encode(), "http://127.0.0.1:8000", 999).encode(
        Session(env.platform.operator.address, None, (), now, now + 60)
    )
    error(env.api.get("/auth/me", headers=bearer(other_chain)), 401, "invalid_token")


def test_current_citizen_and_current_agency_dependencies_recheck_the_chain(env: Env) -> None:
    """Another area's routes use the dependencies; an app of their own shows what they get."""
    app = FastAPI()
    install_error_handlers(app)
    app.state.platform = env.platform

    @app.get("/citizen-only")
    def citizen_only(citizen: CurrentCitizen) -> dict[str, Any]:
        assert isinstance(citizen, CitizenPrincipal)
        return {"id": citizen.citizen_id, "district": citizen.district.code, "birth_year": citizen.birth_year}

    @app.get("/agency-only")
    def agency_only(agency: CurrentAgency) -> dict[str, Any]:
        assert isinstance(agency, AgencyPrincipal)
        return {"roles": list(agency.roles)}

    @app.get("/admin-only")
    def admin_only(admin: CityAdmin) -> dict[str, Any]:
        return {"address": admin.address}

    client = TestClient(app)
    citizen, reg = new_citizen(env, district="Gwanak", birth_year=2001)
    citizen_token = login(env.api, citizen).json()["token"]
    assert client.get("/citizen-only", headers=bearer(citizen_token)).json() == {
        "id": reg["citizen"]["citizen_id"],
        "district": 21,
        "birth_year": 2001,
    }
    assert "without any agency role" in error(
        client.get("/agency-only", headers=bearer(citizen_token)), 403, "not_an_agency"
    )
    error(client.get("/citizen-only"), 401, "not_signed_in")

    registrar = make_registrar(env.platform)
    registrar_token = login(env.api, registrar).json()
    assert registrar_token["roles"] == ["CitizenRegistry.REGISTRAR_ROLE"] and registrar_token["citizen_id"] is None
    r = client.get("/agency-only", headers=bearer(registrar_token["token"]))
    assert r.json() == {"roles": ["CitizenRegistry.REGISTRAR_ROLE"]}
    assert "not a registered citizen" in error(
        client.get("/citizen-only", headers=bearer(registrar_token["token"])), 403, "not_a_citizen"
    )
    error(client.get("/admin-only", headers=bearer(registrar_token["token"])), 403, "missing_role")
    assert client.get("/admin-only", headers=bearer(env.admin_token)).json()["address"] == env.platform.operator.address
    admin_roles = login(env.api, env.platform.operator).json()["roles"]
    assert {"CitizenRegistry.DEFAULT_ADMIN_ROLE", "MVoting.DEFAULT_ADMIN_ROLE"} <= set(admin_roles)

    env.api.delete(f"/identity/registrars/{registrar.address}", headers=bearer(env.admin_token)).raise_for_status()
    assert "no longer holds" in error(
        client.get("/agency-only", headers=bearer(registrar_token["token"])), 403, "role_revoked"
    )
    assert registrar_action(env, reg["citizen"]["citizen_id"], "suspend", {"reason": 4}).status_code == 200
    error(client.get("/citizen-only", headers=bearer(citizen_token)), 403, "citizen_suspended")


def test_nonce_store_expires_and_burns(tmp_path: Path) -> None:
    store = NonceStore(open_store(tmp_path / "a"), ttl_s=0)
    nonce, _ = store.issue()
    time.sleep(0.01)
    with pytest.raises(Exception, match="expired") as caught:
        store.burn(nonce)
    assert getattr(caught.value, "code", None) == "siwe_nonce_expired"
    with pytest.raises(Exception, match="already used"):
        store.burn(nonce)
    small = NonceStore(open_store(tmp_path / "b"), max_live=3)
    issued = [small.issue()[0] for _ in range(5)]
    with pytest.raises(Exception, match="not issued"):
        small.burn(issued[0])  # the oldest was dropped when the store was full
    small.burn(issued[-1])


# -- the CLI (acceptance) ------------------------------------------------------------------


def test_acceptance_cli_citizen_registered_signs_in_rotates_and_old_key_is_refused(env: Env) -> None:
    runner = CliRunner()
    data = env.tmp / "cli"
    common = ["--data-dir", str(data), "--password", "pw"]
    api = ["--api", env.url]

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(cli_app, ["identity", *args], env={"CIVIC_KEYSTORE_PASSWORD": None, "CIVIC_TOKEN": None})
        if ok:
            assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
        return result

    alice = run("keystore", "create", "alice", *common, "--scrypt-n", "4096").stdout.strip()
    assert alice.startswith("0x") and (data / "keystores" / "alice.json").stat().st_mode & 0o777 == 0o600
    run(
        "keystore",
        "import",
        "admin",
        "--private-key",
        "0x" + env.platform.operator.key.hex(),
        *common,
        "--scrypt-n",
        "4096",
    )
    district_office = run("keystore", "create", "mapo-office", *common, "--scrypt-n", "4096").stdout.strip()
    listed = run("keystore", "list", "--data-dir", str(data)).stdout
    assert "alice" in listed and alice in listed and district_office in listed

    run("grant-registrar", "mapo-office", "--admin-keystore", "admin", *common, *api)
    assert env.api.get(f"/identity/registrars/{district_office}").json()["is_registrar"] is True

    reg = run(
        "register",
        "alice",
        "--district",
        "마포구",
        "--birth-year",
        "1994",
        "--registrar-keystore",
        "mapo-office",
        "--record",
        "name=김서울",
        "--record",
        "rrn=940101-2000000",
        *common,
        *api,
    )
    assert "CitizenRegistered" in reg.stderr and "record salt" in reg.stderr
    citizen = env.api.get(f"/identity/citizens/{alice}").json()
    assert citizen["district"]["code"] == 14 and citizen["birth_year"] == 1994
    (ev,) = [e for e in env.registry.events.CitizenRegistered().get_logs(from_block=0) if e["args"]["account"] == alice]
    assert ev["args"]["registrar"] == district_office
    tx_input = bytes(env.platform.chain.w3.eth.get_transaction(ev["transactionHash"])["input"])
    assert "김서울".encode() not in tx_input and b"940101" not in tx_input

    shown = run("show", "alice", *api, "--data-dir", str(data)).stdout
    assert "Mapo-gu" in shown and "마포구" in shown and "active" in shown and codes.age_band(1994) in shown

    token = run("login", "--keystore", "alice", *common, *api).stdout.strip()
    me = env.api.get("/auth/me", headers=bearer(token)).json()
    assert me["address"] == alice and me["citizen"]["citizen_id"] == citizen["citizen_id"]

    alice2 = run("keystore", "create", "alice-new", *common, "--scrypt-n", "4096").stdout.strip()
    rotated = run("rotate", "--keystore", "alice", "--new-keystore", "alice-new", *common, *api)
    assert "CitizenKeyRotated" in rotated.stderr

    refused = run("login", "--keystore", "alice", *common, *api, ok=False)
    assert refused.exit_code == 1 and "rotated away" in refused.stderr and refused.stdout == ""
    assert env.api.get("/auth/me", headers=bearer(token)).status_code == 403
    new_token = run("login", "--keystore", "alice-new", *common, *api).stdout.strip()
    assert env.api.get("/auth/me", headers=bearer(new_token)).json()["address"] == alice2

    suspended = run(
        "suspend", "alice-new", "--reason", "lost_device", "--registrar-keystore", "mapo-office", *common, *api
    )
    assert "CitizenSuspended" in suspended.stderr
    run("reinstate", "alice-new", "--registrar-keystore", "mapo-office", *common, *api)
    assert env.api.get(f"/identity/citizens/{alice2}").json()["active"] is True

    wrong = run("login", "--keystore", "alice-new", "--data-dir", str(data), "--password", "nope", *api, ok=False)
    assert wrong.exit_code == 1 and "wrong password" in wrong.stderr
    missing = run("login", "--keystore", "bob", *common, *api, ok=False)
    assert missing.exit_code == 1 and "no keystore named 'bob'" in missing.stderr
    dup = run("keystore", "create", "alice", *common, ok=False)
    assert dup.exit_code == 1 and "already exists" in dup.stderr


def test_cli_update_recover_whoami_revoke_and_districts(env: Env) -> None:
    runner = CliRunner()
    data = env.tmp / "cli-more"
    common = ["--data-dir", str(data), "--password", "pw"]
    api = ["--api", env.url]

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(cli_app, ["identity", *args], env={"CIVIC_KEYSTORE_PASSWORD": None, "CIVIC_TOKEN": None})
        if ok:
            assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
        return result

    run("keystore", "import", "office", "--private-key", "0x" + env.registrar.key.hex(), *common, "--scrypt-n", "1024")
    run(
        "keystore",
        "import",
        "admin",
        "--private-key",
        "0x" + env.platform.operator.key.hex(),
        *common,
        "--scrypt-n",
        "1024",
    )
    lee = run("keystore", "create", "lee", *common, "--scrypt-n", "1024").stdout.strip()
    run("register", lee, "-d", "7", "-y", "1979", "-r", "office", "--residency", "registered_foreigner", *common, *api)
    cid = env.api.get(f"/identity/citizens/{lee}").json()["citizen_id"]

    updated = run("update", f"#{cid}", "-d", "Dobong", "-r", "office", *common, *api)
    assert "CitizenUpdated" in updated.stderr and "Dobong-gu" in updated.stdout
    as_json = json.loads(run("show", str(cid), "--json", *api).stdout)
    assert as_json["district"]["code"] == 10 and as_json["birth_year"] == 1979
    assert as_json["residency"] == "registered_foreigner"  # not given: unchanged

    token = run("login", "--keystore", "lee", *common, *api).stdout.strip()
    who = run("whoami", "--token", token, *api)
    assert lee in who.stderr and "Dobong-gu" in who.stdout

    new = Account.create().address
    recovered = run("recover", "lee", "--new-address", new, "-r", "office", *common, *api)
    assert "CitizenKeyRotated" in recovered.stderr and new in recovered.stdout
    gone = run("whoami", "--token", token, *api, ok=False)
    assert gone.exit_code == 1 and "rotated away" in gone.stderr and "HTTP 403" in gone.stderr

    temp = Account.create().address
    run("grant-registrar", temp, "--token", env.admin_token, *api)
    revoked = run("revoke-registrar", temp, "--admin-keystore", "admin", *common, *api)
    assert "revoked" in revoked.stderr
    not_admin = run("grant-registrar", temp, "--admin-keystore", "office", *common, *api, ok=False)
    assert not_admin.exit_code == 1 and "DEFAULT_ADMIN_ROLE" in not_admin.stderr
    no_auth = run("grant-registrar", temp, *api, ok=False)
    assert "pass --as NAME|PATH" in no_auth.stderr and "--token" in no_auth.stderr  # the canonical signer option

    table = run("districts").stdout
    assert "Yeongdeungpo-gu" in table and "영등포구" in table and "25" in table
    unreachable = run("show", "#1", "--api", "http://127.0.0.1:9", ok=False)
    assert unreachable.exit_code == 1 and "cannot reach the API" in unreachable.stderr


def test_bad_input_is_a_4xx_naming_the_problem_never_a_500(env: Env) -> None:
    if "anvil" in env.tmp.name:
        pytest.skip("input validation: embedded only")
    # A bearer token with a non-ASCII character made hmac.compare_digest raise TypeError (500).
    r = env.api.get("/auth/me", headers={"Authorization": "Bearer cl1.e30.\xe9".encode("latin-1")})
    assert "not a civic-ledger session token" in error(r, 401, "invalid_token")

    # A mixed-case address whose EIP-55 checksum is wrong (a typo) was silently accepted.
    good = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
    r = env.api.get(f"/identity/citizens/{good[:-1]}F")
    assert "invalid EIP-55 checksum" in error(r, 422, "invalid_input")
    assert env.api.get(f"/identity/citizens/{good.lower()}").status_code == 404  # all lowercase is fine

    fields = {"account": Account.create().address, "birth_year": 1990, "registrar": env.registrar.address}
    # "²".isdigit() is True: int("²") raised inside the validator and leaked "invalid literal for int()".
    r = env.api.post("/identity/citizens/typed-data", json={**fields, "district": "²"})
    msg = error(r, 422, "invalid_input")
    assert "unknown district" in msg and "int()" not in msg
    r = env.api.post("/identity/citizens/typed-data", json={**fields, "district": "9" * 5000})
    msg = error(r, 422, "invalid_input")
    assert "unknown district" in msg and "4300" not in msg and len(msg) < 400

    # NaN is not JSON: a record holding it was hashed as if it were.
    body = json.dumps({**fields, "district": "Mapo", "record": {"score": float("nan")}})
    r = env.api.post("/identity/citizens/typed-data", content=body, headers={"content-type": "application/json"})
    assert "record: not JSON-serialisable" in error(r, 422, "invalid_input")

    # A record hash with spaces between the bytes was accepted.
    r = env.api.post(
        "/identity/citizens/typed-data", json={**fields, "district": "Mapo", "record_hash": "0x" + "ab " * 31 + "ab"}
    )
    assert "record_hash" in (msg := error(r, 422, "invalid_input")) and "not hexadecimal" in msg

    # A SIWE message with a bad field said only "1 validation error for SiweMessage".
    n = nonce_of(env.api)
    citizen = Account.create()
    lines = build_message(n, citizen.address).split("\n")
    bad = "\n".join("Issued At: 2026-13-01T00:00:00Z" if line.startswith("Issued At: ") else line for line in lines)
    sig = citizen.sign_message(encode_defunct(text=bad)).signature
    r = env.api.post("/auth/login", json={"message": bad, "signature": "0x" + bytes(sig).hex()})
    msg = error(r, 422, "siwe_malformed")
    assert "issued_at" in msg and "month" in msg

    # Not JSON at all.
    r = env.api.post(
        "/auth/login", content=b"message=hi", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert "Content-Type: application/json" in error(r, 422, "invalid_input")
