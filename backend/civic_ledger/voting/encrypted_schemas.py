"""Request models of the encrypted-poll API (trustees, DKG steps, encrypted ballots).

Big numbers (curve coordinates, scalars) are JSON integers or decimal strings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from civic_ledger.types import EXAMPLE_TX_HASH, Address, Bytes32, Signature, example_document, examples
from civic_ledger.voting.schemas import BallotOnChain

Uint = Field(ge=0, lt=2**256)
StepName = Literal["commit", "deal", "decrypt"]


class TrusteesDraft(BaseModel):
    """The trustees (agency keys, index i+1 at position i) and the threshold t the poll's creator names."""

    trustees: list[Address] = Field(min_length=1, max_length=16)
    threshold: int = Field(ge=1, le=16)
    ttl_s: int = Field(600, ge=10, le=7 * 86_400)


class TrusteesCreate(BaseModel):
    trustees: list[Address] = Field(min_length=1, max_length=16)
    threshold: int = Field(ge=1, le=16)
    deadline: int = Field(ge=0, lt=2**256)
    signature: Signature


class StepPayload(BaseModel):
    """The data of one DKG / decryption step (see docs/encrypted-ballots.md): commit =
    `commitments` (2t words) + `encryption_key` (2); deal = `ephemeral` (2) + `encrypted_shares`
    (n); decrypt = `shares` (2 per counted option) + `proofs` (2 per counted option)."""

    commitments: list[int] | None = Field(None, max_length=32)
    encryption_key: list[int] | None = Field(None, min_length=2, max_length=2)
    ephemeral: list[int] | None = Field(None, min_length=2, max_length=2)
    encrypted_shares: list[int] | None = Field(None, max_length=16)
    shares: list[int] | None = Field(None, max_length=64)
    proofs: list[int] | None = Field(None, max_length=64)

    def words(self) -> dict[str, list[int]]:
        from civic_ledger.errors import InvalidInput

        out: dict[str, list[int]] = {}
        for name in type(self).model_fields:
            values = getattr(self, name)
            if name in ("trustee", "ttl_s", "deadline", "signature") or values is None:
                continue
            words = [int(w) for w in values]
            if any(not 0 <= w < 2**256 for w in words):
                raise InvalidInput(f"{name}: every word must be a uint256", details={"field": name})
            out[name] = words
        return out


class StepDraft(StepPayload):
    trustee: Address
    ttl_s: int = Field(600, ge=10, le=7 * 86_400)


class StepCreate(StepPayload):
    trustee: Address
    deadline: int = Field(ge=0, lt=2**256)
    signature: Signature


class EncryptedBallotDraft(BaseModel):
    """Ciphertexts and proofs made on the voter's device; the API builds the Ballot typed data."""

    voter: Address
    ciphertexts: list[int] = Field(min_length=4, max_length=128)
    proofs: list[int] = Field(min_length=4, max_length=256)
    version: int | None = Field(None, ge=1, lt=2**32)
    ttl_s: int = Field(3600, ge=10, le=7 * 86_400)


class EncryptedBallotCreate(BaseModel):
    voter: Address
    version: int = Field(ge=1, lt=2**32)
    deadline: int = Field(ge=0, lt=2**256)
    ciphertexts: list[int] = Field(min_length=4, max_length=128)
    proofs: list[int] = Field(min_length=4, max_length=256)
    signature: Signature
    proof: list[Bytes32] = Field(default_factory=list, max_length=64, description="Census polls: Merkle proof.")
    choice: int = Field(0, ge=0, le=0, description="Always 0 (the choice is encrypted).")
    commitment: Bytes32 | None = Field(None, description="Ignored: recomputed from ciphertexts and proofs.")


class ActionOut(BaseModel):
    model_config = examples(
        {"poll_id": 4, "tx_hash": EXAMPLE_TX_HASH, "block_number": 18_342, "gas_used": 173_402, "step": "commit"},
        {"poll_id": 4, "tx_hash": EXAMPLE_TX_HASH, "block_number": 18_120, "gas_used": 96_515, "step": None},
    )

    poll_id: int
    tx_hash: str
    block_number: int
    gas_used: int
    step: str | None = None


class EncryptedReceiptOut(BallotOnChain):
    batch_size: int = Field(description="Ballots in the castEncryptedBatch transaction that carried it.")
    gas_used: int = Field(description="Gas of that whole transaction.")
    replaced: bool = Field(description="A previous ballot of the voter was subtracted from the encrypted tally.")


#: A 2-of-3 election after every trustee committed and published its encryption key, before the deal
#: (real alt_bn128 points, computed once and kept as data: ``civic_ledger/examples/voting-election.json``).
ElectionOut = Annotated[dict[str, Any], Field(examples=[example_document("voting-election")])]
