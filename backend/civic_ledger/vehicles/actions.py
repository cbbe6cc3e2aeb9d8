"""The signed records of ``VehicleHistory`` as data: one declaration per action, one code path for all.

Each :class:`~civic_ledger.platform.actions.Action` knows its EIP-712 primary type and fields
(identical to the contract's ``*_TYPEHASH`` strings, checked by the tests), which message field
names the signer, how an API body becomes the message and how the message becomes the contract
call; the platform's one pipeline (:mod:`civic_ledger.platform.actions`) builds, checks and relays
them. The contract checks the signer's role (REGISTRY_ROLE, INSPECTOR_ROLE, INSURER_ROLE,
SHOP_ROLE, DEALER_ROLE; a reading's by its source; an offer's and an acceptance's by ownership).
API field names are snake_case; EIP-712 message fields are the contract's camelCase.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from civic_ledger.platform.actions import Action, declare, table
from civic_ledger.vehicles import vin as v

__all__ = ["ACTIONS", "CONTRACT", "Action"]

CONTRACT = "VehicleHistory"


def _b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


_action = partial(declare, CONTRACT)


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


#: an offer and its acceptance sign the same terms
_SALE = (
    ("vin", "bytes32"),
    ("offerId", "uint32"),
    ("seller", "address"),
    ("buyer", "address"),
    ("price", "uint256"),
    ("inspectionId", "uint48"),
)


def _sale(signs: str) -> Callable[[str, Any], dict[str, Any]]:
    """The terms of a sale; the ``signs`` party (seller: an offer, buyer: an acceptance) is the signer."""

    def message(h: str, b: Any) -> dict[str, Any]:
        parties = (
            {"seller": b.signer, "buyer": b.buyer} if signs == "seller" else {"seller": b.seller, "buyer": b.signer}
        )
        return {"vin": h, "offerId": b.offer_id, **parties, "price": b.price, "inspectionId": b.inspection_id}

    return message


ACTIONS: dict[str, Action] = table(
    _action(
        "register",
        "RegisterVehicle",
        (
            ("vin", "bytes32"),
            ("make", "string"),
            ("model", "string"),
            ("modelYear", "uint16"),
            ("firstRegistered", "uint32"),
            ("owner", "address"),
            ("registry", "address"),
        ),
        "registry",
        "registerVehicle",
        "REGISTER_VEHICLE_TYPEHASH",
        message=_register_msg,
        call=_register_call,
        label="registration office",
    ),
    _action(
        "reading",
        "RecordOdometer",
        (("vin", "bytes32"), ("km", "uint32"), ("source", "uint8"), ("recorder", "address")),
        "recorder",
        "recordOdometer",
        "RECORD_ODOMETER_TYPEHASH",
        message=lambda h, b: {"vin": h, "km": b.km, "source": v.SOURCES.index(b.source), "recorder": b.signer},
        label="recorder",
    ),
    _action(
        "inspection",
        "RecordInspection",
        (
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
        "recordInspection",
        "RECORD_INSPECTION_TYPEHASH",
        message=_inspection_msg,
        call=_inspection_call,
        label="inspector",
    ),
    _action(
        "claim",
        "RecordClaim",
        (("vin", "bytes32"), ("kind", "uint8"), ("claimHash", "bytes32"), ("insurer", "address")),
        "insurer",
        "recordClaim",
        "RECORD_CLAIM_TYPEHASH",
        message=lambda h, b: {
            "vin": h,
            "kind": v.CLAIM_KINDS.index(b.kind),
            "claimHash": b.claim_hash,
            "insurer": b.signer,
        },
        label="insurer",
    ),
    _action(
        "encumbrance",
        "SetEncumbrance",
        (
            ("vin", "bytes32"),
            ("kind", "uint8"),
            ("active", "bool"),
            ("refHash", "bytes32"),
            ("registry", "address"),
        ),
        "registry",
        "setEncumbrance",
        "SET_ENCUMBRANCE_TYPEHASH",
        message=lambda h, b: {
            "vin": h,
            "kind": v.ENCUMBRANCE_KINDS.index(b.kind),
            "active": b.active,
            "refHash": b.ref_hash,
            "registry": b.signer,
        },
        label="registration office",
    ),
    _action(
        "maintenance",
        "RecordMaintenance",
        (("vin", "bytes32"), ("km", "uint32"), ("workHash", "bytes32"), ("shop", "address")),
        "shop",
        "recordMaintenance",
        "RECORD_MAINTENANCE_TYPEHASH",
        message=lambda h, b: {"vin": h, "km": b.km, "workHash": b.work_hash, "shop": b.signer},
        label="shop",
    ),
    _action(
        "purchase",
        "RegisterPurchase",
        (("vin", "bytes32"), ("seller", "address"), ("dealer", "address"), ("price", "uint256")),
        "dealer",
        "registerPurchase",
        "REGISTER_PURCHASE_TYPEHASH",
        message=lambda h, b: {"vin": h, "seller": b.seller, "dealer": b.signer, "price": b.price},
        label="dealer",
    ),
    _action(
        "offer",
        "OfferSale",
        _SALE,
        "seller",
        "offerSale",
        "OFFER_SALE_TYPEHASH",
        message=_sale("seller"),
        label="seller (the owner)",
    ),
    _action(
        "accept",
        "AcceptSale",
        _SALE,
        "buyer",
        "acceptSale",
        "ACCEPT_SALE_TYPEHASH",
        message=_sale("buyer"),
        label="buyer",
        uses_nonce=False,
    ),
)
