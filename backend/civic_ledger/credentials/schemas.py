from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from civic_ledger.credentials import examples as ex
from civic_ledger.credentials.document import MAX_TIMESTAMP
from civic_ledger.platform.trust import DeploymentRef
from civic_ledger.types import (
    EXAMPLE_HASH,
    EXAMPLE_TX_HASH,
    UINT256_MAX,
    Address,
    Bytes32,
    Signature,
    example_document,
    examples,
)

_CODE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


# -- issuers and types (operator) -------------------------------------------------------------


class IssuerCreate(BaseModel):
    code: str = Field(
        pattern=_CODE,
        description="Short code of the agency; its issuer id is keccak256(code).",
        examples=["seoul-training-centre"],
    )
    name: str = Field(
        min_length=1,
        max_length=200,
        description="Agency name (emitted on chain; only its hash is stored).",
        examples=["Seoul Training Centre"],
    )


class KeyOut(BaseModel):
    key: Address
    valid_from: int = Field(description="First second the key is valid (Unix).")
    valid_until: int | None = Field(description="First second the key is no longer valid (Unix); null = open-ended.")
    valid_now: bool


class IssuerOut(BaseModel):
    issuer_id: Bytes32
    name: str | None = None
    registered: bool
    keys: list[KeyOut] = []
    tx_hash: str | None = None
    block_number: int | None = None


class KeyCreate(BaseModel):
    key: Address = Field(description="The issuer's signing address (its private key stays with the agency).")
    valid_from: int | None = Field(None, ge=0, le=MAX_TIMESTAMP, description="Unix seconds; default now.")
    valid_until: int | None = Field(None, ge=0, le=MAX_TIMESTAMP, description="Unix seconds; default open-ended.")


class KeyRetire(BaseModel):
    model_config = examples({"valid_until": 1_798_761_600})  # 2027-01-01T00:00:00Z

    valid_until: int | None = Field(
        None,
        ge=0,
        le=MAX_TIMESTAMP,
        description="New end of validity (Unix); default now. A past time retires the key retroactively.",
    )


class TypeCreate(BaseModel):
    code: str = Field(
        pattern=_CODE, description="Short code; the type id is keccak256(code).", examples=["welding-course"]
    )
    name: str = Field(min_length=1, max_length=200, examples=["Welding course completion"])
    schema_hash: Bytes32 | None = Field(None, description="Hash of the credential schema; default keccak256(name).")


class TypeOut(BaseModel):
    type_id: Bytes32
    name: str | None = None
    registered: bool
    schema_hash: Bytes32 | None = None
    tx_hash: str | None = None
    block_number: int | None = None


class AllowIssuer(BaseModel):
    issuer_id: Bytes32


class TxOut(BaseModel):
    model_config = examples({"tx_hash": EXAMPLE_TX_HASH, "block_number": 18_342, "gas_used": 52_311})

    tx_hash: str
    block_number: int
    gas_used: int


# -- issuance -------------------------------------------------------------------------------------


class CredentialRequest(BaseModel):
    subject: Address | None = Field(None, description="Holder address (credentialSubject.id).")
    citizen_id: int | None = Field(
        None, ge=1, le=UINT256_MAX, description="Or the holder's citizen id in the citizen registry."
    )
    claims: dict[str, Any] = Field(
        min_length=1,
        description="Claims, salted and hashed one by one.",
        examples=[{"course": "Welding II", "hours": 40, "grade": "A"}],
    )
    valid_from: int | None = Field(None, ge=0, le=MAX_TIMESTAMP, description="Unix seconds; default now.")
    valid_until: int | None = Field(None, ge=0, le=MAX_TIMESTAMP, description="Unix seconds; default: no expiry.")

    @model_validator(mode="after")
    def _one_subject(self) -> CredentialRequest:
        if (self.subject is None) == (self.citizen_id is None):
            raise ValueError("give exactly one of subject (address) or citizen_id")
        return self


class IssueTypedDataCreate(CredentialRequest):
    issuer_id: Bytes32
    type_id: Bytes32
    key: Address = Field(description="The issuer key that will sign.")
    require_citizen: bool = Field(True, description="Refuse a subject that is not an active citizen.")


class CredentialDraft(BaseModel):
    """What the issuer signs, returned as is with the signatures."""

    credential: dict[str, Any] = Field(description="The EIP-712 `Credential` message (issuerId, typeId, subject, ...).")
    claims: list[dict[str, Any]] = Field(description="Claim entries with value, salt and digest.")
    key: Address
    deadline: int | None = Field(
        None, ge=0, le=UINT256_MAX, description="Deadline of the `Issue` message (single issuance)."
    )


class IssueTypedDataOut(BaseModel):
    draft: CredentialDraft
    credential_hash: Bytes32 = Field(description="EIP-712 digest of the Credential message: the anchored hash.")
    credential_typed_data: dict[str, Any] = Field(description="Sign this (eth_signTypedData_v4): the document's proof.")
    issue_typed_data: dict[str, Any] = Field(description="Sign this too: the on-chain `Issue` authorisation.")


class IssueCreate(BaseModel):
    draft: CredentialDraft
    credential_signature: Signature
    issue_signature: Signature


class IssueOut(BaseModel):
    document: dict[str, Any] = Field(description="The signed, anchored W3C-VC-shaped credential.")
    credential_hash: Bytes32
    anchor_id: Bytes32
    position: int = 0
    tx_hash: str
    block_number: int
    gas_used: int


class BatchTypedDataCreate(BaseModel):
    issuer_id: Bytes32
    type_id: Bytes32
    key: Address
    credentials: list[CredentialRequest] = Field(min_length=1, max_length=5000)
    require_citizen: bool = True


