"""Labour read models maintained by the platform indexer.

``labor_by_key``: every ``LaborRecords`` event of a labour contract by its contract id, and each
registration also by its employer and its worker, so a contract's weeks and statements, and the
contracts of one party, are one index range each (O(the answer), however many other contracts the
chain holds). Minimum wages are read from the stored events by name (a few per year).

:func:`labor_logs` gives them in the plain-JSON form of :func:`civic_ledger.labor.records.norm_log`
(the form records take in evidence bundles), integers as integers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from eth_utils import to_checksum_address

from civic_ledger.platform.indexer import Event
from civic_ledger.platform.indexer.decoder import args_with_ints
from civic_ledger.platform.indexer.keyed import events_named, events_of, keyed_events

CONTRACT = "LaborRecords"
BY_KEY = "labor_by_key"

BY_CONTRACT_AND_PARTY = keyed_events(
    BY_KEY,
    CONTRACT,
    {
        "LaborContractRegistered": ("contractId", "employer", "worker"),
        "WeekRecorded": ("contractId",),
        "WeekConfirmed": ("contractId",),
        "WeekDisputed": ("contractId",),
        "WageStatementRecorded": ("contractId",),
    },
)

PROJECTIONS = [BY_CONTRACT_AND_PARTY]


def _log(e: Event, abi: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "event": str(e.event),
        "address": to_checksum_address(e.address),
        "transactionHash": e.tx_hash.lower(),
        "blockNumber": e.block,
        "blockHash": e.block_hash.lower(),
        "logIndex": e.log_index,
        "args": args_with_ints(abi[str(e.event)], e.args),
    }


def labor_logs(
    conn: sqlite3.Connection,
    abi: Sequence[Any],
    name: str | tuple[str, ...],
    *,
    contract_id: str | None = None,
    party: str | None = None,
    week_start: int | None = None,
) -> list[dict[str, Any]]:
    """``name`` events (one name or several; of one contract, or of contracts ``party`` signed, or
    all), in chain order, from one snapshot."""
    events_abi = {str(i["name"]): i for i in abi if i.get("type") == "event"}
    names = (name,) if isinstance(name, str) else name
    if contract_id is not None:
        found = events_of(conn, BY_KEY, "contractId", contract_id, events=names)
    elif party is not None:
        both = {
            (e.block, e.log_index): e
            for arg in ("employer", "worker")
            for e in events_of(conn, BY_KEY, arg, to_checksum_address(party), events=names)
        }
        found = [both[k] for k in sorted(both)]
    else:
        found = sorted(
            (e for n in names for e in events_named(conn, CONTRACT, n)), key=lambda e: (e.block, e.log_index)
        )
    logs = [_log(e, events_abi) for e in found]
    if week_start is not None:
        logs = [lg for lg in logs if int(lg["args"]["weekStart"]) == week_start]
    return logs
