"""VehicleHistory read models maintained by the platform indexer (:mod:`civic_ledger.platform.indexer`).

- ``vehicles_events``: every VehicleHistory event keyed by (VIN hash, block, log index): one
  vehicle's history is one range of the primary key, whatever the other vehicles hold — the report
  costs O(that vehicle's events);
- ``vehicles_inspections``: inspection id → the vehicle and where its event is (the buyer's
  "inspection lookup" by id is one primary-key read).

Rolled back by block on a reorg. Deterministic: every key comes from the event's position.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from civic_ledger.platform.indexer import Event, Projection

CONTRACT = "VehicleHistory"
EVENTS = (
    "VehicleRegistered",
    "OdometerRecorded",
    "OdometerRollbackRefused",
    "InspectionRecorded",
    "ClaimRecorded",
    "EncumbranceRecorded",
    "MaintenanceRecorded",
    "PurchaseRegistered",
    "SaleOffered",
    "SaleCompleted",
)

SCHEMA = """
CREATE TABLE vehicles_events (
    vin_hash TEXT NOT NULL,
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    event TEXT NOT NULL,
    args TEXT NOT NULL,
    PRIMARY KEY (vin_hash, block, log_index)
) WITHOUT ROWID;
CREATE INDEX vehicles_events_by_block ON vehicles_events (block);
CREATE TABLE vehicles_inspections (
    inspection_id INTEGER PRIMARY KEY,
    vin_hash TEXT NOT NULL,
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL
);
CREATE INDEX vehicles_inspections_by_block ON vehicles_inspections (block);
"""


def _apply(conn: sqlite3.Connection, e: Event) -> None:
    vin_hash = str(e.args["vin"]).lower()
    conn.execute(
        "INSERT OR REPLACE INTO vehicles_events (vin_hash, block, log_index, tx_hash, event, args) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (vin_hash, e.block, e.log_index, e.tx_hash, e.event, json.dumps(e.args, separators=(",", ":"))),
    )
    if e.event == "InspectionRecorded":
        conn.execute(
            "INSERT OR REPLACE INTO vehicles_inspections (inspection_id, vin_hash, block, log_index) VALUES (?, ?, ?, ?)",
            (int(e.args["inspectionId"]), vin_hash, e.block, e.log_index),
        )


def _rollback(conn: sqlite3.Connection, block: int) -> None:
    conn.execute("DELETE FROM vehicles_events WHERE block > ?", (block,))
    conn.execute("DELETE FROM vehicles_inspections WHERE block > ?", (block,))


def events_of(conn: sqlite3.Connection, vin_hash: str) -> list[dict[str, Any]]:
    """The vehicle's events in chain order, as :func:`civic_ledger.vehicles.history.build_report` takes them."""
    rows = conn.execute(
        "SELECT block, log_index, tx_hash, event, args FROM vehicles_events WHERE vin_hash = ? "
        "ORDER BY block, log_index",
        (vin_hash.lower(),),
    ).fetchall()
    return [
        {"block": int(r[0]), "log_index": int(r[1]), "tx_hash": str(r[2]), "event": str(r[3]), "args": json.loads(r[4])}
        for r in rows
    ]


def inspection_row(conn: sqlite3.Connection, inspection_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT e.block, e.log_index, e.tx_hash, e.args FROM vehicles_inspections i JOIN vehicles_events e "
        "ON e.vin_hash = i.vin_hash AND e.block = i.block AND e.log_index = i.log_index WHERE i.inspection_id = ?",
        (inspection_id,),
    ).fetchone()
    if row is None:
        return None
    return {"block": int(row[0]), "log_index": int(row[1]), "tx_hash": str(row[2]), "args": json.loads(row[3])}


HISTORY = Projection(
    name="vehicles_history",
    consumes=frozenset((CONTRACT, name) for name in EVENTS),
    schema=SCHEMA,
    tables=("vehicles_events", "vehicles_inspections"),
    apply=_apply,
    rollback=_rollback,
)

PROJECTIONS = [HISTORY]
