"""Response models of the audit API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from civic_ledger.platform.trust import DeploymentRef


class TrailRowOut(BaseModel):
    block: int
    time: str = Field(description="Block time, ISO 8601 UTC.")
    tx: str
    log_index: int
    event: str
    payer: str = Field(description="Who the money left (the escrow contract for payments); the actor for other events.")
    payee: str
    purpose: str
    amount: int | None
    claim: int | None
    evidence: str = Field(description="Evidence hash of the claim line (or the project reference).")
    due: str = Field(description="Subcontract due date (paid_at + 15 days), ISO 8601 UTC.")
    late: str = Field(description="`true` when a subcontract line was paid after its due date.")
    block_hash: str = Field(description="Inclusion reference: with `tx` and `log_index`, checkable on any node.")
    interest: int | None = None
    line: int | None = None
    detail: str = ""


class TrailOut(BaseModel):
    manifest: dict[str, Any] = Field(
        description="chain_id, contract addresses, block range, row count, `csv_sha256` of the CSV form and "
        "`deployment` (the trusted deployment read)."
    )
    rows: list[TrailRowOut]


class BucketCheck(BaseModel):
    purpose: str
    funded: int
    paid: int
    refunded: int
    balance: int
    balance_on_chain: int
    matches: bool


class PayeeCheck(BaseModel):
    payee: str
    claimed: int
    paid: int
    credited: int
    outstanding: int
    withdrawable_now: int


class ReconcileOut(BaseModel):
    chain_id: int
    project_id: int
    block: int
    contracts: dict[str, str]
    claims: list[int]
    buckets: list[BucketCheck]
    totals: dict[str, int]
    payees: list[PayeeCheck]
    late: list[dict[str, Any]]
    escrow: dict[str, Any] = Field(
        description="The escrow as a whole: token balance on chain, what every project's events leave in it, "
        "`unattributed` (balance minus that: tokens sent outside any project, information only) and credits."
    )
    deployment: DeploymentRef = Field(description="The trusted deployment the reconciliation read.")
    matches: bool = Field(
        description="Every bucket of the project agrees between events and contract state, the escrow holds at least "
        "what the projects' events leave in it and open credits agree; unattributed tokens do not count."
    )
