"""The worker's evidence bundle: every record and finding of one contract, with the chain
references that prove each, and a verifier that re-checks them against any node.

A bundle is plain JSON:

- ``records``: every event the findings rest on (contract registration, week records,
  confirmations, disputes, wage statements, the minimum wages used), each exactly as decoded
  from the chain, with its transaction hash, block number and hash, log index and contract address;
- ``event_abi``: the ABI of those events (informative: a verifier decodes with the compiled ABI
  and only compares this one with it);
- ``contract`` / ``weeks`` / ``statements`` / ``minimum_wages`` / ``compliance``: the readable
  views derived from ``records`` (the same code derives them on the server and in the verifier).

:func:`verify_bundle` takes LaborRecords' address, deploy block and ABI from a trusted deployment
(a manifest the verifier trusts, or the server's), never from the bundle: the bundle's own
``chain`` and ``event_abi`` are only compared with it (the ``deployment`` check). It fetches each
record's receipt from a node, checks the block, the log index, that the log was emitted by the
trusted LaborRecords and the decoded arguments, then derives the views and the findings
again from the verified records and compares them with the bundle's: an edited document hash,
amount, date or finding is reported, whatever part of the bundle was edited.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime
from typing import Any

from eth_utils import event_abi_to_log_topic
from web3 import Web3

from civic_ledger.errors import InvalidInput
from civic_ledger.labor import service as svc
from civic_ledger.labor.schemas import VerifyCheckOut, VerifyOut
from civic_ledger.platform.runtime import Platform
from civic_ledger.platform.trust import TrustedDeployment

FORMAT = "civic-ledger/labor-evidence/1"
EVENTS = [
    "LaborContractRegistered",
    "WeekRecorded",
    "WeekConfirmed",
    "WeekDisputed",
    "WageStatementRecorded",
    "MinimumWageSet",
]


def build_bundle(platform: Platform, contract_id: str, as_of: date | None = None) -> dict[str, Any]:
    contract_id = svc.parse_contract_id(contract_id)
    contract_log = svc._contract_log(platform, contract_id)
    week_logs = svc._week_logs(platform, contract_id)
    statement_logs = svc._logs(platform, "WageStatementRecorded", contract_id=contract_id)
    wage_logs = svc._logs(platform, "MinimumWageSet")
    as_of = as_of or svc.chain_today(platform)
    head = platform.chain.head()
    records = sorted(
        [contract_log, *week_logs, *statement_logs, *wage_logs], key=lambda lg: (lg["blockNumber"], lg["logIndex"])
    )
    abi = [e for e in svc.labor(platform).abi if e.get("type") == "event" and e.get("name") in EVENTS]
    views = derive_views(contract_id, records, as_of)
    return {
        "format": FORMAT,
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "as_of": as_of.isoformat(),
        "chain": {
            "chain_id": platform.chain.chain_id,
            "labor_records": svc.labor(platform).address,
            "deploy_tx": platform.deployment.entries[svc.CONTRACT_NAME]["tx"],
            "deploy_block": platform.deployment.entries[svc.CONTRACT_NAME]["block"],
            "head_block": head,
        },
        "contract_id": contract_id,
        **views,
        "records": records,
        "event_abi": abi,
    }


def derive_views(contract_id: str, records: list[dict[str, Any]], as_of: date) -> dict[str, Any]:
    """The readable sections of a bundle, from its records alone (same code on both sides)."""
    registered = [
        r for r in records if r["event"] == "LaborContractRegistered" and r["args"]["contractId"] == contract_id
    ]
    if len(registered) != 1:
        raise InvalidInput(f"the records hold {len(registered)} registrations of contract {contract_id}, expected 1")
    contract = svc.build_contract(registered[0])
    weeks = svc.build_weeks(
        contract_id, [r for r in records if r["event"].startswith("Week") and r["args"]["contractId"] == contract_id]
    )
    statements = [
        svc.build_statement(contract_id, r)
        for r in records
        if r["event"] == "WageStatementRecorded" and r["args"]["contractId"] == contract_id
    ]
    wages = svc.build_minimum_wages([r for r in records if r["event"] == "MinimumWageSet"])
    report = svc.run_compliance(
        contract_id, contract.terms, weeks, statements, {w.year: w.hourly_wage for w in wages}, as_of
    )
    return {
        "contract": contract.model_dump(mode="json"),
        "weeks": [w.model_dump(mode="json") for w in weeks],
        "statements": [s.model_dump(mode="json") for s in statements],
        "minimum_wages": [w.model_dump(mode="json") for w in wages],
        "compliance": report.model_dump(mode="json"),
    }


def verify_bundle(trusted: TrustedDeployment, bundle: dict[str, Any]) -> VerifyOut:
    """Re-check every chain reference of ``bundle`` against the ``trusted`` deployment's node.

    LaborRecords' address, deploy block and ABI are the trusted deployment's; the bundle's
    ``chain`` and ``event_abi`` are only compared with them (the ``deployment`` check)."""
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise InvalidInput(f"not a labour evidence bundle (format must be {FORMAT!r})", code="invalid_bundle")
    try:
        records: list[dict[str, Any]] = list(bundle["records"])
        claimed_abi = list(bundle["event_abi"])
        contract_id = svc.parse_contract_id(bundle["contract_id"])
        as_of = date.fromisoformat(bundle["as_of"])
    except InvalidInput as exc:
        raise InvalidInput(f"the bundle is malformed: {exc.message}", code="invalid_bundle") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"the bundle is incomplete or malformed: {exc}", code="invalid_bundle") from None
    _check_shape(bundle, records, claimed_abi)

    w3 = trusted.w3
    address = trusted.address(svc.CONTRACT_NAME)
    abi = [e for e in trusted.abi(svc.CONTRACT_NAME) if e.get("type") == "event" and e.get("name") in EVENTS]
    contract = w3.eth.contract(address=address, abi=abi)  # type: ignore[call-overload]
    problems: list[str] = []
    checks: list[VerifyCheckOut] = []
    mismatch = _deployment_mismatch(trusted, bundle["chain"], claimed_abi, abi)
    checks.append(
        VerifyCheckOut(
            record="deployment",
            ok=not mismatch,
            problem="; ".join(mismatch) or None,
        )
    )
    problems.extend(f"deployment: {m}" for m in mismatch)
    receipts: dict[str, Any] = {}
    for record in records:
        label = f"{record.get('event')} tx {str(record.get('transactionHash'))[:12]}… log {record.get('logIndex')}"
        problem = _check_record(w3, contract, address, record, receipts)
        checks.append(VerifyCheckOut(record=label, ok=problem is None, problem=problem))
        if problem:
            problems.append(f"{label}: {problem}")

    missing = _missing_records(
        w3, bundle, abi, address, contract_id, records, from_block=trusted.deploy_block(svc.CONTRACT_NAME)
    )
    checks.append(VerifyCheckOut(record="completeness", ok=not missing, problem="; ".join(missing) or None))
    problems.extend(f"completeness: {m}" for m in missing)

    try:
        views = derive_views(contract_id, records, as_of)
    except Exception as exc:  # noqa: BLE001 - a tampered record may not even parse
        problems.append(f"the records do not derive a valid report: {exc}")
        views = {}
    for section in ("contract", "weeks", "statements", "minimum_wages", "compliance"):
        ok = section in views and _canon(views[section]) == _canon(bundle.get(section))
        checks.append(
            VerifyCheckOut(
                record=f"section {section}",
                ok=ok,
                problem=None if ok else f"the {section} section differs from what the verified records give",
            )
        )
        if not ok:
            problems.append(f"section {section}: differs from what the chain records give (edited?)")
    return VerifyOut(
        ok=not problems,
        chain_id=trusted.chain_id,
        records_checked=len(records),
        problems=problems,
        checks=checks,
        deployment=trusted.describe(svc.CONTRACT_NAME),
    )


def _deployment_mismatch(
    trusted: TrustedDeployment, chain: dict[str, Any], claimed_abi: list[Any], abi: list[dict[str, Any]]
) -> list[str]:
    """How the bundle's own ``chain`` section and ``event_abi`` differ from the trusted deployment."""
    out: list[str] = []
    if chain.get("chain_id") != trusted.chain_id:
        out.append(f"the bundle is for chain id {chain.get('chain_id')}, the trusted deployment is {trusted.chain_id}")
    wrong = trusted.compare_address(svc.CONTRACT_NAME, chain.get("labor_records"), "the bundle")
    if wrong:
        out.append(wrong)
    block = trusted.deploy_block(svc.CONTRACT_NAME)
    if chain.get("deploy_block") is not None and chain.get("deploy_block") != block:
        out.append(f"the bundle says LaborRecords was deployed in block {chain.get('deploy_block')}, not {block}")
    if _canon(sorted(claimed_abi, key=_canon)) != _canon(sorted(abi, key=_canon)):
        out.append("the bundle's event_abi is not the compiled LaborRecords ABI (the compiled one was used)")
    return out


