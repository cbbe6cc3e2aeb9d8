"""VehicleHistory: records signed by role holders, the odometer rollback rule, liens and the two-step sale."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tests.contracts.chain import ZERO, Env, fields, h, register_citizen, role
from tests.contracts.chain import citizen_action as registrar_act

VIN = keccak(text="KMHXX00XXXX000001")
DAY = 24 * 3600
INSPECTION, PERIODIC, SHOP, DEALER, OWNER = 0, 1, 2, 3, 4
ACCIDENT, FLOOD, TOTAL_LOSS = 0, 1, 2
LIEN, SEIZURE = 0, 1
TYPES = {
    "RegisterVehicle": "bytes32 vin,string make,string model,uint16 modelYear,uint32 firstRegistered,address owner,"
    "address registry,uint256 nonce,uint256 deadline",
    "RecordOdometer": "bytes32 vin,uint32 km,uint8 source,address recorder,uint256 nonce,uint256 deadline",
    "RecordInspection": "bytes32 vin,uint32 km,bool accidentRepair,uint16 panels,bool flood,bool tuning,"
    "bool emissionsPass,bytes32 recordHash,address inspector,uint256 nonce,uint256 deadline",
    "RecordClaim": "bytes32 vin,uint8 kind,bytes32 claimHash,address insurer,uint256 nonce,uint256 deadline",
    "SetEncumbrance": "bytes32 vin,uint8 kind,bool active,bytes32 refHash,address registry,uint256 nonce,"
    "uint256 deadline",
    "RecordMaintenance": "bytes32 vin,uint32 km,bytes32 workHash,address shop,uint256 nonce,uint256 deadline",
    "RegisterPurchase": "bytes32 vin,address seller,address dealer,uint256 price,uint256 nonce,uint256 deadline",
    "OfferSale": "bytes32 vin,uint32 offerId,address seller,address buyer,uint256 price,uint48 inspectionId,"
    "uint256 nonce,uint256 deadline",
    "AcceptSale": "bytes32 vin,uint32 offerId,address seller,address buyer,uint256 price,uint48 inspectionId,"
    "uint256 deadline",
}
FINDINGS = ("km", "accidentRepair", "panels", "flood", "tuning", "emissionsPass", "recordHash")


class Parties:
    def __init__(self, env: Env) -> None:
        self.registry, self.dealer, self.inspector = env.account(18), env.account(19), env.account(20)
        self.insurer, self.shop = env.account(21), env.account(22)
        self.owner, self.buyer = env.account(6), env.account(7)


@pytest.fixture
def p(env: Env) -> Parties:
    p, vh = Parties(env), env["VehicleHistory"].functions
    for name, who in (
        ("REGISTRY_ROLE", p.registry),
        ("DEALER_ROLE", p.dealer),
        ("INSPECTOR_ROLE", p.inspector),
        ("INSURER_ROLE", p.insurer),
        ("SHOP_ROLE", p.shop),
    ):
        env.send(vh.grantRole(role(name), who.address), env.admin)
    register_citizen(env, p.owner)
    register_citizen(env, p.buyer)
    return p


def message(
    env: Env, primary: str, signer: LocalAccount | None, values: dict[str, Any], nonce: int | None, deadline: int | None
) -> dict[str, Any]:
    spec = fields(TYPES[primary])
    out = dict(values)
    if "nonce" in [n for _, n in spec]:
        out["nonce"] = env["VehicleHistory"].functions.nonces(signer.address).call() if nonce is None else nonce
    out["deadline"] = env.now() + 3600 if deadline is None else deadline
    return {n: out[n] for _, n in spec}


def sig(env: Env, who: LocalAccount, primary: str, msg: dict[str, Any]) -> bytes:
    return env.sign(who, "VehicleHistory", primary, fields(TYPES[primary]), msg)


def register(
    env: Env,
    p: Parties,
    *,
    owner: str | None = None,
    signer: LocalAccount | None = None,
    vin: bytes = VIN,
    first: int = 20210315,
    nonce: int | None = None,
    deadline: int | None = None,
) -> Any:
    reg = signer or p.registry
    m = message(
        env,
        "RegisterVehicle",
        reg,
        {
            "vin": vin,
            "make": "Hyundai",
            "model": "Avante",
            "modelYear": 2021,
            "firstRegistered": first,
            "owner": owner or p.owner.address,
            "registry": reg.address,
        },
        nonce,
        deadline,
    )
    details = (m["make"], m["model"], m["modelYear"], m["firstRegistered"])
    return env["VehicleHistory"].functions.registerVehicle(
        vin, details, m["owner"], reg.address, m["nonce"], m["deadline"], sig(env, reg, "RegisterVehicle", m)
    )


def odometer(
    env: Env,
    recorder: LocalAccount,
    km: int,
    source: int,
    *,
    report: bool = False,
    sign_as: LocalAccount | None = None,
    deadline: int | None = None,
) -> Any:
    m = message(
        env,
        "RecordOdometer",
        recorder,
        {"vin": VIN, "km": km, "source": source, "recorder": recorder.address},
        None,
        deadline,
    )
    fn = env["VehicleHistory"].functions.reportRollback if report else env["VehicleHistory"].functions.recordOdometer
    return fn(*m.values(), sig(env, sign_as or recorder, "RecordOdometer", m))


def inspect(env: Env, inspector: LocalAccount, km: int, **over: Any) -> Any:
    findings = {
        "km": km,
        "accidentRepair": False,
        "panels": 0,
        "flood": False,
        "tuning": False,
        "emissionsPass": True,
        "recordHash": h(f"inspection-{km}"),
    }
    findings.update(over)
    m = message(
        env, "RecordInspection", inspector, {"vin": VIN, **findings, "inspector": inspector.address}, None, None
    )
    return env["VehicleHistory"].functions.recordInspection(
        VIN,
        tuple(findings[f] for f in FINDINGS),
        inspector.address,
        m["nonce"],
        m["deadline"],
        sig(env, inspector, "RecordInspection", m),
    )


def encumber(env: Env, registry: LocalAccount, kind: int, active: bool) -> Any:
    m = message(
        env,
        "SetEncumbrance",
        registry,
        {"vin": VIN, "kind": kind, "active": active, "refHash": h("court"), "registry": registry.address},
        None,
        None,
    )
    return env["VehicleHistory"].functions.setEncumbrance(*m.values(), sig(env, registry, "SetEncumbrance", m))


def offer(
    env: Env, seller: LocalAccount, buyer: str, price: int, inspection: int, *, offer_id: int | None = None
) -> Any:
    vh = env["VehicleHistory"].functions
    offer_id = vh.vehicleOf(VIN).call()[5] + 1 if offer_id is None else offer_id
    m = message(
        env,
        "OfferSale",
        seller,
        {
            "vin": VIN,
            "offerId": offer_id,
            "seller": seller.address,
            "buyer": buyer,
            "price": price,
            "inspectionId": inspection,
        },
        None,
        None,
    )
    return vh.offerSale(*m.values(), sig(env, seller, "OfferSale", m))


def accept(
    env: Env,
    buyer: LocalAccount,
    seller: str,
    price: int,
    inspection: int,
    offer_id: int,
    *,
    sign_as: LocalAccount | None = None,
    deadline: int | None = None,
) -> Any:
    m = message(
        env,
        "AcceptSale",
        None,
        {
            "vin": VIN,
            "offerId": offer_id,
            "seller": seller,
            "buyer": buyer.address,
            "price": price,
            "inspectionId": inspection,
        },
        None,
        deadline,
    )
    return env["VehicleHistory"].functions.acceptSale(*m.values(), sig(env, sign_as or buyer, "AcceptSale", m))


def at(env: Env, receipt: Any) -> int:
    return int(env.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


# -- constants ----------------------------------------------------------------------------------------


def test_constants(env: Env) -> None:
    vh = env["VehicleHistory"].functions
    names = {
        "RegisterVehicle": "REGISTER_VEHICLE",
        "RecordOdometer": "RECORD_ODOMETER",
        "RecordInspection": "RECORD_INSPECTION",
        "RecordClaim": "RECORD_CLAIM",
        "SetEncumbrance": "SET_ENCUMBRANCE",
        "RecordMaintenance": "RECORD_MAINTENANCE",
        "RegisterPurchase": "REGISTER_PURCHASE",
        "OfferSale": "OFFER_SALE",
        "AcceptSale": "ACCEPT_SALE",
    }
    for primary, spec in TYPES.items():
        assert getattr(vh, f"{names[primary]}_TYPEHASH")().call() == keccak(text=f"{primary}({spec})")
    assert vh.INSPECTION_VALIDITY().call() == 120 * DAY
    for name in ("REGISTRY_ROLE", "DEALER_ROLE", "INSPECTOR_ROLE", "INSURER_ROLE", "SHOP_ROLE"):
        assert getattr(vh, name)().call() == role(name)


# -- register -----------------------------------------------------------------------------------------


def test_register_vehicle(env: Env, p: Parties) -> None:
    vh = env["VehicleHistory"].functions
    receipt = env.send(register(env, p), env.account(9))
    assert env.events(receipt) == [
        (
            "VehicleRegistered",
            {
                "vin": VIN,
                "owner": p.owner.address,
                "registry": p.registry.address,
                "details": {"make": "Hyundai", "model": "Avante", "modelYear": 2021, "firstRegistered": 20210315},
                "at": at(env, receipt),
            },
        )
    ]
    assert vh.vehicleOf(VIN).call() == (True, p.owner.address, 0, 0, 0, 0, 1, 0, 0)
    assert vh.openOfferOf(VIN).call() == [0, 0]
    assert env.reverts(register(env, p), env.admin) == ("VehicleHistoryAlreadyRegistered", VIN)


def test_register_vehicle_error_paths(env: Env, p: Parties) -> None:
    outsider = env.account(5)
    expired = env.now() - 1
    assert env.reverts(register(env, p, deadline=expired), env.admin) == ("VehicleHistorySignatureExpired", expired)
    assert env.reverts(register(env, p, signer=outsider), env.admin) == (
        "VehicleHistoryUnauthorized",
        outsider.address,
        role("REGISTRY_ROLE"),
    )
    assert env.reverts(register(env, p, nonce=4), env.admin) == ("InvalidAccountNonce", p.registry.address, 0)
    assert env.reverts(register(env, p, vin=b"\x00" * 32), env.admin) == ("VehicleHistoryInvalidRecord", b"\x00" * 32)
    assert env.reverts(register(env, p, first=0), env.admin) == ("VehicleHistoryInvalidRecord", VIN)
    assert env.reverts(register(env, p, owner=ZERO), env.admin) == ("VehicleHistoryZeroAddress",)
    assert env.reverts(register(env, p, owner=outsider.address), env.admin) == (
        "VehicleHistoryNotEligibleOwner",
        outsider.address,
    )
    fn = register(env, p)
    args = list(fn.args)
    args[-1] = sig(
        env,
        outsider,
        "RegisterVehicle",
        message(
            env,
            "RegisterVehicle",
            p.registry,
            {
                "vin": VIN,
                "make": "Kia",
                "model": "Avante",
                "modelYear": 2021,
                "firstRegistered": 20210315,
                "owner": p.owner.address,
                "registry": p.registry.address,
            },
            None,
            args[5],
        ),
    )
    assert env.reverts(env["VehicleHistory"].functions.registerVehicle(*args), env.admin) == (
        "VehicleHistoryInvalidSignature",
        p.registry.address,
    )
    env.send(register(env, p, owner=p.dealer.address), env.admin)  # a dealer may own


# -- odometer -----------------------------------------------------------------------------------------


def test_odometer_readings_and_rollback(env: Env, p: Parties) -> None:
    vh = env["VehicleHistory"].functions
    env.send(register(env, p), env.admin)
    receipt = env.send(odometer(env, p.shop, 40_000, SHOP), env.admin)
    assert env.events(receipt) == [
        (
            "OdometerRecorded",
            {"vin": VIN, "recorder": p.shop.address, "source": SHOP, "km": 40_000, "at": at(env, receipt)},
        )
    ]
    env.send(odometer(env, p.owner, 40_000, OWNER), env.admin)  # the same reading again is fine
    assert vh.vehicleOf(VIN).call()[2] == 40_000
    assert env.reverts(odometer(env, p.dealer, 39_999, DEALER), env.admin) == (
        "VehicleHistoryOdometerRollback",
        VIN,
        39_999,
        40_000,
    )
    receipt = env.send(odometer(env, p.dealer, 39_999, DEALER, report=True), env.admin)
    assert env.events(receipt) == [
        (
            "OdometerRollbackRefused",
            {
                "vin": VIN,
                "recorder": p.dealer.address,
                "source": DEALER,
                "km": 39_999,
                "highest": 40_000,
                "at": at(env, receipt),
            },
        )
    ]
    assert vh.vehicleOf(VIN).call()[2] == 40_000
    assert env.reverts(odometer(env, p.dealer, 40_000, DEALER, report=True), env.admin) == (
        "VehicleHistoryNotARollback",
        VIN,
        40_000,
        40_000,
    )


@pytest.mark.parametrize(
    ("source", "role_name"),
    [(INSPECTION, "INSPECTOR_ROLE"), (PERIODIC, "REGISTRY_ROLE"), (SHOP, "SHOP_ROLE"), (DEALER, "DEALER_ROLE")],
)
def test_odometer_source_needs_its_role(env: Env, p: Parties, source: int, role_name: str) -> None:
    env.send(register(env, p), env.admin)
    outsider = env.account(5)
    assert env.reverts(odometer(env, outsider, 1, source), env.admin) == (
        "VehicleHistoryUnauthorized",
        outsider.address,
        role(role_name),
    )


def test_owner_reading_error_paths(env: Env, p: Parties) -> None:
    env.send(register(env, p), env.admin)
    expired = env.now() - 1
    assert env.reverts(odometer(env, p.owner, 1, OWNER, deadline=expired), env.admin) == (
        "VehicleHistorySignatureExpired",
        expired,
    )
    assert env.reverts(odometer(env, p.buyer, 1, OWNER), env.admin) == (
        "VehicleHistoryNotOwner",
        VIN,
        p.buyer.address,
        p.owner.address,
    )
    assert env.reverts(odometer(env, p.owner, 1, OWNER, sign_as=p.buyer), env.admin) == (
        "VehicleHistoryInvalidSignature",
        p.owner.address,
    )
    assert env.reverts(odometer(env, p.shop, 1, SHOP, sign_as=p.buyer), env.admin) == (
        "VehicleHistoryInvalidSignature",
        p.shop.address,
    )


def test_records_on_unknown_vehicle_revert(env: Env, p: Parties) -> None:
    unknown = ("VehicleHistoryUnknownVehicle", VIN)
    assert env.reverts(odometer(env, p.shop, 1, SHOP), env.admin) == unknown
    assert env.reverts(inspect(env, p.inspector, 1), env.admin) == unknown
    assert env.reverts(encumber(env, p.registry, LIEN, True), env.admin) == unknown


# -- inspection, claims, maintenance, encumbrances ----------------------------------------------------


def test_record_inspection(env: Env, p: Parties) -> None:
    vh = env["VehicleHistory"].functions
    env.send(register(env, p), env.admin)
    receipt = env.send(inspect(env, p.inspector, 52_000, accidentRepair=True, panels=3), env.admin)
    findings = {
        "km": 52_000,
        "accidentRepair": True,
        "panels": 3,
        "flood": False,
        "tuning": False,
        "emissionsPass": True,
        "recordHash": h("inspection-52000"),
    }
    ts = at(env, receipt)
    assert env.events(receipt) == [
        (
            "InspectionRecorded",
            {"vin": VIN, "inspectionId": 1, "inspector": p.inspector.address, "findings": findings, "at": ts},
        )
    ]
    assert vh.vehicleOf(VIN).call() == (True, p.owner.address, 52_000, 1, ts, 0, 1, 0, 0)
    assert vh.inspectionCount().call() == 1
    assert env.reverts(inspect(env, p.inspector, 51_999), env.admin) == (
        "VehicleHistoryOdometerRollback",
        VIN,
        51_999,
        52_000,
    )
    assert env.reverts(inspect(env, p.shop, 60_000), env.admin) == (
        "VehicleHistoryUnauthorized",
        p.shop.address,
        role("INSPECTOR_ROLE"),
    )


def test_record_claim_and_maintenance(env: Env, p: Parties) -> None:
    vh = env["VehicleHistory"].functions
    env.send(register(env, p), env.admin)
    m = message(
        env,
        "RecordClaim",
        p.insurer,
        {"vin": VIN, "kind": FLOOD, "claimHash": h("claim"), "insurer": p.insurer.address},
        None,
        None,
    )
    receipt = env.send(vh.recordClaim(*m.values(), sig(env, p.insurer, "RecordClaim", m)), env.admin)
    assert env.events(receipt) == [
        (
            "ClaimRecorded",
            {"vin": VIN, "insurer": p.insurer.address, "kind": FLOOD, "claimHash": h("claim"), "at": at(env, receipt)},
        )
    ]
    m = message(
        env,
        "RecordClaim",
        p.shop,
        {"vin": VIN, "kind": ACCIDENT, "claimHash": h("c"), "insurer": p.shop.address},
        None,
        None,
    )
    assert env.reverts(vh.recordClaim(*m.values(), sig(env, p.shop, "RecordClaim", m)), env.admin) == (
        "VehicleHistoryUnauthorized",
        p.shop.address,
        role("INSURER_ROLE"),
    )
    m = message(
        env,
        "RecordMaintenance",
        p.shop,
        {"vin": VIN, "km": 10_000, "workHash": h("oil"), "shop": p.shop.address},
        None,
        None,
    )
    receipt = env.send(vh.recordMaintenance(*m.values(), sig(env, p.shop, "RecordMaintenance", m)), env.admin)
    assert env.events(receipt) == [
        (
            "MaintenanceRecorded",
            {"vin": VIN, "shop": p.shop.address, "km": 10_000, "workHash": h("oil"), "at": at(env, receipt)},
        )
    ]
    m = message(
        env,
        "RecordMaintenance",
        p.shop,
        {"vin": VIN, "km": 9_000, "workHash": h("oil"), "shop": p.shop.address},
        None,
        None,
    )
    assert env.reverts(vh.recordMaintenance(*m.values(), sig(env, p.shop, "RecordMaintenance", m)), env.admin) == (
        "VehicleHistoryOdometerRollback",
        VIN,
        9_000,
        10_000,
    )


def test_encumbrances_count_up_and_down(env: Env, p: Parties) -> None:
    vh = env["VehicleHistory"].functions
    env.send(register(env, p), env.admin)
    assert env.reverts(encumber(env, p.registry, SEIZURE, False), env.admin) == (
        "VehicleHistoryNoActiveEncumbrance",
        VIN,
        SEIZURE,
    )
    receipt = env.send(encumber(env, p.registry, LIEN, True), env.admin)
    assert env.events(receipt) == [
        (
            "EncumbranceRecorded",
            {
                "vin": VIN,
                "registry": p.registry.address,
                "kind": LIEN,
                "active": True,
                "refHash": h("court"),
                "remaining": 1,
                "at": at(env, receipt),
            },
        )
    ]
    env.send(encumber(env, p.registry, LIEN, True), env.admin)
    env.send(encumber(env, p.registry, SEIZURE, True), env.admin)
    assert vh.vehicleOf(VIN).call()[7:] == (2, 1)
    assert env.emitted(encumber(env, p.registry, LIEN, False), env.admin)[0][1]["remaining"] == 1
    assert env.reverts(encumber(env, p.dealer, LIEN, True), env.admin) == (
        "VehicleHistoryUnauthorized",
        p.dealer.address,
        role("REGISTRY_ROLE"),
    )


# -- purchases and sales ------------------------------------------------------------------------------


def purchase(
    env: Env,
    p: Parties,
    seller: LocalAccount,
    dealer: LocalAccount,
    price: int,
    *,
    seller_sign: LocalAccount | None = None,
) -> Any:
    m = message(
        env,
        "RegisterPurchase",
        dealer,
        {"vin": VIN, "seller": seller.address, "dealer": dealer.address, "price": price},
        None,
        None,
    )
    return env["VehicleHistory"].functions.registerPurchase(
        *m.values(), sig(env, dealer, "RegisterPurchase", m), sig(env, seller_sign or seller, "RegisterPurchase", m)
    )


def test_register_purchase(env: Env, p: Parties) -> None:
    vh = env["VehicleHistory"].functions
    env.send(register(env, p), env.admin)
    assert env.reverts(purchase(env, p, p.owner, p.dealer, 9, seller_sign=p.buyer), env.admin) == (
        "VehicleHistoryInvalidSignature",
        p.owner.address,
    )
    assert env.reverts(purchase(env, p, p.buyer, p.dealer, 9), env.admin) == (
        "VehicleHistoryNotOwner",
        VIN,
        p.buyer.address,
        p.owner.address,
    )
    assert env.reverts(purchase(env, p, p.owner, p.shop, 9), env.admin) == (
        "VehicleHistoryUnauthorized",
        p.shop.address,
        role("DEALER_ROLE"),
    )
    env.send(encumber(env, p.registry, SEIZURE, True), env.admin)
    assert env.reverts(purchase(env, p, p.owner, p.dealer, 9), env.admin) == ("VehicleHistoryEncumbered", VIN, 0, 1)
    env.send(encumber(env, p.registry, SEIZURE, False), env.admin)
    receipt = env.send(purchase(env, p, p.owner, p.dealer, 15_000_000), env.admin)
    assert env.events(receipt) == [
        (
            "PurchaseRegistered",
            {
                "vin": VIN,
                "seller": p.owner.address,
                "dealer": p.dealer.address,
                "price": 15_000_000,
                "at": at(env, receipt),
            },
        )
    ]
    assert vh.vehicleOf(VIN).call()[1] == p.dealer.address and vh.vehicleOf(VIN).call()[6] == 2
    assert env.reverts(purchase(env, p, p.dealer, p.dealer, 1), env.admin) == (
        "VehicleHistorySelfSale",
        VIN,
        p.dealer.address,
    )


def test_two_step_sale(env: Env, p: Parties) -> None:
    vh = env["VehicleHistory"].functions
    env.send(register(env, p), env.admin)
    env.send(inspect(env, p.inspector, 30_000), env.admin)
    receipt = env.send(offer(env, p.owner, p.buyer.address, 12_000_000, 1), env.admin)
    assert env.events(receipt) == [
        (
            "SaleOffered",
            {
                "vin": VIN,
                "offerId": 1,
                "seller": p.owner.address,
                "buyer": p.buyer.address,
                "price": 12_000_000,
                "inspectionId": 1,
                "at": at(env, receipt),
            },
        )
    ]
    assert vh.openOfferOf(VIN).call() == [1, 1]
    receipt = env.send(accept(env, p.buyer, p.owner.address, 12_000_000, 1, 1), env.account(9))
    assert env.events(receipt) == [
        (
            "SaleCompleted",
            {
                "vin": VIN,
                "offerId": 1,
                "buyer": p.buyer.address,
                "seller": p.owner.address,
                "price": 12_000_000,
                "inspectionId": 1,
                "at": at(env, receipt),
            },
        )
    ]
    assert vh.vehicleOf(VIN).call()[1] == p.buyer.address
    assert vh.openOfferOf(VIN).call() == [0, 0]
    assert env.reverts(accept(env, p.buyer, p.owner.address, 12_000_000, 1, 1), env.admin) == (
        "VehicleHistoryUnknownOffer",
        VIN,
        1,
    )


def test_offer_sale_error_paths(env: Env, p: Parties) -> None:
    env.send(register(env, p), env.admin)
    assert env.reverts(offer(env, p.owner, p.buyer.address, 1, 0), env.admin) == (
        "VehicleHistoryInspectionNotCurrent",
        VIN,
        0,
        0,
    )
    env.send(inspect(env, p.inspector, 30_000), env.admin)
    assert env.reverts(offer(env, p.buyer, p.owner.address, 1, 1), env.admin) == (
        "VehicleHistoryNotOwner",
        VIN,
        p.buyer.address,
        p.owner.address,
    )
    assert env.reverts(offer(env, p.owner, p.owner.address, 1, 1), env.admin) == (
        "VehicleHistorySelfSale",
        VIN,
        p.owner.address,
    )
    assert env.reverts(offer(env, p.owner, p.buyer.address, 1, 1, offer_id=2), env.admin) == (
        "VehicleHistoryUnknownOffer",
        VIN,
        2,
    )
    assert env.reverts(offer(env, p.owner, p.buyer.address, 1, 2), env.admin) == (
        "VehicleHistoryInspectionNotCurrent",
        VIN,
        2,
        1,
    )
    env.send(encumber(env, p.registry, LIEN, True), env.admin)
    assert env.reverts(offer(env, p.owner, p.buyer.address, 1, 1), env.admin) == ("VehicleHistoryEncumbered", VIN, 1, 0)
    env.send(encumber(env, p.registry, LIEN, False), env.admin)
    inspected_at = env["VehicleHistory"].functions.vehicleOf(VIN).call()[4]
    valid_until = inspected_at + 120 * DAY
    env.next_timestamp(valid_until)  # still valid at the last second
    env.send(offer(env, p.owner, p.buyer.address, 1, 1), env.admin)
    env.next_timestamp(valid_until + 1)
    assert env.reverts(offer(env, p.owner, p.buyer.address, 1, 1), env.admin) == (
        "VehicleHistoryInspectionExpired",
        VIN,
        1,
        inspected_at,
        valid_until,
    )


def test_accept_sale_error_paths(env: Env, p: Parties) -> None:
    env.send(register(env, p), env.admin)
    env.send(inspect(env, p.inspector, 30_000), env.admin)
    env.send(offer(env, p.owner, p.buyer.address, 100, 1), env.admin)
    expired = env.now() - 1
    assert env.reverts(accept(env, p.buyer, p.owner.address, 100, 1, 1, deadline=expired), env.admin) == (
        "VehicleHistorySignatureExpired",
        expired,
    )
    assert env.reverts(accept(env, p.buyer, p.owner.address, 100, 1, 1, sign_as=p.owner), env.admin) == (
        "VehicleHistoryInvalidSignature",
        p.buyer.address,
    )
    assert env.reverts(accept(env, p.buyer, p.owner.address, 100, 1, 2), env.admin) == (
        "VehicleHistoryUnknownOffer",
        VIN,
        2,
    )
    assert env.reverts(accept(env, p.buyer, p.owner.address, 100, 7, 1), env.admin) == (
        "VehicleHistoryInspectionMismatch",
        VIN,
        1,
        1,
        7,
    )
    assert env.reverts(accept(env, p.buyer, p.owner.address, 99, 1, 1), env.admin) == (
        "VehicleHistoryOfferMismatch",
        VIN,
        1,
    )
    assert env.reverts(accept(env, env.account(5), p.owner.address, 100, 1, 1), env.admin) == (
        "VehicleHistoryOfferMismatch",
        VIN,
        1,
    )
    env.send(encumber(env, p.registry, SEIZURE, True), env.admin)
    assert env.reverts(accept(env, p.buyer, p.owner.address, 100, 1, 1), env.admin) == (
        "VehicleHistoryEncumbered",
        VIN,
        0,
        1,
    )
    env.send(encumber(env, p.registry, SEIZURE, False), env.admin)
    # a newer inspection makes the offered one stale
    env.send(inspect(env, p.inspector, 31_000), env.admin)
    assert env.reverts(accept(env, p.buyer, p.owner.address, 100, 1, 1), env.admin) == (
        "VehicleHistoryInspectionNotCurrent",
        VIN,
        1,
        2,
    )


def test_accept_sale_by_ineligible_buyer_reverts(env: Env, p: Parties) -> None:
    env.send(register(env, p), env.admin)
    env.send(inspect(env, p.inspector, 30_000), env.admin)
    env.send(offer(env, p.owner, p.buyer.address, 100, 1), env.admin)
    cid = env["CitizenRegistry"].functions.citizenIdOf(p.buyer.address).call()
    env.send(registrar_act(env, "SuspendCitizen", citizenId=cid, reason=3), env.admin)
    assert env.reverts(accept(env, p.buyer, p.owner.address, 100, 1, 1), env.admin) == (
        "VehicleHistoryNotEligibleOwner",
        p.buyer.address,
    )


def test_new_offer_supersedes_the_open_one(env: Env, p: Parties) -> None:
    env.send(register(env, p), env.admin)
    env.send(inspect(env, p.inspector, 30_000), env.admin)
    env.send(offer(env, p.owner, p.buyer.address, 100, 1), env.admin)
    env.send(offer(env, p.owner, p.buyer.address, 90, 1), env.admin)
    assert env.reverts(accept(env, p.buyer, p.owner.address, 100, 1, 1), env.admin) == (
        "VehicleHistoryUnknownOffer",
        VIN,
        1,
    )
    env.send(accept(env, p.buyer, p.owner.address, 90, 1, 2), env.admin)


def test_a_purchase_closes_the_previous_owners_offer(env: Env, p: Parties) -> None:
    """A dealer purchase closes the previous owner's open offer: ``openOfferOf`` is empty and the old
    buyer can not accept it."""
    vh = env["VehicleHistory"].functions
    env.send(register(env, p), env.admin)
    env.send(inspect(env, p.inspector, 30_000), env.admin)
    env.send(offer(env, p.owner, p.buyer.address, 100, 1), env.admin)
    env.send(purchase(env, p, p.owner, p.dealer, 80), env.admin)
    assert vh.openOfferOf(VIN).call() == [0, 0]
    assert env.reverts(accept(env, p.buyer, p.owner.address, 100, 1, 1), env.admin) == (
        "VehicleHistoryUnknownOffer",
        VIN,
        1,
    )


def test_constructor_rejects_zero_addresses(env: Env) -> None:
    registry = env["CitizenRegistry"].address
    assert env.deploy_reverts("VehicleHistory", ZERO, registry) == ("VehicleHistoryZeroAddress",)
    assert env.deploy_reverts("VehicleHistory", env.admin.address, ZERO) == ("VehicleHistoryZeroAddress",)


def test_purchase_closes_the_open_offer(env: Env, p: Parties) -> None:
    vh = env["VehicleHistory"].functions
    other_dealer = env.account(23)
    env.send(vh.grantRole(role("DEALER_ROLE"), other_dealer.address), env.admin)
    env.send(register(env, p, owner=p.dealer.address), env.admin)
    env.send(inspect(env, p.inspector, 30_000), env.admin)
    env.send(offer(env, p.dealer, p.buyer.address, 100, 1), env.admin)
    env.send(purchase(env, p, p.dealer, other_dealer, 80), env.admin)
    env.send(purchase(env, p, other_dealer, p.dealer, 90), env.admin)
    assert vh.vehicleOf(VIN).call()[1] == p.dealer.address
    assert env.reverts(accept(env, p.buyer, p.dealer.address, 100, 1, 1), env.admin) == (
        "VehicleHistoryUnknownOffer",
        VIN,
        1,
    )
