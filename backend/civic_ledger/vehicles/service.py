"""Used-car history (장안평 중고차): the signed records of VehicleHistory, relayed.

Who signs what (:mod:`.actions` declares each record once): the registration office registers
vehicles, sets and lifts liens and seizures and records periodic-inspection readings; dealers
register purchases (the seller co-signs), record readings and, as owners, offer cars; inspectors
record inspections; insurers record claims; shops record maintenance; an owner offers a sale and
the buyer accepts it. The operator relays every one of them and can forge none.

Every record follows one path: ``typed_data`` builds the EIP-712 message (with the signer's nonce
and a deadline from chain time) for the signer to sign; ``relay`` rebuilds the same message from
the request, checks the signature off chain (403 naming who should have signed), simulates and
sends. A reading below the highest is refused by the contract (409
``VehicleHistoryOdometerRollback``); the service then puts the signed refused reading on record
(``reportRollback``) so the attempt shows in the car's history, and answers the refusal.
Reads live in :mod:`.reads`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from web3.logs import DISCARD

from civic_ledger.errors import ContractError, InvalidInput
from civic_ledger.platform import actions, eip712
from civic_ledger.platform.runtime import Platform
from civic_ledger.vehicles import vin as v
from civic_ledger.vehicles.actions import ACTIONS, CONTRACT, Action
from civic_ledger.vehicles.schemas import RecordOut, TypedDataOut

ZERO = "0x" + "00" * 20


def history_contract(platform: Platform) -> Any:
    return platform.deployment.contract(CONTRACT)


def read(platform: Platform, fn: Any, block: int | str = "latest") -> Any:
    return fn.call({"from": platform.operator.address}, block_identifier=block)


def action(key: str) -> Action:
    try:
        return ACTIONS[key]
    except KeyError:
        raise InvalidInput(f"unknown vehicle record {key!r} (one of {', '.join(ACTIONS)})") from None


#: the typed message of a record (``scripts/bench_vehicles.py`` signs with it)
typed_message = actions.typed_message


def _fill(platform: Platform, a: Action, vin_hash: str, body: BaseModel) -> BaseModel:
    """Fields the signer does not choose: the next offer id, an acceptance's seller (the owner)."""
    c = history_contract(platform)
    if a.key == "offer" and getattr(body, "offer_id", None) is None:
        vehicle = read(platform, c.functions.vehicleOf(bytes.fromhex(vin_hash[2:])))
        return body.model_copy(update={"offer_id": int(vehicle[5]) + 1})
    if a.key == "accept" and getattr(body, "seller", None) is None:
        owner = read(platform, c.functions.vehicleOf(bytes.fromhex(vin_hash[2:])))[1]
        return body.model_copy(update={"seller": owner})
    return body


def _message(platform: Platform, a: Action, vin_text: str, body: BaseModel) -> tuple[dict[str, Any], BaseModel]:
    vin_hash = v.vin_hash(vin_text)
    body = _fill(platform, a, vin_hash, body)
    assert a.message is not None  # every VehicleHistory record declares its builder
    return a.message(vin_hash, body), body


def typed_data(platform: Platform, key: str, vin_text: str, body: Any) -> TypedDataOut:
    """The EIP-712 typed data of record ``key`` for ``body.signer`` to sign."""
    a = action(key)
    message, body = _message(platform, a, vin_text, body)
    typed = actions.prepare(platform, a, message, signer=body.signer, ttl_s=body.ttl_s)
    return TypedDataOut(
        typed_data=typed.to_dict(),
        signer=body.signer,
        deadline=message["deadline"],
        nonce=message.get("nonce"),
        digest="0x" + typed.digest().hex(),
        also_signs=getattr(body, "seller", None) if key == "purchase" else None,
    )


def relay(platform: Platform, key: str, vin_text: str, body: Any) -> RecordOut:
    """Check the signature(s) of record ``key`` off chain, simulate, relay; the answer from the receipt."""
    a = action(key)
    message, body = _message(platform, a, vin_text, body)
    if a.uses_nonce:
        message["nonce"] = body.nonce
    message["deadline"] = body.deadline

    def seller_signs(typed: eip712.TypedMessage) -> None:
        if body.seller_signature is None:
            raise InvalidInput("seller_signature: a purchase needs the seller's signature too (the current owner)")
        typed.require_signer(body.seller_signature, body.seller, "seller", field="seller_signature")

    def rollback(exc: ContractError, args: list[Any]) -> Exception | None:
        if key == "reading" and exc.error_name == "VehicleHistoryOdometerRollback":
            return _record_rollback(platform, args, exc)
        return None

    purchase = key == "purchase"
    signed = actions.Signed(platform, a, message, body.signature)
    signed.verify(signer=body.signer, check=seller_signs if purchase else None)
    receipt = signed.send(also=[body.seller_signature] if purchase else [], on_revert=rollback)
    c = history_contract(platform)
    names = [
        str(e["event"])
        for ev in c.events
        for e in ev().process_receipt(receipt.raw, errors=DISCARD)
        if e["address"] == c.address
    ]
    inspection_id = offer_id = None
    if key == "inspection":
        (e,) = c.events.InspectionRecorded().process_receipt(receipt.raw, errors=DISCARD)
        inspection_id = int(e["args"]["inspectionId"])
    if key in ("offer", "accept"):
        offer_id = int(message["offerId"])
    return RecordOut(
        action=key,
        vin=v.normalise(vin_text),
        vin_hash=message["vin"],
        events=sorted(set(names), key=names.index),
        inspection_id=inspection_id,
        offer_id=offer_id,
        tx_hash=receipt.tx_hash,
        block_number=receipt.block_number,
        gas_used=receipt.gas_used,
    )


def _record_rollback(platform: Platform, args: list[Any], exc: ContractError) -> ContractError:
    """Put the signed, refused reading on record (``OdometerRollbackRefused``); the refusal, with where."""
    c = history_contract(platform)
    receipt = platform.relayer.transact(c.functions.reportRollback(*args), simulate=True)
    details = dict(exc.details or {})
    details["recorded"] = {"tx_hash": receipt.tx_hash, "block_number": receipt.block_number}
    exc.details = details
    exc.message += f" — the refused reading is on record (tx {receipt.tx_hash})"
    exc.args = (exc.message,)
    return exc
