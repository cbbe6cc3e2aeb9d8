"""The buyer's history report of one vehicle, from that vehicle's VehicleHistory events alone. Pure.

The same function serves the API (events from the index) and ``vehicles verify`` (events from
``eth_getLogs`` on a node, filtered by the vehicle's topic): both hand it the events decoded to
the indexer's JSON form (:mod:`civic_ledger.platform.indexer.decoder`) in chain order, so the two
reports are equal exactly when the chain says what the index says.

Flags (codes, each with a message for people):

- ``rollback_refused``: a signed reading lower than the highest was refused on chain and put on record;
- ``implausible_mileage``: a reading more than :data:`MAX_KM_PER_DAY` per day above the previous one
  (elapsed time counted as at least one day); kept, only flagged;
- ``flood`` / ``total_loss`` / ``accident``: an insurer's claim; ``flood`` also from an inspection;
- ``active_lien`` / ``active_seizure``: a transfer of ownership is refused while one is active;
- ``no_inspection`` / ``inspection_expired``: no inspection younger than 120 days at ``as_of``;
- ``inspection_odometer_mismatch``: the highest reading is more than :data:`MISMATCH_KM` above the
  current inspection's, so the inspection no longer describes the car's mileage.
"""

from __future__ import annotations

from typing import Any

from civic_ledger.vehicles import vin as v

INSPECTION_VALIDITY_S = 120 * 86400
MAX_KM_PER_DAY = 1000
MISMATCH_KM = 1000
REPORT_VERSION = 1


def _entry(e: dict[str, Any]) -> dict[str, Any]:
    return {"block_number": e["block"], "tx_hash": e["tx_hash"], "log_index": e["log_index"]}


def build_report(
    vin: str,
    events: list[dict[str, Any]],
    *,
    as_of: int,
    block_number: int,
    chain_id: int,
    contract: str,
) -> dict[str, Any]:
    """``events``: dicts with ``event``, ``args`` (decoded, JSON form), ``block``, ``log_index``,
    ``tx_hash``, in chain order, all of this vehicle (first topic = its VIN hash)."""
    text = v.normalise(vin)
    vehicle: dict[str, Any] | None = None
    owner: str | None = None
    owners = 0
    readings: list[dict[str, Any]] = []
    rollbacks: list[dict[str, Any]] = []
    inspections: list[dict[str, Any]] = []
    claims: list[dict[str, Any]] = []
    encumbrances: list[dict[str, Any]] = []
    maintenance: list[dict[str, Any]] = []
    trades: list[dict[str, Any]] = []
    offers: list[dict[str, Any]] = []
    timeline: list[dict[str, Any]] = []
    active = {"lien": 0, "seizure": 0}

    def reading(km: int, source: str, by: str, at: int, e: dict[str, Any]) -> None:
        readings.append({"km": km, "source": source, "by": by, "at": at, **_entry(e)})

    for e in events:
        a, name, at = e["args"], e["event"], int(e["args"].get("at", 0))
        where = _entry(e)
        summary = name
        if name == "VehicleRegistered":
            d = a["details"]
            vehicle = {
                "make": d["make"],
                "model": d["model"],
                "model_year": int(d["modelYear"]),
                "first_registered": v.date_text(int(d["firstRegistered"])),
                "registered_at": at,
                "registry": a["registry"],
            }
            owner, owners = a["owner"], 1
            summary = f"registered ({d['make']} {d['model']} {d['modelYear']}) to {a['owner']}"
        elif name == "OdometerRecorded":
            source = v.SOURCES[int(a["source"])]
            reading(int(a["km"]), source, a["recorder"], at, e)
            summary = f"odometer {int(a['km']):,} km ({source})"
        elif name == "OdometerRollbackRefused":
            source = v.SOURCES[int(a["source"])]
            rollbacks.append(
                {"km": int(a["km"]), "highest": int(a["highest"]), "source": source, "by": a["recorder"], "at": at}
                | where
            )
            summary = f"rollback refused: {int(a['km']):,} km < highest {int(a['highest']):,} km ({source})"
        elif name == "InspectionRecorded":
            f = a["findings"]
            item = {
                "inspection_id": int(a["inspectionId"]),
                "km": int(f["km"]),
                "accident_repair": bool(f["accidentRepair"]),
                "panels": v.panels_of(int(f["panels"])),
                "flood": bool(f["flood"]),
                "tuning": bool(f["tuning"]),
                "emissions_pass": bool(f["emissionsPass"]),
                "record_hash": f["recordHash"],
                "inspector": a["inspector"],
                "at": at,
                "valid_until": at + INSPECTION_VALIDITY_S,
            } | where
            inspections.append(item)
            reading(int(f["km"]), "inspection", a["inspector"], at, e)
            summary = f"inspection #{a['inspectionId']} at {int(f['km']):,} km"
        elif name == "ClaimRecorded":
            kind = v.CLAIM_KINDS[int(a["kind"])]
            claims.append({"kind": kind, "claim_hash": a["claimHash"], "insurer": a["insurer"], "at": at} | where)
            summary = f"insurance claim: {kind}"
        elif name == "EncumbranceRecorded":
            kind = v.ENCUMBRANCE_KINDS[int(a["kind"])]
            active[kind] = int(a["remaining"])
            encumbrances.append(
                {
                    "kind": kind,
                    "active": bool(a["active"]),
                    "ref_hash": a["refHash"],
                    "remaining": int(a["remaining"]),
                    "by": a["registry"],
                    "at": at,
                }
                | where
            )
            summary = f"{kind} {'set' if a['active'] else 'lifted'} ({a['remaining']} active)"
        elif name == "MaintenanceRecorded":
            maintenance.append({"km": int(a["km"]), "work_hash": a["workHash"], "shop": a["shop"], "at": at} | where)
            reading(int(a["km"]), "shop", a["shop"], at, e)
            summary = f"maintenance at {int(a['km']):,} km"
        elif name == "PurchaseRegistered":
            trades.append(
                {
                    "kind": "purchase",
                    "from": a["seller"],
                    "to": a["dealer"],
                    "price": int(a["price"]),
                    "offer_id": None,
                    "inspection_id": None,
                    "at": at,
                }
                | where
            )
            owner, owners = a["dealer"], owners + 1
            summary = f"purchase registered by dealer {a['dealer']} for {int(a['price']):,} KRW"
        elif name == "SaleOffered":
            for o in offers:
                if o["status"] == "open":
                    o["status"] = "superseded"
            offers.append(
                {
                    "offer_id": int(a["offerId"]),
                    "seller": a["seller"],
                    "buyer": a["buyer"],
                    "price": int(a["price"]),
                    "inspection_id": int(a["inspectionId"]),
                    "status": "open",
                    "at": at,
                }
                | where
            )
            summary = f"offered to {a['buyer']} for {int(a['price']):,} KRW with inspection #{a['inspectionId']}"
        elif name == "SaleCompleted":
            for o in offers:
                if o["offer_id"] == int(a["offerId"]):
                    o["status"] = "accepted"
            trades.append(
                {
                    "kind": "sale",
                    "from": a["seller"],
                    "to": a["buyer"],
                    "price": int(a["price"]),
                    "offer_id": int(a["offerId"]),
                    "inspection_id": int(a["inspectionId"]),
                    "at": at,
                }
                | where
            )
            owner, owners = a["buyer"], owners + 1
            summary = f"sold to {a['buyer']} for {int(a['price']):,} KRW (inspection #{a['inspectionId']})"
        else:
            continue
        timeline.append({"at": at, "event": name, "summary": summary} | where)

    flags = _flags(readings, rollbacks, inspections, claims, active, as_of)
    current = inspections[-1] if inspections else None
    return {
        "report_version": REPORT_VERSION,
        "vin": text,
        "vin_hash": v.vin_hash(text),
        "vin_check_digit_ok": v.check_digit_ok(text),
        "chain_id": chain_id,
        "contract": contract,
        "block_number": block_number,
        "as_of": as_of,
        "vehicle": vehicle,
        "owner": owner,
        "owners_count": owners,
        "highest_km": max((r["km"] for r in readings), default=0),
        "current_inspection": current,
        "active_liens": active["lien"],
        "active_seizures": active["seizure"],
        "flags": flags,
        "timeline": timeline,
        "trades": trades,
        "offers": offers,
        "readings": readings,
        "rollback_attempts": rollbacks,
        "inspections": inspections,
        "claims": claims,
        "encumbrances": encumbrances,
        "maintenance": maintenance,
    }


