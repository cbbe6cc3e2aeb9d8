"""Request and response models of the M-Voting API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from civic_ledger.types import EXAMPLE_TX_HASH, UINT64_MAX, Address, Bytes32, Signature, Text, Uint256, examples

BallotTypeName = Literal["single", "approval", "ranked"]
SecrecyName = Literal["public", "sealed", "encrypted"]
EligibilityName = Literal["all_citizens", "districts", "age_band", "census"]


class PollDraft(BaseModel):
    """A poll to be created; the agency signs the typed data built from it."""

    question: Text = Field(
        min_length=1, max_length=2000, examples=["Should the Cheonggyecheon night market run all year?"]
    )
    options: list[Text] = Field(
        min_length=2, max_length=32, description="Option texts, 2..32.", examples=[["Yes", "No"]]
    )
    ballot_type: BallotTypeName = Field(
        "single",
        description="`single` (one option), `approval` (up to `max_choices` options) or `ranked` (rank up to `max_choices`, Borda tally).",
    )
    max_choices: int | None = Field(
        None,
        ge=1,
        le=32,
        description="Approval: most options one ballot may approve; ranked: most ranks; single: 1. Default: 1 for single, else the number of options.",
    )
    secrecy: SecrecyName = Field(
        "public",
        description="`public` (running tally), `sealed` (commit-reveal: no tally until close) or `encrypted` "
        "(threshold ElGamal: trustees named after creation run a DKG before `opens_at`; only the sum is decrypted).",
    )
    opens_at: int | None = Field(
        None, ge=0, le=UINT64_MAX, description="First second of voting (Unix). Default: now (chain time)."
    )
    closes_at: int | None = Field(
        None, ge=0, le=UINT64_MAX, description="End of voting (exclusive, Unix). Give this or `duration_s`."
    )
    duration_s: int | None = Field(
        None,
        ge=1,
        le=UINT64_MAX,
        description="Voting length in seconds from `opens_at`, when `closes_at` is not given.",
    )
    reveal_ends_at: int | None = Field(
        None,
        ge=0,
        le=UINT64_MAX,
        description="Sealed polls: end of the reveal window. Default: `closes_at + reveal_window_s`.",
    )
    reveal_window_s: int = Field(
        86_400,
        ge=1,
        le=UINT64_MAX,
        description="Sealed polls: reveal window length when `reveal_ends_at` is not given.",
    )
    eligibility: EligibilityName = Field(
        "all_citizens", description="`all_citizens`, `districts`, `age_band` or `census` (Merkle root of addresses)."
    )
    districts: list[int] = Field(
        default_factory=list,
        max_length=25,
        description="District codes 1..25 that may vote (districts / age_band).",
        examples=[[1, 14]],
    )
    min_birth_year: int = Field(0, ge=0, le=65535, description="Earliest birth year allowed (inclusive), 0 = none.")
    max_birth_year: int = Field(0, ge=0, le=65535, description="Latest birth year allowed (inclusive), 0 = none.")
    census_root: Bytes32 | None = Field(None, description="Census polls: Merkle root over voter addresses.")
    eligible_count: int = Field(
        0, ge=0, le=2**32 - 1, description="Size of the electorate if known (for turnout), 0 = unknown."
    )
    creator: Address = Field(description="The agency key (holds POLL_ADMIN_ROLE) that signs the poll.")
    ttl_s: int = Field(3600, ge=30, le=7 * 86_400, description="Validity of the signature from now.")

    @model_validator(mode="after")
    def _schedule(self) -> PollDraft:
        if self.closes_at is None and self.duration_s is None:
            raise ValueError("give closes_at or duration_s")
        for d in self.districts:
            if not 1 <= d <= 25:
                raise ValueError(f"district {d} is not a district code (1..25)")
        return self


class PollFields(BaseModel):
    """The signed `CreatePoll` message, field by field (API names)."""

    question: Text = Field(min_length=1, max_length=2000)
    options: list[Text] = Field(min_length=2, max_length=32)
    ballot_type: BallotTypeName
    max_choices: int = Field(ge=1, le=32)
    secrecy: SecrecyName
    opens_at: int = Field(ge=0, lt=2**64)
    closes_at: int = Field(ge=0, lt=2**64)
    reveal_ends_at: int = Field(0, ge=0, lt=2**64)
    eligibility: EligibilityName
    districts: list[int] = Field(default_factory=list, max_length=25)
    min_birth_year: int = Field(0, ge=0, le=65535)
    max_birth_year: int = Field(0, ge=0, le=65535)
    census_root: Bytes32 | None = None
    eligible_count: int = Field(0, ge=0, le=2**32 - 1)
    creator: Address
    nonce: Uint256
    deadline: Uint256

    @model_validator(mode="after")
    def _district_codes(self) -> PollFields:
        for d in self.districts:
            if not 1 <= d <= 25:
                raise ValueError(f"district {d} is not a district code (1..25)")
        return self


class PollCreate(PollFields):
    """`fields` from the typed-data answer plus the creator's signature."""

    signature: Signature = Field(description="65-byte signature of the `CreatePoll` typed data by `creator`.")


