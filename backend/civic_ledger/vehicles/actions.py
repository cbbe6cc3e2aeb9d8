"""The signed records of ``VehicleHistory`` as data: one declaration per action, one code path for all.

Each :class:`Action` knows its EIP-712 primary type and fields (identical to the contract's
``*_TYPEHASH`` strings, checked by the tests), which message field names the signer, the role the
signer needs, how an API body becomes the message and how the message becomes the contract call.
API field names are snake_case; EIP-712 message fields are the contract's camelCase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from civic_ledger.vehicles import vin as v

CONTRACT = "VehicleHistory"

_TAIL = [{"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"}]


def _f(*pairs: tuple[str, str], nonce: bool = True) -> list[dict[str, str]]:
    tail = _TAIL if nonce else _TAIL[1:]
    return [{"name": n, "type": t} for n, t in pairs] + tail


def _b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


@dataclass(frozen=True)
class Action:
    """One signed record: EIP-712 type, signer field and role, API body → message → call arguments."""

    key: str
    primary: str
    fields: list[dict[str, str]]
    signer: str  # the message field that names the signer
    role: str | None  # None: decided per message (odometer sources) or not a role (owner, buyer)
    function: str
    typehash_constant: str
    message: Callable[[str, Any], dict[str, Any]]  # (vin hash, API body) → message without nonce/deadline
    call: Callable[[dict[str, Any]], list[Any]]  # message → contract arguments before the signature(s)
    label: str
    uses_nonce: bool = True

    @property
    def types(self) -> dict[str, list[dict[str, str]]]:
        return {self.primary: self.fields}


def _register_msg(h: str, b: Any) -> dict[str, Any]:
    return {
        "vin": h,
        "make": b.make,
        "model": b.model,
        "modelYear": b.model_year,
        "firstRegistered": v.date_code(b.first_registered),
        "owner": b.owner,
        "registry": b.signer,
    }


def _register_call(m: dict[str, Any]) -> list[Any]:
    details = (m["make"], m["model"], m["modelYear"], m["firstRegistered"])
    return [_b(m["vin"]), details, m["owner"], m["registry"], m["nonce"], m["deadline"]]


def _inspection_msg(h: str, b: Any) -> dict[str, Any]:
    return {
        "vin": h,
        "km": b.km,
        "accidentRepair": b.accident_repair,
        "panels": v.panels_mask(b.panels),
        "flood": b.flood,
        "tuning": b.tuning,
        "emissionsPass": b.emissions_pass,
        "recordHash": b.record_hash,
        "inspector": b.signer,
    }


def _inspection_call(m: dict[str, Any]) -> list[Any]:
    findings = (
        m["km"],
        m["accidentRepair"],
        m["panels"],
        m["flood"],
        m["tuning"],
        m["emissionsPass"],
        _b(m["recordHash"]),
    )
    return [_b(m["vin"]), findings, m["inspector"], m["nonce"], m["deadline"]]


def _plain(*names: str, nonce: bool = True) -> Callable[[dict[str, Any]], list[Any]]:
    def call(m: dict[str, Any]) -> list[Any]:
        out = [_b(m[n]) if n in ("vin", "claimHash", "refHash", "workHash") else m[n] for n in names]
        return out + ([m["nonce"], m["deadline"]] if nonce else [m["deadline"]])

    return call


ACTIONS: dict[str, Action] = {
    a.key: a
    for a in [
        Action(
            "register",
            "RegisterVehicle",
            _f(
                ("vin", "bytes32"),
                ("make", "string"),
                ("model", "string"),
                ("modelYear", "uint16"),
                ("firstRegistered", "uint32"),
                ("owner", "address"),
                ("registry", "address"),
            ),
            "registry",
            "REGISTRY_ROLE",
            "registerVehicle",
            "REGISTER_VEHICLE_TYPEHASH",
            _register_msg,
            _register_call,
            "registration office",
        ),
        Action(
            "reading",
            "RecordOdometer",
            _f(("vin", "bytes32"), ("km", "uint32"), ("source", "uint8"), ("recorder", "address")),
            "recorder",
            None,
            "recordOdometer",
            "RECORD_ODOMETER_TYPEHASH",
            lambda h, b: {"vin": h, "km": b.km, "source": v.SOURCES.index(b.source), "recorder": b.signer},
            _plain("vin", "km", "source", "recorder"),
            "recorder",
        ),
        Action(
            "inspection",
            "RecordInspection",
            _f(
                ("vin", "bytes32"),
                ("km", "uint32"),
                ("accidentRepair", "bool"),
                ("panels", "uint16"),
                ("flood", "bool"),
                ("tuning", "bool"),
                ("emissionsPass", "bool"),
                ("recordHash", "bytes32"),
                ("inspector", "address"),
            ),
            "inspector",
            "INSPECTOR_ROLE",
            "recordInspection",
            "RECORD_INSPECTION_TYPEHASH",
            _inspection_msg,
            _inspection_call,
            "inspector",
        ),
        Action(
            "claim",
            "RecordClaim",
            _f(("vin", "bytes32"), ("kind", "uint8"), ("claimHash", "bytes32"), ("insurer", "address")),
            "insurer",
            "INSURER_ROLE",
            "recordClaim",
            "RECORD_CLAIM_TYPEHASH",
            lambda h, b: {
                "vin": h,
                "kind": v.CLAIM_KINDS.index(b.kind),
                "claimHash": b.claim_hash,
                "insurer": b.signer,
            },
            _plain("vin", "kind", "claimHash", "insurer"),
            "insurer",
        ),
        Action(
            "encumbrance",
            "SetEncumbrance",
            _f(
                ("vin", "bytes32"),
                ("kind", "uint8"),
                ("active", "bool"),
                ("refHash", "bytes32"),
                ("registry", "address"),
            ),
            "registry",
            "REGISTRY_ROLE",
            "setEncumbrance",
            "SET_ENCUMBRANCE_TYPEHASH",
            lambda h, b: {
                "vin": h,
                "kind": v.ENCUMBRANCE_KINDS.index(b.kind),
                "active": b.active,
                "refHash": b.ref_hash,
                "registry": b.signer,
            },
            _plain("vin", "kind", "active", "refHash", "registry"),
            "registration office",
        ),
        Action(
            "maintenance",
            "RecordMaintenance",
            _f(("vin", "bytes32"), ("km", "uint32"), ("workHash", "bytes32"), ("shop", "address")),
            "shop",
            "SHOP_ROLE",
            "recordMaintenance",
            "RECORD_MAINTENANCE_TYPEHASH",
            lambda h, b: {"vin": h, "km": b.km, "workHash": b.work_hash, "shop": b.signer},
            _plain("vin", "km", "workHash", "shop"),
            "shop",
        ),
        Action(
            "purchase",
            "RegisterPurchase",
            _f(("vin", "bytes32"), ("seller", "address"), ("dealer", "address"), ("price", "uint256")),
            "dealer",
            "DEALER_ROLE",
            "registerPurchase",
            "REGISTER_PURCHASE_TYPEHASH",
            lambda h, b: {"vin": h, "seller": b.seller, "dealer": b.signer, "price": b.price},
            _plain("vin", "seller", "dealer", "price"),
            "dealer",
        ),
        Action(
            "offer",
            "OfferSale",
            _f(
                ("vin", "bytes32"),
                ("offerId", "uint32"),
                ("seller", "address"),
                ("buyer", "address"),
                ("price", "uint256"),
                ("inspectionId", "uint48"),
            ),
            "seller",
            None,
            "offerSale",
            "OFFER_SALE_TYPEHASH",
            lambda h, b: {
                "vin": h,
                "offerId": b.offer_id,
                "seller": b.signer,
                "buyer": b.buyer,
                "price": b.price,
                "inspectionId": b.inspection_id,
            },
            _plain("vin", "offerId", "seller", "buyer", "price", "inspectionId"),
            "seller (the owner)",
        ),
        Action(
            "accept",
            "AcceptSale",
            _f(
                ("vin", "bytes32"),
                ("offerId", "uint32"),
                ("seller", "address"),
                ("buyer", "address"),
                ("price", "uint256"),
                ("inspectionId", "uint48"),
                nonce=False,
            ),
            "buyer",
            None,
            "acceptSale",
            "ACCEPT_SALE_TYPEHASH",
            lambda h, b: {
                "vin": h,
                "offerId": b.offer_id,
                "seller": b.seller,
                "buyer": b.signer,
                "price": b.price,
                "inspectionId": b.inspection_id,
            },
            _plain("vin", "offerId", "seller", "buyer", "price", "inspectionId", nonce=False),
            "buyer",
            uses_nonce=False,
        ),
    ]
}