#: Fields every record carries, with the JSON type each must have.
_RECORD_FIELDS: dict[str, type | tuple[type, ...]] = {
    "event": str,
    "address": str,
    "transactionHash": str,
    "blockNumber": int,
    "blockHash": str,
    "logIndex": int,
    "args": dict,
}


def _check_shape(bundle: dict[str, Any], records: list[Any], abi: list[Any]) -> None:
    """422 ``invalid_bundle`` naming the first field of the wrong JSON type (before any chain call)."""

    def bad(message: str) -> InvalidInput:
        return InvalidInput(f"the bundle is malformed: {message}", code="invalid_bundle")

    if not isinstance(bundle.get("chain"), dict):
        raise bad("chain must be an object")
    chain_id = bundle["chain"].get("chain_id")
    if chain_id is not None and (not isinstance(chain_id, int) or isinstance(chain_id, bool)):
        raise bad(f"chain.chain_id must be an integer, got {chain_id!r:.40}")
    for i, entry in enumerate(abi):
        if not isinstance(entry, dict):
            raise bad(f"event_abi[{i}] must be an object (an ABI entry)")
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise bad(f"records[{i}] must be an object")
        for name, kind in _RECORD_FIELDS.items():
            value = record.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise bad(f"records[{i}].{name} must be a JSON {_JSON_TYPE[kind]}, got {value!r:.40}")