class TypedDataOut(BaseModel):
    typed_data: dict[str, Any] = Field(description="EIP-712 typed data (eth_signTypedData_v4 JSON) to sign.")
    fields: dict[str, Any] = Field(description="The message fields to post back with the signature.")
    digest: Bytes32 = Field(description="The EIP-712 digest the signature covers (for a ballot: its receipt hash).")


class OptionOut(BaseModel):
    index: int
    text: str


class PollOut(BaseModel):
    poll_id: int
    question: str
    options: list[OptionOut]
    ballot_type: BallotTypeName
    max_choices: int
    secrecy: SecrecyName
    opens_at: int
    closes_at: int
    reveal_ends_at: int
    eligibility: EligibilityName
    districts: list[int]
    min_birth_year: int
    max_birth_year: int
    census_root: Bytes32 | None
    eligible_count: int | None = Field(description="Electorate size when known.")
    creator: Address
    status: Literal["scheduled", "open", "revealing", "closed", "finalized"] = Field(description="By chain time.")
    ballots: int = Field(description="Voters holding a ballot (a replaced ballot counts once).")
    finalized: bool
    created_block: int | None = None
    created_tx: str | None = None


class BallotDraft(BaseModel):
    """What a voter wants to sign; the API fills `version` (current + 1) and `deadline`."""

    voter: Address = Field(description="The voter's signing address.")
    options: list[int] | None = Field(
        None,
        description="0-based options: one (single), a set (approval) or an order (ranked). Public polls.",
        examples=[[0]],
    )
    choice: int | None = Field(None, ge=0, lt=2**256, description="Already encoded choice (alternative to `options`).")
    commitment: Bytes32 | None = Field(
        None, description="Sealed polls: keccak256(abi.encode(pollId, voter, choice, salt)), computed by the voter."
    )
    version: int | None = Field(None, ge=1, lt=2**32, description="Default: the voter's current version + 1.")
    ttl_s: int = Field(3600, ge=10, le=7 * 86_400)


class BallotCreate(BaseModel):
    """A signed ballot (the `fields` of the typed-data answer plus the signature)."""

    voter: Address
    choice: int = Field(0, ge=0, lt=2**256, description="Encoded choice (0 in sealed polls).")
    commitment: Bytes32 = Field("0x" + "00" * 32, description="Sealed-poll commitment (zero in public polls).")
    version: int = Field(ge=1, lt=2**32)
    deadline: int = Field(ge=0, lt=2**256)
    signature: Signature
    proof: list[Bytes32] = Field(
        default_factory=list, max_length=64, description="Census polls: Merkle proof of the voter's address."
    )


class BallotOnChain(BaseModel):
    """Which ballot the chain accepted and where: the fields of every ballot receipt, plain or encrypted."""

    poll_id: int
    voter: Address
    citizen_id: str
    ballot_hash: Bytes32
    version: int
    tx_hash: str
    block_number: int
    log_index: int


