"""Request and response models of the identity area (``/identity``) and of sign-in (``/auth``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StrictInt

from civic_ledger.identity import districts as codes
from civic_ledger.types import (
    EXAMPLE_AGENCY,
    EXAMPLE_CITIZEN,
    EXAMPLE_HASH,
    EXAMPLE_TX_HASH,
    Address,
    Bytes32,
    Signature,
    examples,
)


def _district(value: int | str) -> int:
    return codes.district(value).code


def _birth_year(value: int) -> int:
    this_year = datetime.now(UTC).year
    if not 1900 <= value <= this_year:
        raise ValueError(f"birth year {value} must be between 1900 and {this_year}")
    return value


def _code_or_name(code_of: Callable[[int | str], int], description: str, examples: list[Any]) -> tuple[Any, ...]:
    """The metadata of a registry code given as its number or its name, for ``Annotated[StrictInt | str, *it]``:
    ``code_of`` validates it to the number (``ValueError`` naming the choices)."""
    return AfterValidator(code_of), Field(description=description, examples=examples)


_DISTRICT = "District: code 1..25 or name (`Mapo`, `Mapo-gu`, `마포구`); see `GET /identity/districts`."
_RESIDENCY = "Residency: 1 `resident` (주민), 2 `registered_foreigner` (등록외국인), 3 `overseas_korean` (재외국민)."
_REASON = "Suspension reason: 1 `lost_device`, 2 `deceased`, 3 `moved_away`, 4 `other`."

DistrictRef = Annotated[StrictInt | str, *_code_or_name(_district, _DISTRICT, ["Mapo", 14])]
ResidencyRef = Annotated[StrictInt | str, *_code_or_name(codes.residency_code, _RESIDENCY, ["resident", 1])]
ReasonRef = Annotated[StrictInt | str, *_code_or_name(codes.suspension_reason_code, _REASON, ["lost_device", 1])]
BirthYear = Annotated[int, AfterValidator(_birth_year), Field(description="Four-digit year of birth.", examples=[1990])]
UINT256_MAX = 2**256 - 1

Deadline = Annotated[
    int, Field(ge=0, le=UINT256_MAX, description="Last valid block timestamp (Unix seconds) of the signed message.")
]
Nonce = Annotated[
    int, Field(ge=0, le=UINT256_MAX, description="The signer's contract nonce the message was signed with.")
]


# -- building blocks -----------------------------------------------------------------------


class DistrictOut(BaseModel):
    code: int = Field(description="District code 1..25 as stored on chain.", examples=[14])
    name: str = Field(description="Romanised name, without -gu.", examples=["Mapo"])
    name_ko: str = Field(description="Korean name.", examples=["마포구"])


class MessageTiming(BaseModel):
    """When the signed message stops being valid: an explicit deadline, or a time-to-live."""

    deadline: Deadline | None = Field(None, description="Explicit deadline (Unix seconds). Default: now + ttl_s.")
    ttl_s: int = Field(3600, ge=1, le=7 * 24 * 3600, description="Seconds from now until the deadline.")


class RegistrarSigned(BaseModel):
    """The registrar's signature over the typed data (fields as signed)."""

    registrar: Address = Field(description="The registrar who signed (must hold REGISTRAR_ROLE).")
    nonce: Nonce
    deadline: Deadline
    signature: Signature = Field(description="65-byte ECDSA signature of the EIP-712 typed data, 0x-hex.")


class TypedDataOut(BaseModel):
    """EIP-712 typed data to sign (the standard JSON of `eth_signTypedData_v4`)."""

    typed_data: dict[str, Any] = Field(description="Sign this as is, with the key of `signer`.")
    signer: Address | list[Address] = Field(description="Who must sign (both keys for a rotation).")
    nonce: int
    deadline: int
    digest: Bytes32 = Field(description="The EIP-712 digest, for checking what a wallet shows.")


