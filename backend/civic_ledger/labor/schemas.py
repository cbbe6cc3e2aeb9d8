"""Request and response models of the labour area (`/labor`)."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from civic_ledger.platform.trust import DeploymentRef
from civic_ledger.types import UINT256_MAX, Address, Bytes32, Signature, Text, example_document, examples

Date = date  # a field named `date` shadows the type inside DailyEntry
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAY_NAMES: list[str] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

U32 = 2**32 - 1
U64 = 2**64 - 1

#: Weeks, entries and pay periods end by this day: year 9999 only marks an open-ended contract, and a
#: week or pay period (with its pay day) there would run past the last date there is.
LAST_RECORD_DAY = date(9998, 12, 31)


def _recordable(value: date) -> date:
    if value > LAST_RECORD_DAY:
        raise ValueError(
            f"{value} is too late: weeks and pay periods must end by {LAST_RECORD_DAY} (9999-12-31 only marks an "
            "open-ended contract)"
        )
    return value


#: A day of a week or pay period.
RecordDay = Annotated[date, AfterValidator(_recordable)]
#: The deadline of a signed message (Unix seconds; a uint256 on chain).
Deadline = Annotated[int, Field(ge=0, le=UINT256_MAX, description="Last valid block timestamp (Unix seconds).")]


# ------------------------------------------------------------------ shared


class ChainRef(BaseModel):
    """Where a record is on chain: enough to fetch and re-check it from any node."""

    event: str = Field(examples=["WeekConfirmed"])
    contract_address: Address
    tx_hash: str
    block_number: int
    block_hash: str | None = None
    log_index: int


class TypedDataOut(BaseModel):
    """EIP-712 typed data to sign (standard JSON, `eth_signTypedData_v4` shape)."""

    typed_data: dict[str, Any]
    digest: str = Field(description="The 32-byte hash that is signed, 0x-hex.")
    signer: Address = Field(description="Who must sign it.")
    deadline: int = Field(description="Last valid block timestamp (Unix seconds); send it back with the signature.")


class Signed(BaseModel):
    deadline: Deadline = Field(description="The `deadline` of the typed data that was signed.")
    signature: Signature = Field(description="65-byte ECDSA signature of the typed data, 0x-hex.")


# ------------------------------------------------------------------ minimum wage


class MinimumWageCreate(BaseModel):
    year: int = Field(ge=2019, le=9999, examples=[2027])
    hourly_wage: int = Field(ge=0, le=U32, description="KRW per hour.", examples=[10_700])
    office: Address = Field(description="The labour office signing (holds LABOR_OFFICE_ROLE).")
    nonce: int | None = Field(None, ge=0, le=UINT256_MAX, description="The office's nonce; filled in when omitted.")
    deadline: Deadline | None = Field(None, description="Filled in when omitted (now + 1 h).")


class MinimumWageSet(BaseModel):
    year: int = Field(ge=2019, le=9999)
    hourly_wage: int = Field(ge=0, le=U32)
    office: Address
    nonce: int = Field(ge=0, le=UINT256_MAX)
    deadline: Deadline
    signature: Signature


class MinimumWageOut(BaseModel):
    year: int
    hourly_wage: int
    set_by: Address | None = Field(None, description="The labour office; null for the preloaded table.")
    ref: ChainRef | None = None


# ------------------------------------------------------------------ contracts


class TermsCreate(BaseModel):
    """The terms the checks need; the full document stays off chain (only its hash is stored)."""

    employer: Address
    worker: Address = Field(description="The worker's citizen address (must be an active citizen).")
    document_hash: Bytes32 = Field(description="keccak-256 of the full signed contract document.")
    workplace_id: Bytes32 = Field(description="Hash identifying the workplace (e.g. keccak of its business number).")
    hourly_wage: int = Field(ge=0, le=U32, description="KRW per hour.", examples=[10_320])
    daily_minutes: int = Field(ge=0, le=1440, description="Contracted minutes per working day.", examples=[240])
    weekly_minutes: int = Field(
        ge=0, le=10080, description="Contracted minutes per week (870 = 14.5 h).", examples=[1200]
    )
    work_days: list[Weekday] = Field(
        description="Contracted working days.", examples=[["mon", "tue", "wed", "thu", "fri"]]
    )
    start_date: date = Field(examples=["2026-03-02"])
    end_date: date = Field(description="Last day; 9999-12-31 for an open-ended contract.", examples=["2026-12-31"])
    pay_cycle: Literal["weekly", "monthly"] = Field(examples=["weekly"])
    pay_day: int = Field(
        ge=0,
        le=31,
        description="Weekday 1 (Mon) … 7 (Sun) for weekly pay, day of month 1 … 31 for monthly.",
        examples=[5],
    )
    break_minutes: int = Field(
        ge=0,
        le=1440,
        description="Contracted unpaid break per working day, in minutes (LSA Art. 54: 30 min per 4 h worked, "
        "1 h per 8 h; less is registered and reported as a finding).",
        examples=[30],
    )
    five_or_more_employees: bool = Field(
        description="Whether the workplace ordinarily has five or more employees: the overtime, night and holiday "
        "premiums apply only then (LSA Art. 11 and 56, Part-time Workers Act Art. 6(3)). Signed by both parties and "
        "stored on chain.",
        examples=[True],
    )


class ContractTypedDataCreate(TermsCreate):
    deadline: Deadline | None = Field(
        None, description="Filled in when omitted (now + 1 day, time for both parties to sign)."
    )


class ContractCreate(BaseModel):
    terms: TermsCreate
    deadline: Deadline
    employer_signature: Signature
    worker_signature: Signature


class ContractTypedDataOut(TypedDataOut):
    contract_id: Bytes32 = Field(description="The id the contract will have once registered.")
    signers: list[Address] = Field(description="Both parties sign the same typed data: employer, worker.")


class ContractOut(BaseModel):
    contract_id: Bytes32
    terms: TermsCreate
    registered: ChainRef


class DocumentCheck(BaseModel):
    document_hash: Bytes32 | None = Field(None, description="keccak-256 of the document you hold.")
    document_text: Text | None = Field(None, description="Or the document's text (UTF-8); hashed with keccak-256.")


class DocumentCheckOut(BaseModel):
    contract_id: Bytes32
    matches: bool
    given_hash: Bytes32
    registered_hash: Bytes32
    message: str


# ------------------------------------------------------------------ weeks


class DailyEntry(BaseModel):
    """One shift. It belongs to the day it starts; an `end` earlier than `start` ends the next day
    (22:00–06:00). Break time is unpaid: worked = end − start − break."""

    date: Annotated[Date, AfterValidator(_recordable)] = Field(
        description="The day the shift starts.", examples=["2026-03-02"]
    )
    start: time = Field(examples=["09:00"])
    end: time = Field(description="Earlier than `start` (or equal): the shift ends the next day.", examples=["13:30"])
    break_minutes: int = Field(0, ge=0, le=1440, description="Unpaid break taken during the shift.", examples=[30])
    holiday: bool = Field(
        False, description="The day is a holiday (weekly or public paid holiday) for the worker: holiday work."
    )


class WeekCreate(BaseModel):
    week_start: RecordDay = Field(description="The Monday of the week.", examples=["2026-03-02"])
    entries: list[DailyEntry] = Field(description="Daily entries; their Merkle root goes on chain.", max_length=64)
    revision: int = Field(0, ge=0, le=255, description="0 for a new week, previous + 1 after a dispute.")


class WeekTypedDataCreate(WeekCreate):
    deadline: Deadline | None = None


class WeekRecord(WeekCreate, Signed):
    pass


class DisputeCreate(BaseModel):
    claimed_minutes: int = Field(ge=0, le=10080, description="Minutes the worker says they worked.", examples=[1350])
    claimed_days: list[Weekday] = Field(
        description="Days the worker says they worked.", examples=[["mon", "tue", "wed", "thu", "fri"]]
    )
    reason: str = Field(
        min_length=1,
        max_length=2000,
        description="Kept off chain; only its keccak-256 goes on chain.",
        examples=["Stayed until 14:00 on Wednesday and Friday to close the shop; the log shows 13:30."],
    )


class DisputeTypedDataCreate(DisputeCreate):
    deadline: Deadline | None = None


class DisputeRecord(DisputeCreate, Signed):
    pass


class ConfirmTypedDataCreate(BaseModel):
    model_config = examples({"deadline": 1_795_395_600})  # 2026-11-23T01:00:00Z: an hour to sign

    deadline: Deadline | None = None


class WeekEventOut(BaseModel):
    action: Literal["recorded", "confirmed", "disputed"]
    revision: int
    ref: ChainRef
    minutes_worked: int | None = None
    days_worked: list[str] | None = None
    entries_root: Bytes32 | None = None
    claimed_minutes: int | None = None
    claimed_days: list[str] | None = None
    reason_hash: Bytes32 | None = None
    entries: list[DailyEntry] | None = None


class WeekOut(BaseModel):
    contract_id: Bytes32
    week_start: date
    status: Literal["recorded", "confirmed", "disputed"]
    revision: int
    minutes_worked: int
    days_worked: list[str]
    entries_root: Bytes32
    entries: list[DailyEntry] = Field(default_factory=list, description="The shifts of the current revision.")
    history: list[WeekEventOut]


class EntryProofOut(BaseModel):
    entry: DailyEntry
    leaf: Bytes32
    proof: list[Bytes32]
    root: Bytes32


class WeekRecordOut(WeekOut):
    proofs: list[EntryProofOut] = Field(description="Merkle proof of each daily entry against the root on chain.")


# ------------------------------------------------------------------ statements


class StatementCreate(BaseModel):
    period_start: RecordDay = Field(description="First day of the pay period (a Monday, or the 1st for monthly pay).")
    period_end: RecordDay
    payment_date: date
    statement_hash: Bytes32 = Field(
        description="keccak-256 of the full statement (calculation basis, deduction items)."
    )
    base_pay: int = Field(ge=0, le=U64)
    holiday_pay: int = Field(0, ge=0, le=U64, description="Weekly holiday pay (주휴수당).")
    overtime_pay: int = Field(0, ge=0, le=U64)
    other_pay: int = Field(0, ge=0, le=U64)
    deductions: int = Field(0, ge=0, le=U64)
    revision: int = Field(0, ge=0, le=255, description="0 for the first statement of the period, +1 per correction.")

    @property
    def gross_pay(self) -> int:
        return self.base_pay + self.holiday_pay + self.overtime_pay + self.other_pay

    @model_validator(mode="after")
    def _gross_fits(self) -> StatementCreate:
        if self.gross_pay > U64:
            raise ValueError(
                f"base_pay + holiday_pay + overtime_pay + other_pay = {self.gross_pay} does not fit 64 bits (max {U64})"
            )
        return self


class StatementTypedDataCreate(StatementCreate):
    deadline: Deadline | None = None


class StatementRecord(StatementCreate, Signed):
    pass


class StatementOut(BaseModel):
    contract_id: Bytes32
    period_start: date
    period_end: date
    payment_date: date
    statement_hash: Bytes32
    gross_pay: int
    base_pay: int
    holiday_pay: int
    overtime_pay: int
    other_pay: int
    deductions: int
    net_pay: int
    revision: int
    ref: ChainRef


# ------------------------------------------------------------------ compliance


class FindingOut(BaseModel):
    kind: str = Field(examples=["weekly_holiday_pay_unpaid"])
    legal_basis: str = Field(examples=["Labour Standards Act Art. 55(1); Enforcement Decree annex 2"])
    period_start: date
    period_end: date
    amount_owed: int = Field(description="KRW still owed (integer; 0 for findings without an amount).")
    message: str
    weeks: list[date]
    details: dict[str, Any] = Field(
        description="Figures of the finding; money findings carry `hours`, `hourly_rate`, `percent`, `amount` "
        "(owed for those hours) and `lines` (hours × rate per rate)."
    )


class PeriodOut(BaseModel):
    period_start: date
    period_end: date
    due_date: date
    weeks: list[date]
    minutes_worked: int
    hourly_rate_owed: int
    base_owed: int = Field(description="Straight time at 100 %.")
    overtime_owed: int = Field(description="Overtime minutes at 150 % (workplaces of five or more).")
    holiday_work_owed: int = Field(description="Holiday work at 150 % up to 8 h a day, 200 % beyond.")
    night_owed: int = Field(description="The +50 % premium for 22:00–06:00.")
    holiday_owed: int = Field(description="Weekly holiday pay (주휴수당).")
    overtime_minutes: int = Field(
        description="Minutes beyond the contract or 8 h a day / 40 h a week (premium or not)."
    )
    holiday_work_minutes: int = Field(description="Minutes worked on holidays (premium or not).")
    night_minutes: int = Field(description="Minutes worked 22:00–06:00 (premium or not).")
    holiday_weeks: list[date]
    paid_gross: int | None
    statement_payment_date: date | None
    amount_short: int


class RuleOut(BaseModel):
    rule: str
    legal_basis: str
    applies: bool
    reason: str


class ComplianceOut(BaseModel):
    contract_id: Bytes32
    as_of: date
    total_amount_owed: int
    findings: list[FindingOut]
    periods: list[PeriodOut]
    rules: list[RuleOut] = Field(description="Which rules were applied to this contract, and why.")
    rounding: str


_SECTIONS = ("contract", "weeks", "statements", "minimum_wages", "compliance")


class VerifyCheckOut(BaseModel):
    record: str
    ok: bool
    problem: str | None = None


class VerifyOut(BaseModel):
    model_config = examples(
        {
            "ok": True,
            "chain_id": 31337,
            "records_checked": 3,
            "problems": [],
            "checks": [
                {"record": "deployment", "ok": True, "problem": None},
                {"record": "LaborContractRegistered tx 0xe1b1b73e91… log 0", "ok": True, "problem": None},
                {"record": "WeekRecorded tx 0x800ff7a60a… log 0", "ok": True, "problem": None},
                {"record": "WeekConfirmed tx 0x175c514a07… log 1", "ok": True, "problem": None},
                {"record": "completeness", "ok": True, "problem": None},
                *({"record": f"section {s}", "ok": True, "problem": None} for s in _SECTIONS),
            ],
            "deployment": {
                "chain_id": 31337,
                "manifest": "server deployment",
                "manifest_sha256": "5d41f6c1b1e0a8c6f2b9a7d3e4c5b6a7980f1e2d3c4b5a69788f9e0d1c2b3a4f",
                "contracts": {"LaborRecords": "0xa513E6E4b8f2a923D98304ec87F64353C4D5C853"},
            },
        }
    )

    ok: bool
    chain_id: int
    records_checked: int
    problems: list[str]
    checks: list[VerifyCheckOut]
    deployment: DeploymentRef = Field(description="The trusted deployment the bundle was checked against.")


#: The typed data a labour office signs (``typed_data``, its ``digest``, the ``signer``, the ``nonce``).
MinimumWageTypedDataOut = Annotated[dict[str, Any], Field(examples=[example_document("labor-minimum-wage-typed-data")])]
#: An evidence bundle (``format`` ``civic-ledger/labor-evidence/1``): terms, weeks, statements, findings
#: and every chain record with its event ABI.
EVIDENCE_BUNDLE_EXAMPLE = example_document("labor-evidence-bundle")
EvidenceBundle = Annotated[dict[str, Any], Field(examples=[EVIDENCE_BUNDLE_EXAMPLE])]
