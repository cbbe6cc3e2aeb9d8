"""Request and response models of the used-car history API (장안평 중고차).

Every record comes in two requests: ``.../typed-data`` with the record's fields and the signer
returns the EIP-712 typed data to sign; the same fields plus ``nonce``, ``deadline`` (both from the
typed data) and ``signature`` relay it. Hashes (``record_hash``, ``claim_hash``…) are keccak-256 of
documents kept off chain (``civic-ledger vehicles`` computes them from the files).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from civic_ledger.platform.trust import DeploymentRef
from civic_ledger.types import EXAMPLE_TX_HASH, UINT256_MAX, Address, Bytes32, Signature, Text, examples

U32 = 2**32 - 1
U48 = 2**48 - 1

SourceName = Literal["inspection", "periodic_inspection", "shop", "dealer", "owner"]
ClaimName = Literal["accident", "flood", "total_loss"]
EncumbranceName = Literal["lien", "seizure"]

TtlField = Field(3600, ge=30, le=7 * 86400, description="Seconds the signed message stays valid (from chain time).")
Km = Field(ge=0, le=U32, description="Odometer reading in km.", examples=[48_200])


class Tx(BaseModel):
    tx_hash: str | None = Field(None, examples=[EXAMPLE_TX_HASH])
    block_number: int | None = Field(None, examples=[18_342])
    gas_used: int | None = Field(None, examples=[97_230])


# -- the records' own fields ------------------------------------------------------------------


class RegisterFields(BaseModel):
    vin: str = Field(description="The VIN (17 characters, ISO 3779); only its keccak-256 goes on chain.")
    make: Text = Field(min_length=1, max_length=60, examples=["Hyundai"])
    model: Text = Field(min_length=1, max_length=60, examples=["Avante (CN7)"])
    model_year: int = Field(ge=1900, le=2100, examples=[2021])
    first_registered: str = Field(description="First-registration date, YYYY-MM-DD.", examples=["2021-03-15"])
    owner: Address = Field(description="The first owner: an active citizen's current key, or a dealer.")


class ReadingFields(BaseModel):
    km: int = Km
    source: SourceName = Field(description="Who read it (the signer needs the source's role; `owner`: the owner).")


class InspectionFields(BaseModel):
    km: int = Km
    accident_repair: bool = Field(description="Accident repairs found.")
    panels: list[str] = Field(default_factory=list, max_length=16, description="Repaired / replaced panels.")
    flood: bool = Field(False, description="Flood damage found.")
    tuning: bool = Field(False, description="Illegal tuning found.")
    emissions_pass: bool = Field(True, description="The emissions test passed.")
    record_hash: Bytes32 = Field(description="keccak-256 of the full inspection record (kept off chain).")


class ClaimFields(BaseModel):
    kind: ClaimName
    claim_hash: Bytes32 = Field(description="keccak-256 of the claim file (kept off chain).")


class EncumbranceFields(BaseModel):
    kind: EncumbranceName
    active: bool = Field(description="true sets a lien / seizure, false lifts one.")
    ref_hash: Bytes32 = Field(description="keccak-256 of the registry's reference (kept off chain).")


class MaintenanceFields(BaseModel):
    km: int = Km
    work_hash: Bytes32 = Field(description="keccak-256 of the work order (kept off chain).")


class PurchaseFields(BaseModel):
    seller: Address = Field(description="The current owner, who signs the purchase too.")
    price: int = Field(ge=0, le=UINT256_MAX, description="Price in KRW.")


class OfferFields(BaseModel):
    buyer: Address
    price: int = Field(ge=0, le=UINT256_MAX, description="Price in KRW.")
    inspection_id: int = Field(ge=1, le=U48, description="The vehicle's current inspection (< 120 days old).")
    offer_id: int | None = Field(None, ge=1, le=U32, description="From the typed data (the next offer id).")


class AcceptFields(BaseModel):
    offer_id: int = Field(ge=1, le=U32)
    price: int = Field(ge=0, le=UINT256_MAX, description="The price the buyer agrees to.")
    inspection_id: int = Field(ge=1, le=U48, description="The inspection the buyer was shown: the offer must name it.")
    seller: Address | None = Field(None, description="Default: the current owner.")


class TypedTail(BaseModel):
    signer: Address = Field(description="Who signs (the message's signer field).")
    ttl_s: int = TtlField


class SignedTail(BaseModel):
    signer: Address
    nonce: int = Field(0, ge=0, le=UINT256_MAX, description="As in the typed data (ignored by acceptances).")
    deadline: int = Field(ge=0, le=UINT256_MAX, description="As in the typed data.")
    signature: Signature
    seller_signature: Signature | None = Field(None, description="Purchases only: the seller's signature.")


#: action key → the record's own fields
FIELDS: dict[str, type[BaseModel]] = {
    "register": RegisterFields,
    "reading": ReadingFields,
    "inspection": InspectionFields,
    "claim": ClaimFields,
    "encumbrance": EncumbranceFields,
    "maintenance": MaintenanceFields,
    "purchase": PurchaseFields,
    "offer": OfferFields,
    "accept": AcceptFields,
}


def _model(name: str, *bases: type[BaseModel]) -> type[BaseModel]:
    return type(name, bases, {"__doc__": bases[0].__doc__})


#: action key → (typed-data request, relay request) models
REQUESTS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    key: (
        _model(f"{cls.__name__.removesuffix('Fields')}TypedDataRequest", cls, TypedTail),
        _model(f"{cls.__name__.removesuffix('Fields')}Create", cls, SignedTail),
    )
    for key, cls in FIELDS.items()
}


class TypedDataOut(BaseModel):
    typed_data: dict[str, Any] = Field(description="EIP-712 JSON (eth_signTypedData_v4): sign it unchanged.")
    signer: Address
    deadline: int
    nonce: int | None = None
    digest: str
    also_signs: Address | None = Field(None, description="Purchases: the seller signs the same typed data.")


class RecordOut(Tx):
    model_config = examples(
        {
            "tx_hash": EXAMPLE_TX_HASH,
            "block_number": 18_342,
            "gas_used": 97_230,
            "action": "inspection",
            "vin": "KMHLM41DBMU123456",
            "vin_hash": "0xb5e25a7757ed7c94aff5ed28b0d45d7482927572f2e22fd456aa63746eb36746",
            "events": ["InspectionRecorded"],
            "inspection_id": 12,
            "offer_id": None,
        }
    )

    action: str
    vin: str
    vin_hash: str
    events: list[str] = Field(description="Events the record emitted.")
    inspection_id: int | None = None
    offer_id: int | None = None


# -- reads ------------------------------------------------------------------------------------


class VehicleOut(BaseModel):
    vin: str
    vin_hash: str
    registered: bool
    owner: Address | None
    highest_km: int
    inspection_id: int | None
    inspected_at: int | None
    offer_count: int
    open_offer_id: int | None
    owners: int
    liens: int
    seizures: int


class InspectionOut(BaseModel):
    inspection_id: int
    vin_hash: str
    km: int
    accident_repair: bool
    panels: list[str]
    flood: bool
    tuning: bool
    emissions_pass: bool
    record_hash: str
    inspector: Address
    at: int
    valid_until: int
    block_number: int
    tx_hash: str


class VerifyOut(BaseModel):
    matches: bool
    vin: str
    block_number: int
    differences: list[str]
    chain_state: list[str] = Field(description="Problems between the derived report and vehicleOf at that block.")
    deployment: DeploymentRef
    derived: dict[str, Any]