class RegistrationTypedDataOut(TypedDataOut):
    record_hash: Bytes32 = Field(description="`keccak256(salt || canonical JSON of the record)`, as signed.")
    record_salt: Bytes32 | None = Field(
        None,
        description="The random salt of `record_hash`, when the server computed it: keep it with the off-chain "
        "record (the server does not store it, nor the record).",
    )


class TxOut(BaseModel):
    tx_hash: str = Field(examples=["0x" + "ab" * 32])
    block_number: int
    gas_used: int


# -- citizens ------------------------------------------------------------------------------


class CitizenOut(BaseModel):
    """One identity as the chain holds it (no personal data exists there)."""

    citizen_id: int = Field(description="Stable id; never changes across key rotations.")
    account: Address = Field(description="The address currently bound to the identity.")
    active: bool = Field(description="Whether the identity is active (registered and not suspended).")
    status: str = Field(description="`active` or `suspended`.", examples=["active"])
    district: DistrictOut
    birth_year: int
    age_band: str = Field(description="Ten-year band of the age reached this year.", examples=["30-39"])
    residency: str = Field(examples=["resident"])
    residency_code: int = Field(examples=[1])
    suspension_reason: str | None = Field(None, description="Reason of the current suspension.")
    record_hash: Bytes32 = Field(description="Salted hash of the off-chain record held by the district office.")
    registered_at: int = Field(description="Since: block timestamp of the registration (Unix seconds).")
    since: str = Field(description="`registered_at` as ISO-8601 (UTC).", examples=["2026-11-22T09:00:00Z"])
    updated_at: int = Field(description="Block timestamp of the last change.")


class CitizenEventOut(BaseModel):
    """One change of an identity, as its event says (no personal data: codes and addresses only)."""

    event: str = Field(examples=["CitizenRegistered"])
    block_number: int
    tx_hash: str
    log_index: int
    account: Address | None = Field(None, description="The address bound to the identity after the change.")
    by: Address | None = Field(None, description="The registrar who made it (null for a self-rotation).")
    changes: dict[str, Any] = Field(
        default_factory=dict,
        description="What the change set: district, birth_year, residency, record_hash, reason, old_account.",
        examples=[{"district": 11, "birth_year": 1990, "residency": "resident"}],
    )


class CitizenHistoryOut(BaseModel):
    """Every change of one identity, oldest first, from the server's index of the registry's events."""

    model_config = examples(
        {
            "citizen_id": 7,
            "events": [
                {
                    "event": "CitizenRegistered",
                    "block_number": 1_204,
                    "tx_hash": EXAMPLE_HASH,
                    "log_index": 0,
                    "account": EXAMPLE_CITIZEN,
                    "by": EXAMPLE_AGENCY,
                    "changes": {"district": 14, "birth_year": 1990, "residency": "resident"},
                },
                {
                    "event": "CitizenUpdated",
                    "block_number": 18_342,
                    "tx_hash": EXAMPLE_TX_HASH,
                    "log_index": 1,
                    "account": EXAMPLE_CITIZEN,
                    "by": EXAMPLE_AGENCY,
                    "changes": {"district": 11},
                },
            ],
        }
    )

    citizen_id: int
    events: list[CitizenEventOut]


class CitizenTypedDataCreate(MessageTiming):
    """What a registrar wants to register; the answer is the typed data to sign."""

    account: Address = Field(description="The citizen's address (never bound before).")
    district: DistrictRef
    birth_year: BirthYear
    residency: ResidencyRef = 1
    registrar: Address
    record: dict[str, Any] | None = Field(
        None,
        description="Optional off-chain record (name, resident number, ...). Used ONLY to compute a salted "
        "`record_hash`; it is neither stored nor sent on chain. Better: hash it locally and give `record_hash`.",
        examples=[{"name": "홍길동", "resident_number": "900101-1234567"}],
    )
    record_hash: Bytes32 | None = Field(
        None,
        description="Salted hash computed by the registrar. Without `record` or `record_hash`, the hash of an "
        "empty record with a random salt is used.",
    )