_JSON_TYPE: dict[Any, str] = {str: "string", int: "integer", dict: "object"}


def _missing_records(
    w3: Web3,
    bundle: dict[str, Any],
    abi: list[dict[str, Any]],
    address: str,
    contract_id: str,
    records: list[dict[str, Any]],
    *,
    from_block: int,
) -> list[str]:
    """Events of the trusted contract from its deploy block up to the bundle's head block that the
    bundle leaves out (``abi`` and ``address`` are the trusted deployment's)."""
    try:
        to_block = int(bundle["chain"]["head_block"])
    except (KeyError, TypeError, ValueError):
        return ["the bundle does not say which blocks it covers (chain.head_block)"]
    have = {(str(r.get("transactionHash", "")).lower(), int(r.get("logIndex", -1))) for r in records}
    missing: list[str] = []
    for entry in abi:
        if entry.get("type") != "event" or entry.get("name") not in EVENTS:
            continue
        topic0 = "0x" + event_abi_to_log_topic(entry).hex()  # type: ignore[arg-type]
        topics: list[Any] = [topic0] if entry["name"] == "MinimumWageSet" else [topic0, contract_id]
        try:
            logs = w3.eth.get_logs({"address": address, "fromBlock": from_block, "toBlock": to_block, "topics": topics})  # type: ignore[typeddict-item]
        except Exception as exc:  # noqa: BLE001 - the node refused the range
            return [f"the node could not list the contract's events: {exc}"]
        for log in logs:
            key = (svc._hex(log["transactionHash"]), int(log["logIndex"]))
            if key not in have:
                missing.append(
                    f"{entry['name']} in tx {key[0][:12]}… log {key[1]} (block {log['blockNumber']}) is on chain but not in the bundle"
                )
    return missing


def _check_record(
    w3: Web3, contract: Any, address: str, record: dict[str, Any], receipts: dict[str, Any]
) -> str | None:
    try:
        tx = record["transactionHash"]
        if tx not in receipts:
            receipts[tx] = w3.eth.get_transaction_receipt(tx)
        receipt = receipts[tx]
    except Exception as exc:  # noqa: BLE001 - not found, malformed hash
        return f"transaction not found on the node ({type(exc).__name__})"
    if int(receipt["status"]) != 1:
        return "the transaction failed on chain"
    if int(receipt["blockNumber"]) != int(record.get("blockNumber", -1)):
        return f"mined in block {receipt['blockNumber']}, the bundle says {record.get('blockNumber')}"
    if svc._hex(receipt["blockHash"]) != str(record.get("blockHash", "")).lower():
        return "the block hash differs (a different chain or a reorganised block)"
    log = next((lg for lg in receipt["logs"] if int(lg["logIndex"]) == int(record.get("logIndex", -1))), None)
    if log is None:
        return f"the transaction has no log with index {record.get('logIndex')}"
    if Web3.to_checksum_address(log["address"]) != address:
        return f"the log was emitted by {log['address']}, not by the trusted LaborRecords at {address}"
    if str(record.get("address", "")).lower() != address.lower():
        return f"the bundle says the log was emitted by {record.get('address')!r:.60}, it was LaborRecords at {address}"
    try:
        decoded = svc.norm_log(getattr(contract.events, record["event"])().process_log(log))
    except Exception:  # noqa: BLE001 - wrong event signature
        return f"the log is not a {record.get('event')} event"
    if _canon(decoded["args"]) != _canon(record.get("args")):
        return "the event's arguments on chain differ from the bundle's"
    return None


