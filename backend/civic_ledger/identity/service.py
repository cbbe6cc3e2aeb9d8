"""Citizen Card identity: the CitizenRegistry contract seen as domain operations.

Signed actions (:mod:`.actions` declares each once) follow the platform's one pipeline
(:mod:`civic_ledger.platform.actions`): ``*_typed_data`` builds the EIP-712 message (nonce and
deadline filled in) for the registrar — or, for a rotation, both keys — to sign; the action
rebuilds it from the posted fields, checks that each signature recovers to its signer (else 403
naming the expected signer), simulates (contract errors such as ``CitizenRegistryNotRegistrar``
come back as 4xx without spending gas) and relays with the operator account, then decodes the
event. The checks of this area (unused accounts, agency keys) stay here.

No personal data goes on chain or is kept here: an optional off-chain ``record`` is only used to
compute ``recordHash = keccak256(salt || canonical JSON)``; the salt is returned to the
registrar, and neither is stored.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils import keccak, to_checksum_address
from pydantic import BaseModel
from web3.contract import Contract
from web3.logs import DISCARD

from civic_ledger.errors import Conflict, InvalidInput, NotFound
from civic_ledger.identity import districts as codes
from civic_ledger.identity import projections as history_q
from civic_ledger.identity.actions import ACTIONS, CONTRACT
from civic_ledger.identity.agency import read, require_not_agency
from civic_ledger.identity.districts import DISTRICTS, District
from civic_ledger.identity.schemas import (
    CitizenChangeOut,
    CitizenCreate,
    CitizenEventOut,
    CitizenHistoryOut,
    CitizenOut,
    CitizenTypedDataCreate,
    CitizenUpdate,
    CitizenUpdateTypedData,
    DistrictOut,
    MessageTiming,
    RecoveryCreate,
    RecoveryTypedData,
    RegistrarOut,
    RegistrationTypedDataOut,
    ReinstatementCreate,
    ReinstatementTypedData,
    RotationCreate,
    RotationTypedData,
    SuspensionCreate,
    SuspensionTypedData,
    TypedDataOut,
)
from civic_ledger.platform import actions, eip712
from civic_ledger.platform.indexer import Event, fresh_read
from civic_ledger.platform.relayer import Receipt
from civic_ledger.platform.runtime import Platform

#: ``CitizenRegistry.REGISTRAR_ROLE`` (a constant of the contract; checked by the tests).
REGISTRAR_ROLE = keccak(text="REGISTRAR_ROLE")

#: EIP-712 types of every CitizenRegistry message (:mod:`.actions` declares them; checked against the contract).
TYPES: dict[str, dict[str, list[dict[str, str]]]] = {a.primary: a.types for a in ACTIONS.values()}
#: primary type → name of the contract constant holding its typehash.
TYPEHASH_CONSTANTS = {a.primary: a.typehash_constant for a in ACTIONS.values()}
_BY_PRIMARY = {a.primary: a for a in ACTIONS.values()}
#: the event each action emits
EVENTS = {
    "register": "CitizenRegistered",
    "update": "CitizenUpdated",
    "suspend": "CitizenSuspended",
    "reinstate": "CitizenReinstated",
    "recover": "CitizenKeyRotated",
    "rotate": "CitizenKeyRotated",
}
#: the actions that bind a new key, and the field naming it: the key must be unused (checked when
#: the typed data is asked for; the contract checks it again) and must not be an agency's key
#: (checked then and again before the relay: the contract does not know agency roles of other contracts)
NEW_KEY = {"register": "account", "recover": "new_account", "rotate": "new_account"}

# -- helpers -------------------------------------------------------------------------------


def registry(platform: Platform) -> Contract:
    return platform.deployment.contract(CONTRACT)


def typed_message(platform: Platform, primary: str, message: dict[str, Any]) -> eip712.TypedMessage:
    """The ``primary`` typed message for the deployed registry (scripts and tests sign with it)."""
    return actions.typed_message(platform, _BY_PRIMARY[primary], message)


def canonical_record(record: Mapping[str, Any]) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8) of an off-chain record."""
    try:
        return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"record: not JSON-serialisable ({exc})") from None