class ServerReceiptOut(BaseModel):
    """The server's signed promise: it accepted the ballot and will have it on chain by ``include_by``."""

    message: str = Field(
        description="Canonical text: `civic-ledger ballot receipt v1`, then `chain:`, `mvoting:`, `ballot:`, "
        "`accepted:` and `include-by:` lines (Unix seconds)."
    )
    signature: str = Field(description="EIP-191 personal_sign of `message` by `signer` (65 bytes, 0x-hex).")
    signer: Address = Field(description="The operator key (the deployment manifest's `deployer`).")
    include_by: int = Field(description="The promised inclusion deadline (Unix seconds), as in `message`.")


class BallotReceiptOut(BallotOnChain):
    """The receipt of an accepted ballot."""

    # the same two fields, with their descriptions (the encrypted receipt's schema shows them without)
    citizen_id: str = Field(
        description="Voter key the ballot is stored under (decimal string; census polls: the address as a number)."
    )
    ballot_hash: Bytes32 = Field(description="EIP-712 digest the voter signed: the receipt id.")
    batch_size: int | None = Field(None, description="Ballots in the castBatch transaction that carried it.")
    server_receipt: ServerReceiptOut | None = Field(
        None,
        description="Cast answers: the server's signed receipt (check it with `civic-ledger voting receipt --file`).",
    )


class ReceiptOut(BallotReceiptOut):
    """A receipt looked up on chain: is it still the voter's ballot, and is it counted?"""

    choice: str | None = Field(description="Encoded choice (public polls), decimal string.")
    commitment: Bytes32 | None
    current: bool = Field(description="This is the voter's latest ballot (not replaced by a higher version).")
    counted: bool = Field(description="Counted in the tally (public: when current; sealed: once revealed).")
    current_version: int


class RevealCreate(BaseModel):
    voter: Address = Field(description="The address that cast the sealed ballot.")
    options: list[int] | None = Field(None, description="0-based options as voted (or give `choice`).")
    choice: int | None = Field(None, ge=0, lt=2**256)
    salt: Bytes32
    citizen_id: int | None = Field(
        None, ge=1, le=2**256 - 1, description="Voter key; default: looked up from the voter's ballot."
    )


class RevealOut(BaseModel):
    poll_id: int
    voter: Address
    citizen_id: str
    choice: str
    tx_hash: str
    block_number: int


class OptionResult(BaseModel):
    index: int
    text: str
    count: int = Field(description="Votes (approval: approvals; ranked: Borda points).")
    share: float | None = Field(description="count / sum of counts.")


class ResultsOut(BaseModel):
    model_config = examples(
        {
            "poll_id": 3,
            "question": "Should the Cheonggyecheon night market run all year?",
            "ballot_type": "single",
            "secrecy": "public",
            "status": "finalized",
            "finalized": True,
            "options": [
                {"index": 0, "text": "Yes", "count": 1_843, "share": 0.6212},
                {"index": 1, "text": "No", "count": 1_124, "share": 0.3788},
            ],
            "ballots": 2_967,
            "counted": 2_967,
            "eligible_count": 12_480,
            "turnout": 0.2377,
            "winner": [0],
            "source": "PollFinalized",
            "finalized_tx": EXAMPLE_TX_HASH,
        }
    )

    poll_id: int
    question: str
    ballot_type: BallotTypeName
    secrecy: SecrecyName
    status: str
    finalized: bool
    options: list[OptionResult]
    ballots: int = Field(description="Voters holding a ballot.")
    counted: int = Field(description="Ballots in the tally (sealed: revealed).")
    eligible_count: int | None
    turnout: float | None = Field(description="ballots / eligible_count when the electorate is known.")
    winner: list[int] = Field(description="Option indices with the highest count (ties: several).")
    source: Literal["PollFinalized", "tallyOf"] = Field(description="Where the counts come from.")
    finalized_tx: str | None = None


class RecountOut(BaseModel):
    poll_id: int
    matches: bool
    published_source: str
    published_counts: list[int] | None
    recomputed_counts: list[int]
    ballots: int
    counted: int
    problems: list[str]