def _flags(
    readings: list[dict[str, Any]],
    rollbacks: list[dict[str, Any]],
    inspections: list[dict[str, Any]],
    claims: list[dict[str, Any]],
    active: dict[str, int],
    as_of: int,
) -> list[dict[str, Any]]:
    flags: list[dict[str, Any]] = []

    def flag(code: str, message: str, at: int | None = None) -> None:
        flags.append({"code": code, "message": message, "at": at})

    for r in rollbacks:
        flag(
            "rollback_refused",
            f"a reading of {r['km']:,} km below the highest {r['highest']:,} km was refused ({r['source']}, {r['by']})",
            r["at"],
        )
    previous: dict[str, Any] | None = None
    for r in readings:
        r["implausible"] = False
        if previous is not None:
            days = max(1.0, (r["at"] - previous["at"]) / 86400)
            driven = r["km"] - previous["km"]
            if driven > MAX_KM_PER_DAY * days:
                r["implausible"] = True
                flag(
                    "implausible_mileage",
                    f"{driven:,} km in {days:.1f} day(s) before the reading of {r['km']:,} km "
                    f"(more than {MAX_KM_PER_DAY:,} km a day)",
                    r["at"],
                )
        previous = r
    for c in claims:
        label = {"flood": "flood damage", "total_loss": "total loss", "accident": "insured accident"}[c["kind"]]
        flag(c["kind"], f"{label} claimed by insurer {c['insurer']}", c["at"])
    for i in inspections:
        if i["flood"]:
            flag("flood", f"flood damage found by inspection #{i['inspection_id']}", i["at"])
    if active["lien"]:
        flag("active_lien", f"{active['lien']} lien(s) active: the car can not change owner until lifted")
    if active["seizure"]:
        flag("active_seizure", f"{active['seizure']} seizure(s) active: the car can not change owner until lifted")
    current = inspections[-1] if inspections else None
    if current is None:
        flag("no_inspection", "no performance/condition inspection on record: the car can not be sold")
    elif as_of > current["valid_until"]:
        flag(
            "inspection_expired",
            f"the current inspection #{current['inspection_id']} is older than 120 days: a sale needs a new one",
            current["valid_until"],
        )
    if current is not None:
        highest = max(r["km"] for r in readings)
        if highest - current["km"] > MISMATCH_KM:
            flag(
                "inspection_odometer_mismatch",
                f"the odometer reads {highest:,} km, {highest - current['km']:,} km more than inspection "
                f"#{current['inspection_id']} recorded",
            )
    return flags
