"""Subcontract-payment read models maintained by the platform indexer.

- ``payments_by_key``: every ``SubcontractPayments`` event by its project and, for the events of a
  claim, by its claim (:func:`civic_ledger.platform.indexer.keyed.events_of`): a project's
  participants, a claim's line evidence and a project's audit trail are one index range each,
  O(that project's events) however busy the other projects are.
- ``payments_escrow``: running totals of the flows in and out of the escrow (funded, paid,
  credited, withdrawn, refunded), which the reconciliation checks the escrow's token balance and
  ``totalWithdrawable`` against: O(1) instead of summing every project's events.
"""

from __future__ import annotations

import sqlite3

from civic_ledger.platform.indexer import Event, Projection
from civic_ledger.platform.indexer.keyed import events_of, keyed_events

CONTRACT = "SubcontractPayments"
BY_KEY = "payments_by_key"

_PROJECT_EVENTS = (
    "ProjectRegistered",
    "ParticipantRegistered",
    "BucketFunded",
    "CreditWithdrawn",
    "BucketRefunded",
    "ProjectClosed",
)
_CLAIM_EVENTS = (
    "ClaimSubmitted",
    "ClaimLineAdded",
    "LinesConfirmed",
    "ClaimApproved",
    "LinePaid",
    "LineCredited",
    "ClaimSettled",
    "DirectPaymentMade",
)

BY_PROJECT_AND_CLAIM = keyed_events(
    BY_KEY,
    CONTRACT,
    {
        **{name: ("projectId",) for name in _PROJECT_EVENTS},
        **{name: ("projectId", "claimId") for name in _CLAIM_EVENTS},
    },
)

#: The escrow flows the reconciliation needs, by event.
ESCROW_FLOWS = ("BucketFunded", "LinePaid", "LineCredited", "CreditWithdrawn", "BucketRefunded")

ESCROW_SCHEMA = """
CREATE TABLE payments_escrow (event TEXT PRIMARY KEY, amount INTEGER NOT NULL, events INTEGER NOT NULL);
"""


def _apply_escrow(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute(
        "INSERT INTO payments_escrow (event, amount, events) VALUES (?, ?, 1) "
        "ON CONFLICT (event) DO UPDATE SET amount = amount + excluded.amount, events = events + 1",
        (e.event, int(e.args["amount"])),
    )


ESCROW = Projection(
    name="payments_escrow",
    consumes=frozenset((CONTRACT, name) for name in ESCROW_FLOWS),
    schema=ESCROW_SCHEMA,
    tables=("payments_escrow",),
    apply=_apply_escrow,  # a reorg resets and replays it (O(escrow flows), rare)
)

BUCKETS_SCHEMA = """
CREATE TABLE payments_buckets (
    project_id INTEGER NOT NULL,
    purpose INTEGER NOT NULL,
    funded INTEGER NOT NULL DEFAULT 0,
    paid INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, purpose)
) WITHOUT ROWID;
"""

#: event → the bucket column it adds to (a credited line is paid out of its bucket too).
_BUCKET_COLUMN = {"BucketFunded": "funded", "LinePaid": "paid", "LineCredited": "paid", "BucketRefunded": "refunded"}


def _apply_bucket(conn: sqlite3.Connection, e: Event) -> None:
    column = _BUCKET_COLUMN[str(e.event)]
    conn.execute(
        f"INSERT INTO payments_buckets (project_id, purpose, {column}) VALUES (?, ?, ?) "
        f"ON CONFLICT (project_id, purpose) DO UPDATE SET {column} = {column} + excluded.{column}",
        (int(e.args["projectId"]), int(e.args["purpose"]), int(e.args["amount"])),
    )


#: Per project and purpose: funded, paid (paid or credited lines), refunded — what ``bucketOf``
#: holds, from the events (the balance is funded − paid − refunded).
BUCKETS = Projection(
    name="payments_buckets",
    consumes=frozenset((CONTRACT, name) for name in _BUCKET_COLUMN),
    schema=BUCKETS_SCHEMA,
    tables=("payments_buckets",),
    apply=_apply_bucket,  # a reorg resets and replays it
)

PROJECTIONS = [BY_PROJECT_AND_CLAIM, ESCROW, BUCKETS]


def buckets(conn: sqlite3.Connection, project_id: int) -> dict[int, tuple[int, int, int]]:
    """purpose → (funded, paid, refunded) of a project's buckets that saw any flow."""
    rows = conn.execute(
        "SELECT purpose, funded, paid, refunded FROM payments_buckets WHERE project_id = ?", (project_id,)
    )
    return {int(p): (int(f), int(pd), int(r)) for p, f, pd, r in rows}


def project_events(conn: sqlite3.Connection, project_id: int, *names: str) -> list[Event]:
    """The events of a project in chain order (only ``names`` when given)."""
    return events_of(conn, BY_KEY, "projectId", project_id, events=names or None)


def claim_events(conn: sqlite3.Connection, claim_id: int, *names: str) -> list[Event]:
    return events_of(conn, BY_KEY, "claimId", claim_id, events=names or None)


def escrow_flows(conn: sqlite3.Connection) -> dict[str, int]:
    """Total won per escrow flow event (every flow present, 0 when none happened)."""
    found = {str(e): int(a) for e, a in conn.execute("SELECT event, amount FROM payments_escrow")}
    return {name: found.get(name, 0) for name in ESCROW_FLOWS}