def _canon(value: Any) -> str:
    def norm(v: Any) -> Any:
        if isinstance(v, str) and v.startswith("0x"):
            return v.lower()
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    return json.dumps(norm(value), sort_keys=True, default=str)


# ------------------------------------------------------------------ HTML report


def _krw(n: int | None) -> str:
    return "—" if n is None else f"₩{n:,}"


def _ref_html(ref: dict[str, Any] | None) -> str:
    if not ref:
        return ""
    return (
        f"<span class=ref>{html.escape(ref['event'])} · block {ref['block_number']} · "
        f"tx <code>{html.escape(ref['tx_hash'])}</code> · log {ref['log_index']}</span>"
    )


def _shifts_html(week: dict[str, Any]) -> str:
    """The week's shifts (date, times, break, holiday), or its days when it has none."""
    if not week.get("entries"):
        return html.escape(", ".join(week["days_worked"]))
    return "<br>".join(
        html.escape(
            f"{s['date']} {s['start'][:5]}–{s['end'][:5]}"
            + (f", {s['break_minutes']} min break" if s["break_minutes"] else ", no break")
            + (", holiday" if s.get("holiday") else "")
        )
        for s in week["entries"]
    )


def render_html(bundle: dict[str, Any]) -> str:
    """A self-contained, printable report of the bundle (for a labour office complaint)."""
    e = html.escape
    c = bundle["contract"]
    t = c["terms"]
    comp = bundle["compliance"]
    rows_find = (
        "".join(
            f"<tr><td>{e(f['kind'])}</td><td>{e(f.get('legal_basis', ''))}</td>"
            f"<td>{e(f['period_start'])} – {e(f['period_end'])}</td>"
            f"<td class=num>{_krw(f['amount_owed'])}</td><td>{e(f['message'])}</td></tr>"
            for f in comp["findings"]
        )
        or "<tr><td colspan=5>No findings.</td></tr>"
    )
    rows_weeks = (
        "".join(
            f"<tr><td>{e(w['week_start'])}</td><td>{e(w['status'])}</td><td>{w['revision']}</td>"
            f"<td class=num>{w['minutes_worked'] / 60:g} h</td><td>{_shifts_html(w)}</td>"
            f"<td>{'<br>'.join(_ref_html(h['ref']) + ' ' + e(h['action']) for h in w['history'])}</td></tr>"
            for w in bundle["weeks"]
        )
        or "<tr><td colspan=6>No weeks logged.</td></tr>"
    )
    rows_st = (
        "".join(
            f"<tr><td>{e(s['period_start'])} – {e(s['period_end'])}</td><td>{e(s['payment_date'])}</td>"
            f"<td class=num>{_krw(s['base_pay'])}</td><td class=num>{_krw(s['holiday_pay'])}</td>"
            f"<td class=num>{_krw(s['overtime_pay'] + s['other_pay'])}</td><td class=num>{_krw(s['gross_pay'])}</td>"
            f"<td class=num>{_krw(s['deductions'])}</td><td>{s['revision']}</td><td>{_ref_html(s['ref'])}</td></tr>"
            for s in bundle["statements"]
        )
        or "<tr><td colspan=9>No wage statements.</td></tr>"
    )
    rows_periods = "".join(
        f"<tr><td>{e(p['period_start'])} – {e(p['period_end'])}</td><td>{e(p['due_date'])}</td>"
        f"<td class=num>{p['minutes_worked'] / 60:g} h</td><td class=num>{_krw(p['hourly_rate_owed'])}</td>"
        f"<td class=num>{_krw(p['base_owed'])}</td>"
        f"<td class=num>{_krw(p['overtime_owed'])}<br><span class=ref>{p['overtime_minutes'] / 60:g} h</span></td>"
        f"<td class=num>{_krw(p['holiday_work_owed'])}<br><span class=ref>{p['holiday_work_minutes'] / 60:g} h</span></td>"
        f"<td class=num>{_krw(p['night_owed'])}<br><span class=ref>{p['night_minutes'] / 60:g} h</span></td>"
        f"<td class=num>{_krw(p['holiday_owed'])}</td>"
        f"<td class=num>{_krw(p['paid_gross'])}</td><td class=num>{_krw(p['amount_short'])}</td></tr>"
        for p in comp["periods"]
    )
    rows_rules = "".join(
        f"<tr><td>{e(r['rule'])}</td><td>{e(r['legal_basis'])}</td><td>{'applied' if r['applies'] else 'not applied'}</td>"
        f"<td>{e(r['reason'])}</td></tr>"
        for r in comp.get("rules", [])
    )
    wages = ", ".join(f"{w['year']}: {_krw(w['hourly_wage'])}" for w in bundle["minimum_wages"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Labour evidence {e(bundle["contract_id"][:10])}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}}