class CitizenCreate(RegistrarSigned):
    account: Address
    district: DistrictRef
    birth_year: BirthYear
    residency: ResidencyRef = 1
    record_hash: Bytes32


class CitizenUpdateTypedData(MessageTiming):
    district: DistrictRef
    birth_year: BirthYear
    residency: ResidencyRef = 1
    registrar: Address
    record: dict[str, Any] | None = Field(None, description="As for registration: only hashed, never kept.")
    record_hash: Bytes32 | None = Field(None, description="Default: the current record hash is kept.")


class CitizenUpdate(RegistrarSigned):
    district: DistrictRef
    birth_year: BirthYear
    residency: ResidencyRef = 1
    record_hash: Bytes32


class SuspensionTypedData(MessageTiming):
    reason: ReasonRef
    registrar: Address


class SuspensionCreate(RegistrarSigned):
    reason: ReasonRef


class ReinstatementTypedData(MessageTiming):
    registrar: Address


class ReinstatementCreate(RegistrarSigned):
    pass


class RecoveryTypedData(MessageTiming):
    new_account: Address = Field(description="The citizen's new address (never bound before).")
    registrar: Address


class RecoveryCreate(RegistrarSigned):
    new_account: Address


class RotationTypedData(MessageTiming):
    old_account: Address = Field(description="The current key of an active citizen.")
    new_account: Address = Field(description="The new key (never bound before).")


class RotationCreate(BaseModel):
    old_account: Address
    new_account: Address
    nonce: Nonce
    deadline: Deadline
    old_signature: Signature = Field(description="Signature of the typed data by the old key (authorises).")
    new_signature: Signature = Field(description="Signature of the same typed data by the new key (possession).")


class CitizenChangeOut(TxOut):
    event: str = Field(description="The event the contract emitted.", examples=["CitizenRegistered"])
    citizen: CitizenOut


# -- registrars ----------------------------------------------------------------------------


class RegistrarCreate(BaseModel):
    address: Address = Field(description="The district office's signing address.")


class RegistrarOut(BaseModel):
    address: Address
    is_registrar: bool
    tx_hash: str | None = None
    block_number: int | None = None


# -- sign-in -------------------------------------------------------------------------------


class NonceOut(BaseModel):
    """A single-use nonce and the fields the SIWE message must carry."""

    nonce: str = Field(examples=["q3bY7mPz0Kd2Lr8x"])
    expires_at: int = Field(description="The nonce must be used before this time (Unix seconds).")
    domain: str = Field(description="The `domain` the message must name.", examples=["127.0.0.1:8000"])
    uri: str = Field(description="The `URI` the message must name.", examples=["http://127.0.0.1:8000"])
    chain_id: int
    version: str = "1"
    statement: str = Field(description="Suggested statement.")
    message: str | None = Field(
        None, description="With `?address=`: a complete EIP-4361 message, ready to sign (EIP-191 personal_sign)."
    )


class LoginRequest(BaseModel):
    message: str = Field(description="The EIP-4361 message exactly as signed.")
    signature: Signature = Field(description="EIP-191 (personal_sign) signature of `message`.")


class SessionOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    token_type: str = "bearer"
    address: Address
    citizen_id: int | None = Field(None, description="Set when the address is an active citizen.")
    roles: list[str] = Field(
        description="Agency roles held, as `Contract.ROLE`.", examples=[["CitizenRegistry.REGISTRAR_ROLE"]]
    )
    expires_at: int


class MeOut(BaseModel):
    address: Address
    citizen: CitizenOut | None = Field(None, description="The active identity of the address, if any.")
    roles: list[str] = Field(description="Agency roles held right now (checked on chain).")
    expires_at: int = Field(description="When the session token expires (Unix seconds).")