class BatchTypedDataOut(BaseModel):
    drafts: list[CredentialDraft]
    credential_hashes: list[Bytes32]
    credential_typed_data: list[dict[str, Any]]
    root: Bytes32
    deadline: int
    batch_typed_data: dict[str, Any] = Field(description="The on-chain `IssueBatch` authorisation to sign.")


class BatchCreate(BaseModel):
    issuer_id: Bytes32
    type_id: Bytes32
    key: Address
    deadline: int = Field(ge=0, le=UINT256_MAX)
    drafts: list[CredentialDraft] = Field(min_length=1, max_length=5000)
    credential_signatures: list[Signature]
    batch_signature: Signature


class BatchOut(BaseModel):
    root: Bytes32
    count: int
    documents: list[dict[str, Any]]
    tx_hash: str
    block_number: int
    gas_used: int


# -- status ---------------------------------------------------------------------------------------


class StatusAction(StrEnum):
    revoke = "revoke"
    suspend = "suspend"
    reinstate = "reinstate"


class CredentialRef(BaseModel):
    anchor_id: Bytes32 = Field(description="Credential hash (single) or batch root.")
    position: int = Field(0, ge=0, le=UINT256_MAX, description="0 for a single credential; leaf position in a batch.")


class StatusTypedDataCreate(BaseModel):
    issuer_id: Bytes32
    key: Address
    credentials: list[CredentialRef] = Field(min_length=1, max_length=1000)


class StatusChangeCreate(StatusTypedDataCreate):
    deadline: int = Field(ge=0, le=UINT256_MAX)
    nonce: int | None = Field(
        None, ge=0, le=UINT256_MAX, description="Required for suspend/reinstate; revoke has no nonce."
    )
    signature: Signature


class StatusChangeOut(BaseModel):
    model_config = examples(
        {
            "action": "revoke",
            "credentials": [
                {"anchor_id": ex.CREDENTIAL_HASH, "position": 0},
                {"anchor_id": EXAMPLE_HASH, "position": 7},
            ],
            "tx_hash": EXAMPLE_TX_HASH,
            "block_number": 18_342,
            "gas_used": 61_208,
        }
    )

    action: StatusAction
    credentials: list[CredentialRef]
    tx_hash: str
    block_number: int
    gas_used: int


class StatusOut(BaseModel):
    anchor_id: Bytes32
    position: int
    exists: bool
    batch: bool | None = None
    count: int | None = None
    issuer_id: Bytes32 | None = None
    type_id: Bytes32 | None = None
    key: Address | None = None
    anchored_at: int | None = None
    revoked: bool
    suspended: bool


# -- verification ---------------------------------------------------------------------------------


class VerifyCreate(BaseModel):
    model_config = examples({"document": ex.WITHHELD}, {"document": ex.DOCUMENT, "at": 1_830_297_600})

    document: dict[str, Any] = Field(description="A credential document (claims may be withheld).")
    at: int | None = Field(None, ge=0, description="Check expiry as of this Unix time; default now.")


class CheckOut(BaseModel):
    name: str
    status: str = Field(description="pass | fail | skipped")
    ok: bool
    detail: str


class VerifyOut(BaseModel):
    valid: bool
    verdict: str
    checks: list[CheckOut]
    credential_hash: Bytes32 | None = None
    issuer_id: Bytes32 | None = None
    type_id: Bytes32 | None = None
    subject: Address | None = None
    key: Address | None = None
    anchor_id: Bytes32 | None = None
    position: int | None = None
    anchored_at: int | None = None
    registry: Address | None = None
    chain_id: int | None = None
    at: int
    claims: dict[str, Any] = Field(description="The disclosed claims.")
    deployment: DeploymentRef = Field(description="The trusted deployment the document was checked against.")


class PresentationTypedDataCreate(BaseModel):
    document: dict[str, Any]
    audience: str = Field(
        min_length=1, max_length=200, description="Who the holder presents to.", examples=["https://employer.example"]
    )
    nonce: str = Field(min_length=8, max_length=200, description="The verifier's fresh challenge.")


class PresentationVerifyCreate(BaseModel):
    model_config = examples({"presentation": ex.PRESENTATION, "audience": ex.AUDIENCE, "nonce": ex.NONCE})

    presentation: dict[str, Any] = Field(
        description="VerifiablePresentation with one credential and the holder's EIP-712 proof."
    )
    audience: str = Field(min_length=1, max_length=200)
    nonce: str = Field(min_length=8, max_length=200, description="The nonce the verifier issued.")
    at: int | None = Field(None, ge=0, description="Check expiry as of this Unix time; default now.")


class PresentationVerifyOut(BaseModel):
    valid: bool
    verdict: str
    presenter: Address | None
    checks: list[CheckOut]
    credential: VerifyOut


class QrCreate(BaseModel):
    model_config = examples(
        {"url": f"https://credentials.seoul.go.kr/v/{ex.CREDENTIAL_HASH}"}, {"document": ex.WITHHELD}
    )

    document: dict[str, Any] | None = Field(None, description="Encode the (compact) document itself...")
    url: str | None = Field(None, max_length=2000, description="...or a link to it.")

    @model_validator(mode="after")
    def _one(self) -> QrCreate:
        if (self.document is None) == (self.url is None):
            raise ValueError("give exactly one of document or url")
        return self


#: The typed data an issuer key signs to revoke / suspend / reinstate (with its ``digest``).
StatusTypedDataOut = Annotated[dict[str, Any], Field(examples=[example_document("credentials-status-typed-data")])]
#: The ``Presentation`` typed data a holder signs (with its ``digest``).
PresentationTypedDataOut = Annotated[
    dict[str, Any], Field(examples=[example_document("credentials-presentation-typed-data")])
]
