"""Request and response models of the mileage API (제로페이 연계 마일리지)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from civic_ledger.types import (
    EXAMPLE_CITIZEN,
    EXAMPLE_TX_HASH,
    UINT256_MAX,
    Address,
    Bytes32,
    Signature,
    Text,
    examples,
)

_OTHER_CITIZEN = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"

U32 = 2**32 - 1
U40 = 2**40 - 1
U64 = 2**64 - 1

TtlField = Field(3600, ge=30, le=7 * 86400, description="Seconds the signed message stays valid (from chain time).")


# Mixed in before a message's fields (``class AwardBatchCreate(SignedMessage, AwardBatch)``): pydantic lists the fields
# of the base furthest in the MRO first, so the message's fields come first, then these.


class TypedDataRequest(BaseModel):
    """Asks for the typed data of a message."""

    ttl_s: int = TtlField


class SignedMessage(BaseModel):
    """A message sent back signed: the deadline it was signed with; the message declares its `signature`."""

    deadline: int = Field(ge=0, le=UINT256_MAX)


class Tx(BaseModel):
    tx_hash: str | None = Field(
        None, description="Transaction that made the change (none when nothing was sent).", examples=[EXAMPLE_TX_HASH]
    )
    block_number: int | None = Field(None, examples=[18_342])
    gas_used: int | None = Field(None, examples=[84_117])


# -- policy --------------------------------------------------------------------------------


class PolicyOut(BaseModel):
    epoch_origin: int = Field(description="Unix time epoch 0 starts (the contract's deployment).")
    epoch_length_s: int = Field(description="Length of an epoch in seconds (30 days).")
    validity_epochs: int = Field(description="Points credited in epoch e are spendable until epoch e + validity - 1.")
    current_epoch: int
    current_epoch_start: int
    chain_time: int = Field(description="Timestamp of the latest block.")
    contract: Address


class AdvanceTime(BaseModel):
    model_config = examples({"epochs": 1, "seconds": 0}, {"seconds": 86_400})

    epochs: int = Field(0, ge=0, le=120, description="Whole epochs (30 days each) to move ahead.")
    seconds: int = Field(0, ge=0, le=10 * 365 * 86400, description="Extra seconds to move ahead.")


class ValidityUpdate(BaseModel):
    model_config = examples({"validity_epochs": 6})

    validity_epochs: int = Field(ge=1, le=7, description="Epochs points stay valid (only before the first merchant).")


# -- programs ------------------------------------------------------------------------------


class ProgramCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=100, examples=["Eco mileage (에코마일리지)"])
    awarder: Address = Field(description="The program's key: it signs every award of the program.")
    annual_cap: int = Field(
        ge=1, le=U40, description="Points the program may award per calendar year (KST).", examples=[50_000_000]
    )


class ProgramUpdate(BaseModel):
    awarder: Address | None = Field(None, description="New awarder; null closes the program.")
    annual_cap: int = Field(ge=1, le=U40)


class ProgramOut(Tx):
    program_id: int
    name: str
    awarder: Address | None = Field(description="None when the program is closed.")
    annual_cap: int
    awarded_in_year: int = Field(description="Points awarded in `year` (legacy imports are not counted).")
    year: int
    open: bool


# -- awards --------------------------------------------------------------------------------


class AwardItem(BaseModel):
    account: Address = Field(description="The citizen's current address.")
    amount: int = Field(ge=1, le=U32, examples=[1000])
    ref: int = Field(
        ge=0, le=U64, description="The program's record number; one award per (program, ref).", examples=[20261122001]
    )


class AwardTypedDataRequest(TypedDataRequest, AwardItem): ...


class AwardCreate(AwardItem):
    deadline: int = Field(ge=0, le=UINT256_MAX, description="As in the signed typed data.")
    signature: Signature = Field(description="The program awarder's EIP-712 signature of `Award`.")


class AwardOut(Tx):
    program_id: int
    account: Address
    citizen_id: int | None
    amount: int
    ref: int
    awarded: bool = Field(description="False when the reference was awarded before (idempotent: nothing changed).")
    epoch: int | None = None


class AwardBatch(BaseModel):
    awards: list[AwardItem] = Field(
        min_length=1,
        max_length=256,
        examples=[
            [
                {"account": EXAMPLE_CITIZEN, "amount": 1000, "ref": 20261122001},
                {"account": _OTHER_CITIZEN, "amount": 2500, "ref": 20261122002},
            ]
        ],
    )


class AwardBatchTypedDataRequest(TypedDataRequest, AwardBatch): ...


class AwardBatchCreate(SignedMessage, AwardBatch):
    signature: Signature = Field(description="The awarder's EIP-712 signature of `AwardBatch`.")


class SkippedOut(BaseModel):
    account: Address
    ref: int | None = None
    reason: str = Field(examples=["Duplicate", "NotActiveCitizen", "AlreadyImported", "ZeroAmount"])


class CreditedOut(BaseModel):
    citizen_id: int
    amount: int
    ref: int | None = None


class AwardBatchOut(Tx):
    model_config = examples(
        {
            "tx_hash": EXAMPLE_TX_HASH,
            "block_number": 18_342,
            "gas_used": 142_655,
            "program_id": 1,
            "awarded_count": 1,
            "credited": [{"citizen_id": 7, "amount": 1000, "ref": 20261122001}],
            "skipped": [{"account": _OTHER_CITIZEN, "ref": 20261122002, "reason": "NotActiveCitizen"}],
            "epoch": 12,
        }
    )

    program_id: int
    awarded_count: int
    credited: list[CreditedOut]
    skipped: list[SkippedOut]
    epoch: int | None = None


class LegacyItem(BaseModel):
    account: Address
    amount: int = Field(ge=1, le=U32)


class LegacyImport(BaseModel):
    entries: list[LegacyItem] = Field(
        min_length=1,
        max_length=256,
        examples=[[{"account": EXAMPLE_CITIZEN, "amount": 12_800}, {"account": _OTHER_CITIZEN, "amount": 350}]],
    )


class LegacyTypedDataRequest(TypedDataRequest, LegacyImport): ...


class LegacyImportCreate(SignedMessage, LegacyImport):
    signature: Signature = Field(description="The awarder's EIP-712 signature of `ImportLegacy`.")


class LegacyImportOut(Tx):
    model_config = examples(
        {
            "tx_hash": EXAMPLE_TX_HASH,
            "block_number": 18_342,
            "gas_used": 118_904,
            "program_id": 1,
            "imported_count": 1,
            "credited": [{"citizen_id": 7, "amount": 12_800, "ref": None}],
            "skipped": [{"account": _OTHER_CITIZEN, "ref": None, "reason": "AlreadyImported"}],
        }
    )

    program_id: int
    imported_count: int
    credited: list[CreditedOut]
    skipped: list[SkippedOut]


class TypedDataOut(BaseModel):
    typed_data: dict[str, Any] = Field(description="EIP-712 JSON (eth_signTypedData_v4): sign it unchanged.")
    signer: Address = Field(description="Who must sign.")
    deadline: int
    nonce: int | None = None
    digest: str


# -- merchants -----------------------------------------------------------------------------


class MerchantCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=100, examples=["Mangwon market bakery"])
    business_number_hash: Bytes32 = Field(
        description="keccak256(salt || business registration number digits): the number itself stays off chain."
    )
    district: int = Field(ge=1, le=25, description="District code 1..25.", examples=[14])

    @field_validator("business_number_hash")
    @classmethod
    def _not_zero(cls, value: str) -> str:
        if int(value, 16) == 0:
            raise ValueError("must not be zero: give keccak256(salt || business registration number digits)")
        return value


class MerchantOut(Tx):
    merchant_id: int
    name: str
    district: int
    active: bool
    business_number_hash: Bytes32
    unsettled: int = Field(description="Redeemed points the treasury has not settled yet.")
    redeemed: int


class SettlementCreate(BaseModel):
    period: int | None = Field(
        None, ge=0, le=U32, description="Period label, e.g. the epoch number or 202611 (default: from `month`)."
    )
    month: str | None = Field(
        None,
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        examples=["2026-11"],
        description="Settle what was redeemed in this calendar month (Seoul time) and not settled for it yet; "
        "the period label is then YYYYMM. Without it, `amount` or everything unsettled is settled.",
    )
    amount: int | None = Field(None, ge=1, le=UINT256_MAX, description="Points to settle; default: all unsettled.")

    @model_validator(mode="after")
    def _period_given(self) -> SettlementCreate:
        if self.month is not None:
            label = int(self.month.replace("-", ""))
            if self.period not in (None, label):
                raise ValueError(f"period {self.period} does not match month {self.month} (its label is {label})")
            self.period = label
        elif self.period is None:
            raise ValueError("give `period` (a label) or `month` (YYYY-MM)")
        return self


class SettlementOut(Tx):
    model_config = examples(
        {
            "tx_hash": EXAMPLE_TX_HASH,
            "block_number": 18_342,
            "gas_used": 61_877,
            "merchant_id": 3,
            "period": 202611,
            "amount": 48_500,
            "unsettled_after": 0,
        }
    )

    merchant_id: int
    period: int
    amount: int
    unsettled_after: int


# -- redemptions ---------------------------------------------------------------------------


class RedemptionTypedDataRequest(BaseModel):
    citizen: Address
    merchant_id: int = Field(ge=1, le=U32)
    amount: int = Field(ge=1, le=7 * (2**28 - 1))
    order_ref: Bytes32 = Field(description="The merchant's order reference (e.g. keccak256 of the order id).")
    ttl_s: int = TtlField


class RedemptionCreate(BaseModel):
    citizen: Address
    merchant_id: int = Field(ge=1, le=U32)
    amount: int = Field(ge=1, le=7 * (2**28 - 1))
    order_ref: Bytes32
    nonce: int = Field(ge=0, le=UINT256_MAX)
    deadline: int = Field(ge=0, le=UINT256_MAX)
    signature: Signature = Field(description="The citizen's EIP-712 signature of `Redeem`.")


class ExpiryOut(BaseModel):
    epoch: int
    amount: int


class RedemptionOut(Tx):
    citizen: Address
    citizen_id: int
    merchant_id: int
    amount: int
    order_ref: Bytes32
    epoch: int
    expired: list[ExpiryOut] = Field(description="Expired buckets written off by this redemption.")
    balance_after: int


# -- balances and reports ------------------------------------------------------------------


class BucketOut(BaseModel):
    epoch: int
    amount: int
    expires_at_epoch: int = Field(description="First epoch in which these points are no longer spendable.")
    expires_at: int = Field(description="Unix time of that epoch's start.")
    expired: bool


class BalanceOut(BaseModel):
    account: Address
    citizen_id: int
    balance: int = Field(description="Unexpired points.")
    expired_unrealised: int = Field(description="Expired points not yet written off on chain.")
    current_epoch: int
    nonce: int = Field(description="Next redemption nonce.")
    buckets: list[BucketOut]


class LiabilityRow(BaseModel):
    program_id: int
    name: str
    awarded: int
    imported: int
    redeemed: int
    expired: int
    outstanding: int = Field(description="awarded + imported − redeemed − expired.")


class ChainCheckOut(BaseModel):
    """What a report checked against the contract itself, in a bounded number of O(1) calls.

    The contract keeps no total of outstanding points (balances live in per-citizen rings), so a
    report can not compare a grand total with the chain without visiting every citizen; it checks
    the citizens whose points changed last, and the program and merchant counters."""

    block_number: int = Field(description="Index block the check ran at (the chain had not moved on).")
    citizens_checked: int = Field(description="Citizens whose `pointsOf` was compared (those changed last).")
    citizens_mismatched: list[int] = Field(description="Citizen ids whose balance or unrealised expiry differs.")
    programs_index: int
    programs_chain: int = Field(description="`programCount()`.")
    merchants_index: int
    merchants_chain: int = Field(description="`merchantCount()`.")
    ok: bool


class LiabilityOut(BaseModel):
    model_config = examples(
        {
            "block_number": 18_342,
            "current_epoch": 12,
            "rows": [
                {
                    "program_id": 1,
                    "name": "Eco mileage (에코마일리지)",
                    "awarded": 3_250_000,
                    "imported": 410_000,
                    "redeemed": 1_180_500,
                    "expired": 95_000,
                    "outstanding": 2_384_500,
                }
            ],
            "total": {
                "program_id": 0,
                "name": "TOTAL",
                "awarded": 3_250_000,
                "imported": 410_000,
                "redeemed": 1_180_500,
                "expired": 95_000,
                "outstanding": 2_384_500,
            },
            "on_chain_balance_total": 2_384_500,
            "balanced": True,
            "chain_check": {
                "block_number": 18_342,
                "citizens_checked": 64,
                "citizens_mismatched": [],
                "programs_index": 1,
                "programs_chain": 1,
                "merchants_index": 3,
                "merchants_chain": 3,
                "ok": True,
            },
        }
    )

    block_number: int = Field(description="The indexed block the report is computed at (the head when asked).")
    current_epoch: int
    rows: list[LiabilityRow]
    total: LiabilityRow
    on_chain_balance_total: int = Field(
        description="Σ of every citizen's unexpired balance: the contract's per-citizen buckets as indexed from "
        "its events, summed per epoch (not from the program totals)."
    )
    balanced: bool = Field(
        description="Whether Σ outstanding equals the balance total and every check against the chain passed."
    )
    chain_check: ChainCheckOut | None = None


class MerchantPeriodRow(BaseModel):
    merchant_id: int
    name: str
    epoch: int
    period_start: int
    period_end: int
    redemptions: int
    points: int


class MerchantTotalRow(BaseModel):
    merchant_id: int
    name: str
    redeemed: int
    settled: int
    unsettled: int


class MerchantReportOut(BaseModel):
    model_config = examples(
        {
            "block_number": 18_342,
            "rows": [
                {
                    "merchant_id": 3,
                    "name": "Mangwon market bakery",
                    "epoch": 12,
                    "period_start": 1_793_923_200,
                    "period_end": 1_796_515_200,
                    "redemptions": 41,
                    "points": 48_500,
                }
            ],
            "merchants": [
                {
                    "merchant_id": 3,
                    "name": "Mangwon market bakery",
                    "redeemed": 48_500,
                    "settled": 48_500,
                    "unsettled": 0,
                }
            ],
        }
    )

    block_number: int
    rows: list[MerchantPeriodRow]
    merchants: list[MerchantTotalRow]


class StatementEntry(BaseModel):
    block_number: int
    tx_hash: str
    kind: str = Field(examples=["award", "legacy", "redemption", "expiry"])
    epoch: int
    amount: int = Field(description="Positive for credits, negative for redemptions and expiries.")
    program_id: int | None = None
    merchant_id: int | None = None
    ref: int | None = None
    order_ref: str | None = None


class StatementOut(BaseModel):
    citizen_id: int
    account: Address | None
    current_epoch: int
    entries: list[StatementEntry]
    awarded: int
    imported: int
    redeemed: int
    expired: int = Field(description="Written off on chain plus expired-but-not-yet-written-off.")
    expired_unrealised: int
    balance: int
    conserved: bool = Field(description="awarded + imported == balance + redeemed + expired.")
    block_number: int | None = Field(None, description="The indexed block the statement is computed at.")
