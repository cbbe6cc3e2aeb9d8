"""Request and response models of the payments API (amounts are whole won)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from civic_ledger.types import (
    EXAMPLE_AGENCY,
    EXAMPLE_HASH,
    EXAMPLE_OPERATOR,
    EXAMPLE_TX_HASH,
    UINT256_MAX,
    Address,
    Bytes32,
    Signature,
    examples,
)

PurposeName = Literal["labour", "subcontract", "material", "equipment", "prime"]
ParticipantRole = Literal["subcontractor", "supplier", "worker"]
GroundName = Literal["three_party_agreement", "prime_insolvency", "two_missed_instalments", "no_payment_guarantee"]
Won = int

_MAX_WON = 2**80 - 1


class _Signed(BaseModel):
    """Fields every relayed action carries besides its own."""

    nonce: int = Field(ge=0, le=UINT256_MAX, description="The signer's current nonce (from the typed data).")
    deadline: int = Field(ge=0, le=UINT256_MAX, description="Last valid block timestamp (Unix seconds), as signed.")
    signature: Signature = Field(description="65-byte EIP-712 signature of the typed data by the signer.")


class _Unsigned(BaseModel):
    """Typed-data requests: nonce and deadline are filled in when not given."""

    nonce: int | None = Field(None, ge=0, le=UINT256_MAX, description="Default: the signer's current nonce.")
    deadline: int | None = Field(None, ge=0, le=UINT256_MAX, description="Default: one hour from now.")


# -- participants and projects ---------------------------------------------------------------


class ParticipantIn(BaseModel):
    account: Address = Field(description="The participant's address (a worker's citizen key).")
    role: ParticipantRole
    employer: Address | None = Field(
        None, description="Workers only: the prime or a subcontractor of the project, who confirms their labour lines."
    )
    contract_amount: Won = Field(0, ge=0, le=2**88 - 1, description="Contract amount in won (0 for workers).")

    @model_validator(mode="after")
    def _employer_for_workers(self) -> ParticipantIn:
        if self.role == "worker" and self.employer is None:
            raise ValueError("a worker needs an employer (the prime or a subcontractor)")
        if self.role != "worker" and self.employer is not None:
            raise ValueError("only workers have an employer")
        return self


class RegisterProjectFields(BaseModel):
    project_ref: Bytes32 = Field(description="Hash of the public works contract document.")
    prime: Address = Field(description="The prime contractor; it submits claims.")
    contract_amount: Won = Field(
        ge=0, le=2**88 - 1, description="Prime contract amount in won.", examples=[1_200_000_000]
    )
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=200)
    client: Address = Field(description="The city department (CLIENT_ROLE) that signs.")


class RegisterProjectTypedData(RegisterProjectFields, _Unsigned):
    pass


class RegisterProjectCreate(RegisterProjectFields, _Signed):
    pass


class AddParticipantsFields(BaseModel):
    participants: list[ParticipantIn] = Field(min_length=1, max_length=200)
    client: Address


class AddParticipantsTypedData(AddParticipantsFields, _Unsigned):
    pass


class AddParticipantsCreate(AddParticipantsFields, _Signed):
    pass


class FundFields(BaseModel):
    purpose: PurposeName = Field(description="The bucket to fund.")
    amount: Won = Field(gt=0, le=_MAX_WON, examples=[50_000_000])
    client: Address = Field(description="The project's client; the won come from its account (permit first).")


class FundTypedData(FundFields, _Unsigned):
    pass


class FundCreate(FundFields, _Signed):
    pass


# -- claims ------------------------------------------------------------------------------------


class LineIn(BaseModel):
    payee: Address
    purpose: PurposeName
    amount: Won = Field(gt=0, le=_MAX_WON)
    evidence: Bytes32 = Field(description="Hash of the time sheet, invoice or delivery note.")


class SubmitClaimFields(BaseModel):
    lines: list[LineIn] = Field(min_length=1, max_length=128)
    prime: Address = Field(description="The project's prime contractor, who signs.")


class SubmitClaimTypedData(SubmitClaimFields, _Unsigned):
    pass


class SubmitClaimCreate(SubmitClaimFields, _Signed):
    pass


class ConfirmTypedData(_Unsigned):
    confirmer: Address = Field(description="A worker's employer (labour lines) or the prime (subcontract lines).")
    lines: list[int] | None = Field(
        None, description="Line indexes to confirm. Default: every unconfirmed line this confirmer is responsible for."
    )


class ConfirmCreate(_Signed):
    confirmer: Address
    lines: int = Field(gt=0, lt=2**128, description="Bit mask of the lines (bit i = line i), as signed.")


class ApproveFields(BaseModel):
    inspector: Address = Field(description="An account with INSPECTOR_ROLE.")


class ApproveTypedData(ApproveFields, _Unsigned):
    pass


class ApproveCreate(ApproveFields, _Signed):
    pass


class DirectPaymentFields(BaseModel):
    line: int = Field(ge=0, le=127, description="Index of a subcontract line of the claim.")
    ground: GroundName = Field(description="Legal ground of the direct payment.")
    client: Address


class DirectPaymentTypedData(DirectPaymentFields, _Unsigned):
    pass


class DirectPaymentCreate(DirectPaymentFields, _Signed):
    pass


class CloseFields(BaseModel):
    client: Address


class CloseTypedData(CloseFields, _Unsigned):
    pass


class CloseCreate(CloseFields, _Signed):
    pass


class WithdrawFields(BaseModel):
    to: Address = Field(description="Where the credit goes (for a worker: an address of the same citizen).")


class WithdrawTypedData(WithdrawFields, _Unsigned):
    pass


class WithdrawCreate(WithdrawFields, _Signed):
    pass


class PermitFields(BaseModel):
    owner: Address = Field(description="The account whose won the escrow may pull (a client department).")
    value: Won = Field(ge=0, lt=2**256, description="Allowance granted to the escrow contract.")


class PermitTypedData(PermitFields, _Unsigned):
    pass


class PermitCreate(PermitFields, _Signed):
    pass


# -- operator / treasury -----------------------------------------------------------------------


class RoleGrant(BaseModel):
    role: Literal["client", "inspector"]
    account: Address


class MintCreate(BaseModel):
    to: Address
    amount: Won = Field(gt=0, le=_MAX_WON)


class BlockCreate(BaseModel):
    account: Address
    blocked: bool = True


# -- outputs -----------------------------------------------------------------------------------


class TypedDataOut(BaseModel):
    action: str = Field(examples=["fund"])
    signer: Address = Field(description="Who must sign.")
    typed_data: dict[str, Any] = Field(description="Standard EIP-712 JSON (eth_signTypedData_v4).")


class EventOut(BaseModel):
    event: str
    args: dict[str, Any]
    log_index: int


class TxOut(BaseModel):
    model_config = examples(
        {
            "action": "register_project",
            "tx_hash": EXAMPLE_TX_HASH,
            "block_number": 18_342,
            "gas_used": 213_560,
            "project_id": 2,
            "claim_id": None,
            "events": [
                {
                    "event": "ProjectRegistered",
                    "args": {
                        "projectId": 2,
                        "client": EXAMPLE_OPERATOR,
                        "prime": EXAMPLE_AGENCY,
                        "projectRef": EXAMPLE_HASH,
                        "contractAmount": 1_200_000_000,
                    },
                    "log_index": 0,
                }
            ],
        }
    )

    action: str
    tx_hash: str
    block_number: int
    gas_used: int
    project_id: int | None = None
    claim_id: int | None = None
    events: list[EventOut]


class BucketOut(BaseModel):
    purpose: PurposeName
    funded: Won
    paid: Won
    refunded: Won
    balance: Won


class ParticipantOut(BaseModel):
    account: Address
    role: str
    employer: Address | None
    contract_amount: Won


class ProjectOut(BaseModel):
    project_id: int
    client: Address
    prime: Address
    registered_at: int
    closed: bool
    claim_count: int
    buckets: list[BucketOut]
    participants: list[ParticipantOut]


class LineOut(BaseModel):
    index: int
    payee: Address
    purpose: PurposeName
    amount: Won
    evidence: str | None
    confirmer: Address | None = Field(description="Who must confirm it (None: no confirmation needed).")
    confirmed: bool
    paid: bool
    interest_if_paid_now: Won = Field(description="Late interest a subcontract line would carry if paid now.")


class ClaimOut(BaseModel):
    model_config = examples(
        {
            "claim_id": 1,
            "project_id": 2,
            "submitted_at": 1_795_219_200,
            "approved_at": 1_795_305_600,
            "paid_at": 1_795_392_000,
            "subcontract_due": 1_796_688_000,
            "total": 60_000_000,
            "settled": True,
            "lines": [
                {
                    "index": 0,
                    "payee": EXAMPLE_AGENCY,
                    "purpose": "subcontract",
                    "amount": 48_000_000,
                    "evidence": EXAMPLE_HASH,
                    "confirmer": None,
                    "confirmed": True,
                    "paid": True,
                    "interest_if_paid_now": 0,
                },
                {
                    "index": 1,
                    "payee": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
                    "purpose": "labour",
                    "amount": 12_000_000,
                    "evidence": "0x" + "7c" * 32,
                    "confirmer": EXAMPLE_AGENCY,
                    "confirmed": True,
                    "paid": True,
                    "interest_if_paid_now": 0,
                },
            ],
        }
    )

    claim_id: int
    project_id: int
    submitted_at: int
    approved_at: int | None
    paid_at: int | None = Field(description="When the client first paid the claim (its first settlement).")
    subcontract_due: int | None = Field(description="paid_at + 15 days: subcontract lines paid later are late.")
    total: Won
    settled: bool
    lines: list[LineOut]


class CreditOut(BaseModel):
    payee: Address
    withdrawable: Won
    balance: Won = Field(description="KRW token balance.")
    blocked: bool


class BalanceOut(BaseModel):
    account: Address
    balance: Won
    allowance_to_escrow: Won
    blocked: bool