table{{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}}
th,td{{border:1px solid #ccc;padding:4px 6px;font-size:13px;vertical-align:top;text-align:left}}
th{{background:#f0f0f0}} .num{{text-align:right;white-space:nowrap}} code{{font-size:11px;word-break:break-all}}
.ref{{color:#555;font-size:11px}} td:first-child{{white-space:nowrap}} .total{{font-size:1.3em;font-weight:bold}}
</style></head><body>
<h1>Part-time worker evidence bundle (시간제 노동자 권익보호)</h1>
<p>Contract <code>{e(bundle["contract_id"])}</code> · chain id {bundle["chain"]["chain_id"]} ·
LaborRecords <code>{e(bundle["chain"]["labor_records"])}</code> · findings as of {e(bundle["as_of"])} ·
generated {e(bundle["generated_at"])}</p>
<p class=total>Total amount owed: {_krw(comp["total_amount_owed"])}</p>
<h2>Findings</h2>
<table><tr><th>finding</th><th>legal basis</th><th>pay period</th><th>owed</th><th>explanation</th></tr>{rows_find}</table>
<h2>Contract terms (co-signed by both parties)</h2>
<table>
<tr><th>employer</th><td><code>{e(t["employer"])}</code></td><th>worker</th><td><code>{e(t["worker"])}</code></td></tr>
<tr><th>document hash</th><td colspan=3><code>{e(t["document_hash"])}</code></td></tr>
<tr><th>hourly wage</th><td>{_krw(t["hourly_wage"])}</td><th>working days</th><td>{e(", ".join(t["work_days"]))}</td></tr>
<tr><th>hours per day</th><td>{t["daily_minutes"] / 60:g} h</td><th>hours per week</th><td>{t["weekly_minutes"] / 60:g} h</td></tr>
<tr><th>period</th><td>{e(t["start_date"])} – {e(t["end_date"])}</td><th>pay</th><td>{e(t["pay_cycle"])}, pay day {t["pay_day"]}</td></tr>
<tr><th>break per day</th><td>{t["break_minutes"]} min (unpaid)</td><th>workplace</th><td>{"five or more employees" if t["five_or_more_employees"] else "fewer than five employees"}</td></tr>
<tr><th>registered</th><td colspan=3>{_ref_html(c["registered"])}</td></tr>
</table>
<h2>Pay periods</h2>
<table><tr><th>period</th><th>due</th><th>worked</th><th>rate owed</th><th>straight time owed</th><th>overtime (150 %)</th><th>holiday work (150/200 %)</th><th>night premium (+50 %)</th><th>weekly holiday pay owed</th><th>paid (gross)</th><th>short</th></tr>{rows_periods}</table>
<h2>Work weeks</h2>
<table><tr><th>week of</th><th>status</th><th>rev.</th><th>worked</th><th>shifts</th><th>chain records</th></tr>{rows_weeks}</table>
<h2>Wage statements</h2>
<table><tr><th>period</th><th>paid on</th><th>base</th><th>holiday</th><th>overtime+other</th><th>gross</th><th>deductions</th><th>rev.</th><th>chain record</th></tr>{rows_st}</table>
<h2>Law applied</h2>
<p>Minimum hourly wage (by the date worked): {e(wages)}. Weekly holiday pay (주휴수당) is owed for a week when the
contracted weekly hours are at least 15 and every contracted day was worked: contracted weekly hours ÷ 40 × 8 hours
(at most 8) × the hourly rate. {e(comp["rounding"])}</p>
<table><tr><th>rule</th><th>legal basis</th><th></th><th>why</th></tr>{rows_rules}</table>
<p>Every row above is backed by a chain record listed in <code>bundle.json</code> (transaction hash, block,
log index, contract address). Check them against any Ethereum node with <code>civic-ledger labor verify bundle.json</code>.</p>
</body></html>
"""
