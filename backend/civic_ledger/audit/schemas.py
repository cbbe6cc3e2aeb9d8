"""Response models of the audit API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from civic_ledger.audit.trail import CSV_COLUMNS
from civic_ledger.platform.trust import SERVER_DEPLOYMENT, DeploymentRef
from civic_ledger.types import (
    EXAMPLE_AGENCY,
    EXAMPLE_BLOCK_HASH,
    EXAMPLE_CITIZEN,
    EXAMPLE_HASH,
    EXAMPLE_OPERATOR,
    EXAMPLE_TX_HASH,
    examples,
)

_ESCROW = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
_TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
_CONTRACTS = {"SubcontractPayments": _ESCROW, "CivicWon": _TOKEN}
_DEPLOYMENT = {
    "chain_id": 31337,
    "manifest": SERVER_DEPLOYMENT,
    "manifest_sha256": "5d41f6c1b1e0a8c6f2b9a7d3e4c5b6a7980f1e2d3c4b5a69788f9e0d1c2b3a4f",
    "contracts": _CONTRACTS,
}
_ROW = {"claim": None, "due": "", "late": "", "interest": None, "line": None, "detail": ""}


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
    model_config = examples(
        {
            "manifest": {
                "chain_id": 31337,
                "contracts": _CONTRACTS,
                "project_id": 2,
                "from_block": 1,
                "to_block": 18_342,
                "to_block_hash": EXAMPLE_BLOCK_HASH,
                "rows": 2,
                "claims": [1],
                "csv_columns": CSV_COLUMNS,
                "csv_sha256": "9b74c9897bac770ffc029102a200c5de0e1e3a2ab4d1f0f1a0c4a9a1f3b7d2e6",
                "deployment": _DEPLOYMENT,
            },
            "rows": [
                {
                    **_ROW,
                    "block": 1_206,
                    "time": "2026-11-02T01:00:00Z",
                    "tx": EXAMPLE_HASH,
                    "log_index": 0,
                    "event": "ProjectRegistered",
                    "payer": EXAMPLE_OPERATOR,
                    "payee": EXAMPLE_AGENCY,
                    "purpose": "",
                    "amount": 1_200_000_000,
                    "evidence": "0x" + "4e" * 32,
                    "block_hash": "0x" + "21" * 32,
                },
                {
                    **_ROW,
                    "block": 18_342,
                    "time": "2026-11-23T00:00:00Z",
                    "tx": EXAMPLE_TX_HASH,
                    "log_index": 3,
                    "event": "LinePaid",
                    "payer": _ESCROW,
                    "payee": EXAMPLE_CITIZEN,
                    "purpose": "subcontract",
                    "amount": 48_000_000,
                    "claim": 1,
                    "evidence": "0x" + "7c" * 32,
                    "due": "2026-12-08T00:00:00Z",
                    "late": "false",
                    "block_hash": EXAMPLE_BLOCK_HASH,
                    "interest": 0,
                    "line": 0,
                },
            ],
        }
    )

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
    model_config = examples(
        {
            "chain_id": 31337,
            "project_id": 2,
            "block": 18_342,
            "contracts": _CONTRACTS,
            "claims": [1],
            "buckets": [
                {
                    "purpose": "subcontract",
                    "funded": 150_000_000,
                    "paid": 48_000_000,
                    "refunded": 0,
                    "balance": 102_000_000,
                    "balance_on_chain": 102_000_000,
                    "matches": True,
                }
            ],
            "totals": {
                "funded": 150_000_000,
                "paid": 48_000_000,
                "refunded": 0,
                "balance": 102_000_000,
                "claimed": 48_000_000,
                "late_interest": 0,
            },
            "payees": [
                {
                    "payee": EXAMPLE_CITIZEN,
                    "claimed": 48_000_000,
                    "paid": 48_000_000,
                    "credited": 0,
                    "outstanding": 0,
                    "withdrawable_now": 0,
                }
            ],
            "late": [],
            "escrow": {
                "balance_from_events": 102_000_000,
                "balance_on_chain": 102_000_000,
                "unattributed": 0,
                "credits_from_events": 0,
                "credits_on_chain": 0,
                "matches": True,
                "note": "every won in the escrow is attributed to a project's balance or an open credit",
            },
            "deployment": _DEPLOYMENT,
            "matches": True,
        }
    )

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
