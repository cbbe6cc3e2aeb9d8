"""``vehicles verify``: re-derive a history report from a node alone and say whether it matches.

The contract's address, deploy block and ABI come from a :class:`TrustedDeployment` (a manifest
the verifier trusts, checked against the node), never from the report: a report naming another
contract is a difference. The vehicle's events are read with ``eth_getLogs`` filtered by the
vehicle's topic (its VIN hash, the first indexed parameter of every event) from the deploy block to
the report's block, in windows of :data:`LOG_WINDOW` blocks; the cost follows that vehicle's
history and the chain's length, never the other vehicles' records. The events are decoded by the
indexer's own decoder and fed to the same :func:`~civic_ledger.vehicles.history.build_report`, at
the report's block and that block's timestamp. The contract's ``vehicleOf`` at that block is
compared with the derived owner, highest reading, inspection and encumbrances.
"""

from __future__ import annotations

import json
from typing import Any

from civic_ledger.errors import InvalidInput
from civic_ledger.platform.indexer.decoder import EventDecoder
from civic_ledger.platform.trust import TrustedDeployment
from civic_ledger.vehicles import vin as v
from civic_ledger.vehicles.actions import CONTRACT
from civic_ledger.vehicles.history import build_report
from civic_ledger.vehicles.schemas import VerifyOut

#: Blocks per ``eth_getLogs`` (the API's /rpc serves at most 10,000).
LOG_WINDOW = 10_000


def _hex(value: Any) -> str:
    return value.to_0x_hex() if hasattr(value, "to_0x_hex") else "0x" + bytes(value).hex()


def chain_events(trusted: TrustedDeployment, vin_hash: str, to_block: int) -> list[dict[str, Any]]:
    """The vehicle's VehicleHistory events up to ``to_block``, decoded as the indexer decodes them."""
    address = trusted.address(CONTRACT)
    decoder = EventDecoder({address: (CONTRACT, trusted.abi(CONTRACT))})
    out: list[dict[str, Any]] = []
    start = trusted.deploy_block(CONTRACT)
    while start <= to_block:
        end = min(to_block, start + LOG_WINDOW - 1)
        query = {"address": address, "fromBlock": start, "toBlock": end, "topics": [None, vin_hash]}
        for log in trusted.w3.eth.get_logs(query):  # type: ignore[arg-type]
            topics = [_hex(t) for t in log["topics"]]
            decoded = decoder.decode(address, topics, _hex(log["data"]))
            if decoded.event is None:
                continue
            out.append(
                {
                    "block": int(log["blockNumber"]),
                    "log_index": int(log["logIndex"]),
                    "tx_hash": _hex(log["transactionHash"]),
                    "event": decoded.event,
                    "args": decoded.args,
                }
            )
        start = end + 1
    out.sort(key=lambda e: (e["block"], e["log_index"]))
    return out


def derive(trusted: TrustedDeployment, vin_text: str, block: int) -> dict[str, Any]:
    """The report of ``vin_text`` at ``block`` from the node alone."""
    text = v.normalise(vin_text)
    events = chain_events(trusted, v.vin_hash(text), block)
    as_of = int(trusted.w3.eth.get_block(block)["timestamp"])
    return build_report(
        text, events, as_of=as_of, block_number=block, chain_id=trusted.chain_id, contract=trusted.address(CONTRACT)
    )


def _differences(claimed: Any, derived: Any, path: str = "") -> list[str]:
    if isinstance(claimed, dict) and isinstance(derived, dict):
        out: list[str] = []
        for key in sorted(set(claimed) | set(derived), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in derived:
                out.append(f"{where}: in the report, not in the chain's")
            elif key not in claimed:
                out.append(f"{where}: missing from the report")
            else:
                out.extend(_differences(claimed[key], derived[key], where))
        return out
    if isinstance(claimed, list) and isinstance(derived, list):
        if len(claimed) != len(derived):
            return [f"{path}: the report lists {len(claimed)}, the chain {len(derived)}"]
        return [
            d for i, (a, b) in enumerate(zip(claimed, derived, strict=True)) for d in _differences(a, b, f"{path}[{i}]")
        ]
    if claimed != derived:
        return [f"{path}: the report says {json.dumps(claimed)[:80]}, the chain {json.dumps(derived)[:80]}"]
    return []


def _chain_state(trusted: TrustedDeployment, report: dict[str, Any], block: int) -> list[str]:
    c = trusted.contract(CONTRACT)
    key = bytes.fromhex(report["vin_hash"][2:])
    state = c.functions.vehicleOf(key).call(block_identifier=block)
    registered, owner, highest, inspection_id, _at, _offers, owners, liens, seizures = state
    current = report["current_inspection"]
    expected = {
        "registered": (registered, report["vehicle"] is not None),
        "owner": (owner if registered else None, report["owner"]),
        "highest_km": (highest, report["highest_km"]),
        "inspection_id": (inspection_id, current["inspection_id"] if current else 0),
        "owners": (owners, report["owners_count"]),
        "liens": (liens, report["active_liens"]),
        "seizures": (seizures, report["active_seizures"]),
    }
    return [f"vehicleOf.{k}: the contract holds {a}, the events give {b}" for k, (a, b) in expected.items() if a != b]


def verify_report(trusted: TrustedDeployment, report: dict[str, Any]) -> VerifyOut:
    """Whether ``report`` (a ``vehicles history --json`` / ``GET /vehicles/{vin}/history`` answer) is
    what the chain says at the report's block."""
    try:
        vin_text, block = str(report["vin"]), int(report["block_number"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("not a vehicle history report: it needs `vin` and `block_number`") from None
    if block > int(trusted.w3.eth.block_number):
        raise InvalidInput(f"the report is of block {block}, beyond the node's head: is it another chain?")
    derived = derive(trusted, vin_text, block)
    differences = _differences(report, derived)
    wrong = trusted.compare_address(CONTRACT, report.get("contract"), "the report")
    if wrong and not any(d.startswith("contract:") for d in differences):
        differences.insert(0, wrong)
    state = _chain_state(trusted, derived, block)
    return VerifyOut(
        matches=not differences and not state,
        vin=derived["vin"],
        block_number=block,
        differences=differences,
        chain_state=state,
        deployment=trusted.describe(CONTRACT),
        derived=derived,
    )