def record_hash(record: Mapping[str, Any], salt: bytes | None = None) -> tuple[bytes, bytes]:
    """``(salt, keccak256(salt || canonical JSON))``; a random 32-byte salt unless given."""
    salt = salt if salt is not None else secrets.token_bytes(32)
    if len(salt) != 32:
        raise InvalidInput("record salt must be 32 bytes")
    return salt, keccak(salt + canonical_record(record))


def _b32(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _typed_out(typed: eip712.TypedMessage, signer: str | list[str]) -> dict[str, Any]:
    return {
        "typed_data": typed.to_dict(),
        "signer": signer,
        "nonce": typed.message["nonce"],
        "deadline": typed.message["deadline"],
        "digest": _hex(typed.digest()),
    }


def _relay(platform: Platform, fn: Any) -> Receipt:
    return platform.relayer.transact(fn, simulate=True)


def _event(platform: Platform, name: str, receipt: Receipt) -> dict[str, Any]:
    events = getattr(registry(platform).events, name)().process_receipt(receipt.raw, errors=DISCARD)
    if not events:  # pragma: no cover - the contract always emits
        raise InvalidInput(f"transaction {receipt.tx_hash} emitted no {name}")
    return dict(events[0]["args"])


def _change(platform: Platform, event: str, receipt: Receipt) -> CitizenChangeOut:
    args = _event(platform, event, receipt)
    return CitizenChangeOut(
        event=event,
        citizen=citizen_by_id(platform, int(args["citizenId"])),
        tx_hash=receipt.tx_hash,
        block_number=receipt.block_number,
        gas_used=receipt.gas_used,
    )


# -- reads ---------------------------------------------------------------------------------


def district_out(d: District) -> DistrictOut:
    return DistrictOut(code=d.code, name=d.name, name_ko=d.name_ko)


def list_districts() -> list[DistrictOut]:
    return [district_out(d) for d in DISTRICTS.values()]


def is_registrar(platform: Platform, address: str) -> bool:
    reg = registry(platform)
    return bool(read(platform, reg.functions.hasRole(REGISTRAR_ROLE, address)))


def _require_registrar(platform: Platform, registrar: str) -> None:
    if not is_registrar(platform, registrar):
        raise platform.decoder.error("CitizenRegistryNotRegistrar", {"registrar": registrar}, CONTRACT)


def citizen_by_id(platform: Platform, citizen_id: int) -> CitizenOut:
    """The identity ``citizen_id``; 404 ``citizen_not_found`` when there is none."""
    if citizen_id <= 0:
        raise NotFound(f"citizen ids start at 1, got {citizen_id}", code="citizen_not_found")
    c = read(platform, registry(platform).functions.citizenOf(citizen_id))
    account, status, district, birth_year, residency, reason, registered_at, updated_at, rhash = c
    if status == 0:
        raise NotFound(f"no citizen has id {citizen_id}", code="citizen_not_found")
    d = DISTRICTS[int(district)]
    return CitizenOut(
        citizen_id=citizen_id,
        account=account,
        active=status == 1,
        status=codes.STATUSES[int(status)],
        district=district_out(d),
        birth_year=int(birth_year),
        age_band=codes.age_band(int(birth_year)),
        residency=codes.RESIDENCIES[int(residency)],
        residency_code=int(residency),
        suspension_reason=codes.SUSPENSION_REASONS.get(int(reason)),
        record_hash=_hex(rhash),
        registered_at=int(registered_at),
        since=datetime.fromtimestamp(int(registered_at), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        updated_at=int(updated_at),
    )


def citizen_history(platform: Platform, citizen_id: int) -> CitizenHistoryOut:
    """Every change of identity ``citizen_id`` (O(its changes), from the index)."""
    with fresh_read(platform, "the identity history") as (conn, _):
        events = history_q.citizen_events(conn, citizen_id)
    if not events:
        raise NotFound(f"no citizen has id {citizen_id}", code="citizen_not_found")
    return CitizenHistoryOut(citizen_id=citizen_id, events=[_history_event(e) for e in events])


def _history_event(e: Event) -> CitizenEventOut:
    a = e.args
    changes: dict[str, Any] = {}
    if "district" in a:
        changes.update(
            district=int(a["district"]),
            birth_year=int(a["birthYear"]),
            residency=codes.RESIDENCIES.get(int(a["residency"]), str(a["residency"])),
            record_hash=str(a["recordHash"]),
        )
    if "reason" in a:
        changes["reason"] = codes.SUSPENSION_REASONS.get(int(a["reason"]), str(a["reason"]))
    if "oldAccount" in a:
        changes["old_account"] = a["oldAccount"]
    by = a.get("registrar", a.get("byRegistrar"))
    return CitizenEventOut(
        event=str(e.event),
        block_number=e.block,
        tx_hash=e.tx_hash,
        log_index=e.log_index,
        account=a.get("account", a.get("newAccount")),
        by=None if by is None or int(by, 16) == 0 else by,
        changes=changes,
    )


def citizen_by_address(platform: Platform, address: str) -> CitizenOut:
    """The identity bound to ``address``; 404 ``citizen_not_found`` or ``account_retired``."""
    reg = registry(platform)
    citizen_id = int(read(platform, reg.functions.citizenIdOf(address)))
    if citizen_id == 0:
        retired = int(read(platform, reg.functions.retiredCitizenIdOf(address)))
        if retired:
            raise NotFound(
                f"address {address} was rotated away from citizen #{retired}: it no longer identifies anyone",
                code="account_retired",
                details={"retired_citizen_id": retired},
            )
        raise NotFound(f"address {address} is not registered as a citizen", code="citizen_not_found")
    return citizen_by_id(platform, citizen_id)


@dataclass(frozen=True)
class Eligibility:
    """What other areas need to decide who may act: one on-chain call."""

    address: str
    citizen_id: int
    active: bool
    district: District | None
    birth_year: int | None


def eligibility(platform: Platform, address: str) -> Eligibility:
    citizen_id, active, district, birth_year = read(platform, registry(platform).functions.eligibilityOf(address))
    return Eligibility(
        address=to_checksum_address(address),
        citizen_id=int(citizen_id),
        active=bool(active),
        district=DISTRICTS.get(int(district)),
        birth_year=int(birth_year) or None,
    )


def why_not_active(platform: Platform, address: str) -> tuple[str, str]:
    """(code, message) explaining why ``address`` is not an active citizen."""
    reg = registry(platform)
    citizen_id = int(read(platform, reg.functions.citizenIdOf(address)))
    if citizen_id == 0:
        retired = int(read(platform, reg.functions.retiredCitizenIdOf(address)))
        if retired:
            return "account_retired", (
                f"address {address} was rotated away from citizen #{retired}: sign in with the citizen's current key"
            )
        return "not_a_citizen", f"address {address} is not a registered citizen"
    c = citizen_by_id(platform, citizen_id)
    if not c.active:
        return "citizen_suspended", f"citizen #{citizen_id} ({address}) is suspended (reason: {c.suspension_reason})"
    return "active", f"citizen #{citizen_id} is active"


# -- signed actions --------------------------------------------------------------------------


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _message(key: str, body: BaseModel, **given: Any) -> dict[str, Any]:
    """The EIP-712 message of action ``key``: the ``given`` fields, the others from ``body``
    (snake_case; a typed-data request carries no nonce and maybe no deadline: ``None``, filled in)."""
    return {f: given[f] if f in given else getattr(body, _snake(f), None) for f in ACTIONS[key].field_names}


def _typed(
    platform: Platform, key: str, req: MessageTiming, signer: str | list[str] | None = None, **given: Any
) -> dict[str, Any]:
    """Typed data of action ``key`` for its signer: the registrar must hold REGISTRAR_ROLE; nonce and
    deadline (``req.deadline``, else now + ``req.ttl_s``) filled in."""
    action = ACTIONS[key]
    message = _message(key, req, **given)
    if key in NEW_KEY:
        _require_fresh_key(platform, getattr(req, NEW_KEY[key]), NEW_KEY[key])
    if action.signer == "registrar":
        _require_registrar(platform, message["registrar"])
    typed = actions.prepare(platform, action, message, ttl_s=req.ttl_s)
    return _typed_out(typed, signer or message[action.signer])


def _relay_signed(
    platform: Platform,
    key: str,
    body: BaseModel,
    signature: str,
    *,
    cosignatures: tuple[str, ...] = (),
    **given: Any,
) -> CitizenChangeOut:
    """Check the signature(s) of action ``key`` (403 naming who had to sign) and that a new key is
    not an agency's (:data:`NEW_KEY`); relay it."""
    signed = actions.Signed(platform, ACTIONS[key], _message(key, body, **given), signature, cosignatures)

    def check(_: eip712.TypedMessage) -> None:
        if key in NEW_KEY:
            require_not_agency(platform, getattr(body, NEW_KEY[key]), NEW_KEY[key])

    return _change(platform, EVENTS[key], signed.verify(check=check).send())


def _resolve_record_hash(
    record: dict[str, Any] | None, given: str | None, default: bytes | None = None
) -> tuple[bytes, bytes | None]:
    """(record hash, salt if we made it)."""
    if record is not None and given is not None:
        raise InvalidInput("give either record or record_hash, not both")
    if given is not None:
        value = _b32(given)
        if value == b"\0" * 32:
            raise InvalidInput("record_hash must not be zero")
        return value, None
    if record is None and default is not None:
        return default, None
    salt, value = record_hash(record or {})
    return value, salt


def _require_fresh_key(platform: Platform, account: str, field: str) -> None:
    _require_unused(platform, account)
    require_not_agency(platform, account, field)


def _require_unused(platform: Platform, account: str) -> None:
    reg = registry(platform)
    if int(read(platform, reg.functions.citizenIdOf(account))):
        raise platform.decoder.error("CitizenRegistryAlreadyRegistered", {"account": account}, CONTRACT)
    if read(platform, reg.functions.isAccountUsed(account)):
        raise platform.decoder.error("CitizenRegistryAccountUsed", {"account": account}, CONTRACT)


def _registration_out(typed: dict[str, Any], rhash: bytes, salt: bytes | None) -> RegistrationTypedDataOut:
    return RegistrationTypedDataOut(**typed, record_hash=_hex(rhash), record_salt=_hex(salt) if salt else None)


def register_typed_data(platform: Platform, req: CitizenTypedDataCreate) -> RegistrationTypedDataOut:
    rhash, salt = _resolve_record_hash(req.record, req.record_hash)
    return _registration_out(_typed(platform, "register", req, recordHash=rhash), rhash, salt)


def register(platform: Platform, body: CitizenCreate) -> CitizenChangeOut:
    return _relay_signed(platform, "register", body, body.signature, recordHash=_b32(body.record_hash))


def update_typed_data(platform: Platform, citizen_id: int, req: CitizenUpdateTypedData) -> RegistrationTypedDataOut:
    current = citizen_by_id(platform, citizen_id)
    rhash, salt = _resolve_record_hash(req.record, req.record_hash, default=_b32(current.record_hash))
    return _registration_out(_typed(platform, "update", req, citizenId=citizen_id, recordHash=rhash), rhash, salt)


def update(platform: Platform, citizen_id: int, body: CitizenUpdate) -> CitizenChangeOut:
    return _relay_signed(
        platform, "update", body, body.signature, citizenId=citizen_id, recordHash=_b32(body.record_hash)
    )


def suspend_typed_data(platform: Platform, citizen_id: int, req: SuspensionTypedData) -> TypedDataOut:
    citizen_by_id(platform, citizen_id)
    return TypedDataOut(**_typed(platform, "suspend", req, citizenId=citizen_id))


def suspend(platform: Platform, citizen_id: int, body: SuspensionCreate) -> CitizenChangeOut:
    return _relay_signed(platform, "suspend", body, body.signature, citizenId=citizen_id)


def reinstate_typed_data(platform: Platform, citizen_id: int, req: ReinstatementTypedData) -> TypedDataOut:
    citizen = citizen_by_id(platform, citizen_id)
    if citizen.status != "suspended":
        raise platform.decoder.error("CitizenRegistryNotSuspended", {"citizenId": citizen_id}, CONTRACT)
    return TypedDataOut(**_typed(platform, "reinstate", req, citizenId=citizen_id))


def reinstate(platform: Platform, citizen_id: int, body: ReinstatementCreate) -> CitizenChangeOut:
    return _relay_signed(platform, "reinstate", body, body.signature, citizenId=citizen_id)


def recover_typed_data(platform: Platform, citizen_id: int, req: RecoveryTypedData) -> TypedDataOut:
    citizen_by_id(platform, citizen_id)
    return TypedDataOut(**_typed(platform, "recover", req, citizenId=citizen_id))


def recover(platform: Platform, citizen_id: int, body: RecoveryCreate) -> CitizenChangeOut:
    return _relay_signed(platform, "recover", body, body.signature, citizenId=citizen_id)


# -- citizen self-rotation -----------------------------------------------------------------


def rotation_typed_data(platform: Platform, req: RotationTypedData) -> TypedDataOut:
    if req.old_account == req.new_account:
        raise InvalidInput("new_account must differ from old_account")
    citizen = citizen_by_address(platform, req.old_account)
    if not citizen.active:
        raise platform.decoder.error("CitizenRegistryNotActive", {"citizenId": citizen.citizen_id}, CONTRACT)
    return TypedDataOut(**_typed(platform, "rotate", req, signer=[req.old_account, req.new_account]))


def rotate(platform: Platform, body: RotationCreate) -> CitizenChangeOut:
    """Both keys sign the same ``RotateKey``: the old one authorises, the new one proves possession."""
    return _relay_signed(platform, "rotate", body, body.old_signature, cosignatures=(body.new_signature,))


# -- registrars (operator / city admin) ------------------------------------------------------


def registrar_status(platform: Platform, address: str) -> RegistrarOut:
    return RegistrarOut(address=address, is_registrar=is_registrar(platform, address))


def grant_registrar(platform: Platform, address: str) -> RegistrarOut:
    """The operator (holder of DEFAULT_ADMIN_ROLE) grants REGISTRAR_ROLE; 409 if already held."""
    if is_registrar(platform, address):
        raise Conflict(f"{address} already holds REGISTRAR_ROLE", code="registrar_exists")
    reg = registry(platform)
    receipt = _relay(platform, reg.functions.grantRole(REGISTRAR_ROLE, address))
    return RegistrarOut(address=address, is_registrar=True, tx_hash=receipt.tx_hash, block_number=receipt.block_number)


def revoke_registrar(platform: Platform, address: str) -> RegistrarOut:
    """The operator revokes REGISTRAR_ROLE: the registrar's pending signatures stop working; 404 if not held."""
    if not is_registrar(platform, address):
        raise NotFound(f"{address} does not hold REGISTRAR_ROLE", code="registrar_not_found")
    reg = registry(platform)
    receipt = _relay(platform, reg.functions.revokeRole(REGISTRAR_ROLE, address))
    return RegistrarOut(address=address, is_registrar=False, tx_hash=receipt.tx_hash, block_number=receipt.block_number)
