"""Used-car history reads: the buyer's report, the vehicle, one inspection — from the index.

The report is :func:`civic_ledger.vehicles.history.build_report` over the vehicle's rows of the
``vehicles_events`` read model (one primary-key range: O(that vehicle's history), whatever the
chain holds for other vehicles), at the index's block, with that block's timestamp as ``as_of``.
``vehicles verify`` derives the same report from a node alone (:mod:`.verify`).
"""

from __future__ import annotations

from typing import Any

from civic_ledger.errors import NotFound
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.runtime import Platform
from civic_ledger.vehicles import projections as q
from civic_ledger.vehicles import vin as v
from civic_ledger.vehicles.actions import CONTRACT
from civic_ledger.vehicles.history import INSPECTION_VALIDITY_S, build_report
from civic_ledger.vehicles.schemas import InspectionOut, VehicleOut
from civic_ledger.vehicles.service import history_contract, read


def _unknown(text: str) -> NotFound:
    return NotFound(f"no vehicle with VIN {text} is registered", code="unknown_vehicle", details={"vin": text})


def history(platform: Platform, vin_text: str) -> dict[str, Any]:
    """The buyer's history report of ``vin_text`` (404 when the vehicle is not registered)."""
    text = v.normalise(vin_text)
    with fresh_read(platform, "the vehicle history") as (conn, block):
        events = q.events_of(conn, v.vin_hash(text))
    if not events:
        raise _unknown(text)
    as_of = int(platform.chain.w3.eth.get_block(block)["timestamp"])
    return build_report(
        text,
        events,
        as_of=as_of,
        block_number=block,
        chain_id=platform.chain.chain_id,
        contract=platform.deployment.address(CONTRACT),
    )


def vehicle(platform: Platform, vin_text: str) -> VehicleOut:
    """The contract's view of the vehicle now (owner, highest reading, open offer): O(1) calls."""
    text = v.normalise(vin_text)
    key = bytes.fromhex(v.vin_hash(text)[2:])
    c = history_contract(platform)
    registered, owner, highest, inspection_id, inspected_at, offers, owners, liens, seizures = read(
        platform, c.functions.vehicleOf(key)
    )
    if not registered:
        raise _unknown(text)
    open_offer, _ = read(platform, c.functions.openOfferOf(key))
    return VehicleOut(
        vin=text,
        vin_hash=v.vin_hash(text),
        registered=True,
        owner=owner,
        highest_km=highest,
        inspection_id=inspection_id or None,
        inspected_at=inspected_at or None,
        offer_count=offers,
        open_offer_id=open_offer or None,
        owners=owners,
        liens=liens,
        seizures=seizures,
    )


def inspection(platform: Platform, inspection_id: int) -> InspectionOut:
    """One inspection record by id (the buyer's "inspection lookup")."""
    with fresh_read(platform, "the inspection lookup") as (conn, _block):
        row = q.inspection_row(conn, inspection_id)
    if row is None:
        raise NotFound(f"no inspection {inspection_id} is recorded", code="unknown_inspection")
    a, f = row["args"], row["args"]["findings"]
    return InspectionOut(
        inspection_id=inspection_id,
        vin_hash=a["vin"],
        km=f["km"],
        accident_repair=f["accidentRepair"],
        panels=v.panels_of(int(f["panels"])),
        flood=f["flood"],
        tuning=f["tuning"],
        emissions_pass=f["emissionsPass"],
        record_hash=f["recordHash"],
        inspector=a["inspector"],
        at=int(a["at"]),
        valid_until=int(a["at"]) + INSPECTION_VALIDITY_S,
        block_number=row["block"],
        tx_hash=row["tx_hash"],
    )
