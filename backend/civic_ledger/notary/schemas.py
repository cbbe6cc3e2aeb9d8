from __future__ import annotations

from pydantic import BaseModel, Field

from civic_ledger.types import Address, Bytes32


class AnchorCreate(BaseModel):
    document_hash: Bytes32 = Field(description="SHA-256 or keccak-256 of the document, 0x-hex.")
    kind: str = Field("document", max_length=31, pattern=r"^[a-z0-9][a-z0-9_.-]*$", examples=["audit-trail"])


class AnchorOut(BaseModel):
    document_hash: Bytes32
    kind: str | None = None
    sequence: int
    anchored_at: int = Field(description="Block timestamp (Unix seconds).")
    block_number: int
    tx_hash: str | None = None
    notary: Address
