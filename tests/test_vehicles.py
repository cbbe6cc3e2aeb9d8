"""Used-car history (issue 11): VehicleHistory through the API, the report, chain-only verification, CLI.

One chain + API server per module and chain kind (embedded, anvil: a node of its own, since a test
moves chain time 121 days ahead). Every test registers fresh vehicles (VINs from a counter), so the
tests do not depend on each other.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform
from civic_ledger.platform.trust import TrustedDeployment, node
from civic_ledger.types import example_document
from civic_ledger.vehicles import vin as vinmod
from civic_ledger.vehicles.actions import ACTIONS
from civic_ledger.vehicles.verify import verify_report
from tests.conftest import LiveServer, module_chain, started_platform
from tests.helpers import error, grant_role, make_registrar, ok, register_citizen, sign_typed, travel

_serial = itertools.count(1)
_ALNUM = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def new_vin() -> str:
    """A fresh valid VIN: KMH (Hyundai) + a counter in the ISO 3779 alphabet."""
    n, tail = next(_serial) + 1000 * id(_serial) % 10**6, ""
    for _ in range(14):
        n, r = divmod(n, len(_ALNUM))
        tail = _ALNUM[r] + tail
    return "KMH" + tail


@dataclass
class Env:
    platform: Platform
    api: httpx.Client
    url: str
    rpc_url: str
    tmp: Path
    registry: LocalAccount
    dealer: LocalAccount
    inspector: LocalAccount
    insurer: LocalAccount
    shop: LocalAccount
    registrar: LocalAccount

    @property
    def contract(self) -> Any:
        return self.platform.deployment.contract("VehicleHistory")

    def citizen(self) -> LocalAccount:
        account = Account.create()
        register_citizen(self.platform, self.registrar, account.address)
        return account


@pytest.fixture(scope="module", params=["embedded", "anvil"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp(f"vehicles-{request.param}")
    with (
        module_chain(request, own_anvil=True) as chain,
        started_platform(chain, tmp / "data") as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        roles = {}
        for name, role in (
            ("registry", "REGISTRY_ROLE"),
            ("dealer", "DEALER_ROLE"),
            ("inspector", "INSPECTOR_ROLE"),
            ("insurer", "INSURER_ROLE"),
            ("shop", "SHOP_ROLE"),
        ):
            roles[name] = Account.create()
            grant_role(platform, "VehicleHistory", role, roles[name].address)
        rpc = chain if chain.startswith("http") else server.url + "/rpc"
        yield Env(platform, client, server.url, rpc, tmp, registrar=make_registrar(platform), **roles)


# -- helpers -------------------------------------------------------------------------------


def path_of(key: str, vin: str) -> str:
    segments = {
        "reading": "readings",
        "inspection": "inspections",
        "claim": "claims",
        "encumbrance": "encumbrances",
        "maintenance": "maintenance",
        "purchase": "purchases",
        "offer": "offers",
        "accept": "acceptances",
    }
    return "/vehicles" if key == "register" else f"/vehicles/{vin}/{segments[key]}"


def record(
    env: Env,
    key: str,
    vin: str,
    fields: dict[str, Any],
    signer: LocalAccount,
    *,
    by: LocalAccount | None = None,
    co_signer: LocalAccount | None = None,
    edit: dict[str, Any] | None = None,
) -> httpx.Response:
    """typed-data for ``signer`` → signed by ``by`` (default the signer) → relayed (``edit`` changes fields after)."""
    path = path_of(key, vin)
    typed = ok(env.api.post(f"{path}/typed-data", json={**fields, "signer": signer.address}))
    message = typed["typed_data"]["message"]
    body = {
        **fields,
        "signer": signer.address,
        "nonce": typed["nonce"] or 0,
        "deadline": typed["deadline"],
        "signature": sign_typed(by or signer, typed["typed_data"]),
    }
    if key == "offer":
        body["offer_id"] = message["offerId"]
    if key == "accept":
        body["seller"] = message["seller"]
    if co_signer is not None:
        body["seller_signature"] = sign_typed(co_signer, typed["typed_data"])
    body.update(edit or {})
    return env.api.post(path, json=body)


def registered(env: Env, owner: LocalAccount | None = None, vin: str | None = None) -> tuple[str, LocalAccount]:
    vin = vin or new_vin()
    owner = owner or env.citizen()
    fields = {
        "vin": vin,
        "make": "Hyundai",
        "model": "Avante",
        "model_year": 2021,
        "first_registered": "2021-03-15",
        "owner": owner.address,
    }
    ok(record(env, "register", vin, fields, env.registry), 201)
    return vin, owner


def inspect(env: Env, vin: str, km: int, **extra: Any) -> dict[str, Any]:
    fields = {
        "km": km,
        "accident_repair": False,
        "panels": [],
        "record_hash": vinmod.document_hash(f"inspection record of {vin} at {km}"),
        **extra,
    }
    return dict(ok(record(env, "inspection", vin, fields, env.inspector), 201))


def reading(env: Env, vin: str, km: int, source: str = "dealer", signer: LocalAccount | None = None) -> httpx.Response:
    return record(env, "reading", vin, {"km": km, "source": source}, signer or env.dealer)


def history(env: Env, vin: str) -> dict[str, Any]:
    return dict(ok(env.api.get(f"/vehicles/{vin}/history")))


def codes(report: dict[str, Any]) -> list[str]:
    return [f["code"] for f in report["flags"]]


def trusted(env: Env) -> TrustedDeployment:
    """Only a node URL and the manifest file (no platform, no index)."""
    return TrustedDeployment.from_manifest(node(env.rpc_url), env.platform.deployment.manifest_path)


# -- tests ---------------------------------------------------------------------------------


def test_python_types_hash_to_the_contract_typehashes(env: Env) -> None:
    for a in ACTIONS.values():
        expected = bytes(getattr(env.contract.functions, a.typehash_constant)().call())
        assert eip712.typehash(a.primary, a.types) == expected, a.key


def test_vin_is_checked_off_chain_with_an_error_naming_it(env: Env) -> None:
    body = error(env.api.get("/vehicles/KMHOO12345678901Z/history"), 422, "invalid_vin")
    assert "KMHOO12345678901Z" in body and "I, O or Q" in body
    assert "has 16 characters" in error(env.api.get("/vehicles/KMH1234567890123/history"), 422, "invalid_vin")
    fields = {
        "vin": "KMH-12345678901*3",
        "make": "K",
        "model": "M",
        "model_year": 2020,
        "first_registered": "2020-01-01",
    }
    r = env.api.post(
        "/vehicles/typed-data", json={**fields, "owner": env.dealer.address, "signer": env.registry.address}
    )
    assert "KMH-12345678901*3" in error(r, 422, "invalid_vin")
    assert vinmod.normalise("1m8gdm9a-xkp042788") == "1M8GDM9AXKP042788" and vinmod.check_digit_ok("1M8GDM9AXKP042788")
    assert "no vehicle with VIN" in error(env.api.get(f"/vehicles/{new_vin()}/history"), 404, "unknown_vehicle")


def test_a_record_without_the_role_is_refused(env: Env) -> None:
    vin, owner = registered(env)
    r = reading(env, vin, 10_000, "inspection", signer=env.shop)  # a shop is no inspector
    body = r.json()
    assert r.status_code == 403 and body["error"] == "VehicleHistoryUnauthorized", r.text
    assert body["details"]["args"]["signer"] == env.shop.address
    r = reading(env, vin, 10_000, "owner", signer=env.citizen())  # someone else's car
    assert r.status_code == 403 and r.json()["error"] == "VehicleHistoryNotOwner", r.text
    assert reading(env, vin, 10_000, "owner", signer=owner).status_code == 201


def test_rollback_is_refused_on_chain_decoded_and_shown_as_a_flag(env: Env) -> None:
    vin, _ = registered(env)
    first = ok(reading(env, vin, 52_000), 201)
    assert first["events"] == ["OdometerRecorded"]
    r = reading(env, vin, 31_000, "shop", signer=env.shop)
    body = r.json()
    assert r.status_code == 409 and body["error"] == "VehicleHistoryOdometerRollback", r.text
    assert body["details"]["args"]["reading"] == 31_000 and body["details"]["args"]["highest"] == 52_000
    assert "on record" in body["message"] and body["details"]["recorded"]["tx_hash"]
    report = history(env, vin)
    assert report["highest_km"] == 52_000 and [x["km"] for x in report["readings"]] == [52_000]
    assert set(report) == set(example_document("vehicles-history"))  # the OpenAPI example is a real report
    assert report["rollback_attempts"][0]["km"] == 31_000 and "rollback_refused" in codes(report)
    # an inspection below the highest reading is refused the same way
    r = record(
        env,
        "inspection",
        vin,
        {"km": 40_000, "accident_repair": False, "record_hash": "0x" + "11" * 32},
        env.inspector,
    )
    assert r.status_code == 409 and r.json()["error"] == "VehicleHistoryOdometerRollback"


def test_implausible_mileage_is_kept_but_flagged(env: Env) -> None:
    vin, _ = registered(env)
    ok(reading(env, vin, 20_000), 201)
    ok(reading(env, vin, 20_400), 201)  # within a day's driving
    ok(reading(env, vin, 29_000), 201)  # 8,600 km within a minute
    report = history(env, vin)
    assert [r["implausible"] for r in report["readings"]] == [False, False, True]
    assert codes(report).count("implausible_mileage") == 1 and report["highest_km"] == 29_000


def test_an_insurers_flood_record_appears_as_a_flag(env: Env) -> None:
    vin, _ = registered(env)
    r = ok(
        record(env, "claim", vin, {"kind": "flood", "claim_hash": vinmod.document_hash("claim 2023-77")}, env.insurer),
        201,
    )
    assert r["events"] == ["ClaimRecorded"]
    report = history(env, vin)
    flood = [f for f in report["flags"] if f["code"] == "flood"]
    assert len(flood) == 1 and env.insurer.address in flood[0]["message"]
    assert report["claims"][0]["kind"] == "flood"


def test_purchase_inspection_sale_and_the_report_equals_chain_only_verification(env: Env) -> None:
    vin, seller = registered(env)
    buyer = env.citizen()
    inspect(env, registered(env)[0], 5)  # the inspector's nonce and the id counter are in use (steady-state gas)
    bought = ok(
        record(env, "purchase", vin, {"seller": seller.address, "price": 9_000_000}, env.dealer, co_signer=seller), 201
    )
    assert bought["events"] == ["PurchaseRegistered"]
    reading_gas = ok(reading(env, vin, 48_000), 201)["gas_used"]
    ok(record(env, "maintenance", vin, {"km": 48_100, "work_hash": vinmod.document_hash("oil change")}, env.shop), 201)
    done = inspect(env, vin, 48_150, accident_repair=True, panels=["hood", "front_fender_left"])
    iid = done["inspection_id"]
    assert ok(env.api.get(f"/vehicles/inspections/{iid}"))["panels"] == ["hood", "front_fender_left"]
    offer = ok(
        record(env, "offer", vin, {"buyer": buyer.address, "price": 12_500_000, "inspection_id": iid}, env.dealer), 201
    )
    accept = ok(
        record(env, "accept", vin, {"offer_id": offer["offer_id"], "price": 12_500_000, "inspection_id": iid}, buyer),
        201,
    )
    assert accept["events"] == ["SaleCompleted"]
    assert reading_gas <= 50_000 and done["gas_used"] <= 80_000, (reading_gas, done["gas_used"])
    assert offer["gas_used"] + accept["gas_used"] <= 150_000, (offer["gas_used"], accept["gas_used"])
    report = history(env, vin)
    assert report["owner"] == buyer.address and report["owners_count"] == 3
    assert [t["kind"] for t in report["trades"]] == ["purchase", "sale"]
    assert report["trades"][1]["inspection_id"] == iid and report["offers"][0]["status"] == "accepted"
    assert codes(report) == []
    assert ok(env.api.get(f"/vehicles/{vin}"))["owner"] == buyer.address
    html = env.api.get(f"/vehicles/{vin}/history", params={"format": "html"})
    assert html.status_code == 200 and 'id="mileage-chart"' in html.text and "<polyline" in html.text
    # a node and the manifest alone derive the same report; a tampered one does not match
    result = verify_report(trusted(env), report)
    assert result.matches, result.differences + result.chain_state
    assert result.derived == report
    forged = json.loads(json.dumps(report))
    forged["trades"][0]["price"] = 1
    forged["highest_km"] = 10_000
    bad = verify_report(trusted(env), forged)
    assert not bad.matches and any("trades[0].price" in d for d in bad.differences)


def test_a_sale_with_an_active_lien_is_refused(env: Env) -> None:
    vin, owner = registered(env)
    buyer = env.citizen()
    iid = inspect(env, vin, 30_000)["inspection_id"]
    offer = ok(record(env, "offer", vin, {"buyer": buyer.address, "price": 1, "inspection_id": iid}, owner), 201)
    lien = {"kind": "lien", "active": True, "ref_hash": vinmod.document_hash("저당 2024-1")}
    ok(record(env, "encumbrance", vin, lien, env.registry), 201)
    r = record(env, "accept", vin, {"offer_id": offer["offer_id"], "price": 1, "inspection_id": iid}, buyer)
    assert r.status_code == 409 and r.json()["error"] == "VehicleHistoryEncumbered", r.text
    assert r.json()["details"]["args"]["liens"] == 1
    r = record(env, "offer", vin, {"buyer": buyer.address, "price": 1, "inspection_id": iid}, owner)
    assert r.status_code == 409 and r.json()["error"] == "VehicleHistoryEncumbered"
    assert "active_lien" in codes(history(env, vin))
    ok(record(env, "encumbrance", vin, {**lien, "active": False}, env.registry), 201)
    assert "active_lien" not in codes(history(env, vin))
    ok(record(env, "accept", vin, {"offer_id": offer["offer_id"], "price": 1, "inspection_id": iid}, buyer), 201)


def test_a_forged_buyer_signature_is_refused(env: Env) -> None:
    vin, owner = registered(env)
    buyer, mallory = env.citizen(), Account.create()
    iid = inspect(env, vin, 30_000)["inspection_id"]
    offer = ok(record(env, "offer", vin, {"buyer": buyer.address, "price": 5, "inspection_id": iid}, owner), 201)
    fields = {"offer_id": offer["offer_id"], "price": 5, "inspection_id": iid}
    r = record(env, "accept", vin, fields, buyer, by=mallory)
    assert buyer.address in error(r, 403, "invalid_signature")
    # the contract refuses it too, when relayed past the API
    c = env.contract
    msg = {"vin": vinmod.vin_hash(vin), "offerId": offer["offer_id"], "seller": owner.address, "buyer": buyer.address}
    args = (bytes.fromhex(msg["vin"][2:]), offer["offer_id"], owner.address, buyer.address, 5, iid, 2**40)
    with pytest.raises(Exception, match="VehicleHistoryInvalidSignature"):
        env.platform.relayer.transact(c.functions.acceptSale(*args, b"\x01" * 65), simulate=True)
    assert history(env, vin)["owner"] == owner.address


def test_a_swapped_inspection_id_is_refused(env: Env) -> None:
    vin, owner = registered(env)
    other, _ = registered(env)
    buyer = env.citizen()
    good = inspect(env, other, 10_000)["inspection_id"]  # another car's clean record
    current = inspect(env, vin, 90_000, accident_repair=True, flood=True)["inspection_id"]
    r = record(env, "offer", vin, {"buyer": buyer.address, "price": 7, "inspection_id": good}, owner)
    assert r.status_code == 409 and r.json()["error"] == "VehicleHistoryInspectionNotCurrent", r.text
    offer = ok(record(env, "offer", vin, {"buyer": buyer.address, "price": 7, "inspection_id": current}, owner), 201)
    # the buyer was shown the good record: accepting binds the buyer to it, and the offer names another
    r = record(env, "accept", vin, {"offer_id": offer["offer_id"], "price": 7, "inspection_id": good}, buyer)
    body = r.json()
    assert r.status_code == 409 and body["error"] == "VehicleHistoryInspectionMismatch", r.text
    assert (body["details"]["args"]["offered"], body["details"]["args"]["accepted"]) == (current, good)
    # a relayer swapping the id after the buyer signed breaks the signature
    r = record(
        env,
        "accept",
        vin,
        {"offer_id": offer["offer_id"], "price": 7, "inspection_id": current},
        buyer,
        edit={"inspection_id": good},
    )
    assert error(r, 403, "invalid_signature")
    assert history(env, vin)["owner"] == owner.address


def test_no_personal_data_on_chain(env: Env) -> None:
    vin, owner = registered(env)
    document = f"성능·상태점검기록부 {vin} 홍길동 010-1234-5678"
    ok(
        record(
            env,
            "inspection",
            vin,
            {"km": 1, "accident_repair": False, "record_hash": vinmod.document_hash(document)},
            env.inspector,
        ),
        201,
    )
    w3 = env.platform.chain.w3
    logs = w3.eth.get_logs({"address": env.contract.address, "fromBlock": 0, "toBlock": "latest"})
    blobs = [bytes(log["data"]) + b"".join(bytes(t) for t in log["topics"]) for log in logs]
    blobs += [bytes(w3.eth.get_transaction(log["transactionHash"])["input"]) for log in logs]
    for needle in (vin.encode(), "홍길동".encode(), b"010-1234-5678", b"Mapo"):
        assert not any(needle in blob for blob in blobs), needle
    assert any(bytes.fromhex(vinmod.vin_hash(vin)[2:]) in blob for blob in blobs)  # only the hash
    report = history(env, vin)
    assert report["owner"] == owner.address and "district" not in json.dumps(report)


def test_a_sale_with_an_expired_inspection_is_refused(env: Env) -> None:
    vin, owner = registered(env)
    buyer = env.citizen()
    iid = inspect(env, vin, 30_000)["inspection_id"]
    offer = ok(record(env, "offer", vin, {"buyer": buyer.address, "price": 3, "inspection_id": iid}, owner), 201)
    travel(env.platform, 121 * 86400)
    r = record(env, "accept", vin, {"offer_id": offer["offer_id"], "price": 3, "inspection_id": iid}, buyer)
    body = r.json()
    assert r.status_code == 409 and body["error"] == "VehicleHistoryInspectionExpired", r.text
    r = record(env, "offer", vin, {"buyer": buyer.address, "price": 3, "inspection_id": iid}, owner)
    assert r.status_code == 409 and r.json()["error"] == "VehicleHistoryInspectionExpired"
    assert "inspection_expired" in codes(history(env, vin))
    fresh = inspect(env, vin, 31_000)["inspection_id"]
    offer = ok(record(env, "offer", vin, {"buyer": buyer.address, "price": 3, "inspection_id": fresh}, owner), 201)
    ok(record(env, "accept", vin, {"offer_id": offer["offer_id"], "price": 3, "inspection_id": fresh}, buyer), 201)
    report = history(env, vin)
    assert "inspection_expired" not in codes(report) and report["owner"] == buyer.address
    assert verify_report(trusted(env), report).matches


# -- the README walk-through, as the CLI runs it ---------------------------------------------

WALK_VIN = "KMHD341CBMU123457"


def test_readme_walk_through_cli(env: Env) -> None:
    """Purchase registration by a dealer → inspection → a refused rollback → sale to a citizen →
    the buyer's report, verified against the node with only its URL and the manifest."""
    from typer.testing import CliRunner

    from civic_ledger.cli import app

    runner = CliRunner()
    data = env.tmp / "cli"
    api = ["--api", env.url]
    common = [*api, "--data-dir", str(data)]

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args), env={"CIVIC_KEYSTORE_PASSWORD": "pw"}, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, f"{args}: {result.output}"
        return result.output

    ks = ["--data-dir", str(data), "--scrypt-n", "2"]
    run("identity", "keystore", "import", "admin", "--private-key", "0x" + env.platform.operator.key.hex(), *ks)
    for name in ("registrar", "registry", "dealer", "inspector", "seller", "buyer"):
        run("identity", "keystore", "create", name, *ks)
    run("identity", "grant-registrar", "registrar", "--as", "admin", *common)
    for name in ("seller", "buyer"):
        run("identity", "register", name, "--district", "Mapo", "--birth-year", "1990", "--as", "registrar", *common)
    for name, role in (("registry", "REGISTRY_ROLE"), ("dealer", "DEALER_ROLE"), ("inspector", "INSPECTOR_ROLE")):
        run("roles", "grant", "VehicleHistory", role, name, "--as", "admin", *common)
    v = ["vehicles"]
    run(
        *v,
        "register",
        WALK_VIN,
        "--make",
        "Hyundai",
        "--model",
        "Avante",
        "--year",
        "2021",
        "--first-registered",
        "2021-03-15",
        "--owner",
        "seller",
        "--as",
        "registry",
        *common,
    )
    run(*v, "purchase", WALK_VIN, "--seller", "seller", "--price", "9000000", "--as", "dealer", *common)
    run(*v, "odometer", WALK_VIN, "48200", "--source", "dealer", "--as", "dealer", *common)
    record_file = data / "inspection-2024-0412.pdf"
    record_file.write_bytes(b"%PDF- inspection record")
    inspection = json.loads(
        run(
            *v,
            "inspect",
            WALK_VIN,
            "--km",
            "48250",
            "--record",
            str(record_file),
            "--accident-repair",
            "--panels",
            "hood,front_fender_left",
            "--as",
            "inspector",
            "--json",
            *common,
        )
    )["inspection_id"]
    out = run(*v, "odometer", WALK_VIN, "21000", "--source", "dealer", "--as", "dealer", *common, ok=False)
    assert "VehicleHistoryOdometerRollback" in out and "409" in out
    assert "accident repair yes" in run(*v, "inspection", str(inspection), *api)
    offer = json.loads(
        run(
            *v,
            "offer",
            WALK_VIN,
            "--buyer",
            "buyer",
            "--price",
            "12500000",
            "--inspection",
            str(inspection),
            "--as",
            "dealer",
            "--json",
            *common,
        )
    )["offer_id"]
    run(
        *v,
        "accept",
        WALK_VIN,
        str(offer),
        "--price",
        "12500000",
        "--inspection",
        str(inspection),
        "--as",
        "buyer",
        *common,
    )
    table = run(*v, "history", WALK_VIN, "--html", str(data / "report.html"), *api)
    assert "rollback_refused" in table and "SaleCompleted" in table
    assert "mileage-chart" in (data / "report.html").read_text()
    report_file = data / "report.json"
    report_file.write_text(run(*v, "history", WALK_VIN, "--json", *api))
    report = json.loads(report_file.read_text())
    assert report == history(env, WALK_VIN)
    manifest = str(env.platform.deployment.manifest_path)
    out = run(*v, "verify", str(report_file), "--rpc-url", env.rpc_url, "--manifest", manifest)
    assert "MATCHES" in out
    report["owners_count"] = 1
    report_file.write_text(json.dumps(report))
    out = run(*v, "verify", str(report_file), "--rpc-url", env.rpc_url, "--manifest", manifest, ok=False)
    assert "DOES NOT MATCH" in out and "owners_count" in out
