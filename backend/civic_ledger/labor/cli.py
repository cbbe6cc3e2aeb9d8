"""`civic-ledger labor`: an HTTP client of `/labor` plus a local signer.

Keys never leave the machine: each command that acts for someone loads that person's encrypted
keystore (``--as NAME|PATH``, see :mod:`civic_ledger.clikit`), fetches the typed data from the
API, signs it locally and posts the signature.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from rich.table import Table

from civic_ledger.clikit import DEFAULT_API_URL, CliContext, Group, resolve_password, sign_typed_data
from civic_ledger.clikit.exports import OutOpt, export
from civic_ledger.clikit.output import console, deployment_line, emit_json, fail, print_table, read_json, say

app = Group(help="Part-time worker protection: co-signed contracts, weekly logs, wage statements, findings, evidence.")
contract_app = app.group("contract", help="Labour contracts: prepare, sign (each party), submit, show.")
week_app = app.group("week", help="Work weeks: the employer records, the worker confirms or disputes.")
statement_app = app.group("statement", help="Wage statements (recorded by the employer).")

AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Judge late/missing pay as of this day (YYYY-MM-DD).")]
DEFAULT_API = DEFAULT_API_URL
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# ------------------------------------------------------------------ plumbing


def call(cli: CliContext, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
    """One request through the toolkit's client (errors: one ``error:`` line, exit 1)."""
    return cli.client.request(method, path, json_body=body, params=params)


def _signed(cli: CliContext, path: str, body: dict[str, Any], key: LocalAccount) -> Any:
    """POST path/typed-data, sign it locally, POST path with the deadline and signature."""
    td = call(cli, "POST", f"{path}/typed-data", body)
    return call(
        cli, "POST", path, {**body, "deadline": td["deadline"], "signature": sign_typed_data(key, td["typed_data"])}
    )


def file_hash(path: Path) -> str:
    try:
        return "0x" + keccak(path.read_bytes()).hex()
    except OSError as exc:
        fail(f"{path} can not be read: {exc.strerror}")


def krw(n: int | None) -> str:
    return "—" if n is None else f"₩{n:,}"


def ref_text(ref: dict[str, Any]) -> str:
    return f"block {ref['block_number']} tx {ref['tx_hash'][:14]}… log {ref['log_index']}"


# ------------------------------------------------------------------ keys


@app.command(uses=("password", "json"))
def keygen(
    cli: CliContext,
    out: Annotated[Path, typer.Argument(help="Where to write the new encrypted keystore.")],
) -> None:
    """Create a new key in an encrypted keystore (for an employer, a worker or a labour office)."""
    from civic_ledger.identity.keys import create_keystore_file

    account = create_keystore_file(out, resolve_password(cli.password, what=f"new keystore {out}", new=True))
    cli.show({"address": account.address, "path": str(out)}, lambda k: say(f"{k['address']}  →  {k['path']}"))


# ------------------------------------------------------------------ contracts


@contract_app.command("prepare", uses=("api", "json"))
def contract_prepare(
    cli: CliContext,
    terms: Annotated[Path, typer.Argument(help="JSON file with the terms (see POST /labor/contracts/typed-data).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Offer file to write; each party signs it.")] = Path(
        "offer.json"
    ),
    document: Annotated[
        Path | None, typer.Option(help="The full contract document; its keccak-256 becomes document_hash.")
    ] = None,
) -> None:
    """Turn the terms into typed data both parties sign (written to an offer file)."""
    body = read_json(terms)
    if document is not None:
        body["document_hash"] = file_hash(document)
    td = call(cli, "POST", "/labor/contracts/typed-data", body)
    offer = {"terms": {k: v for k, v in body.items() if k != "deadline"}, **td, "signatures": {}}
    out.write_text(json.dumps(offer, indent=2))
    cli.show(
        {"offer": str(out), "contract_id": td["contract_id"], "deadline": td["deadline"]},
        lambda o: say(
            f"offer for contract [bold]{o['contract_id']}[/] written to {o['offer']}; sign it as employer and worker "
            f"before {o['deadline']} (unix time)"
        ),
    )


@contract_app.command("sign", uses=("signer", "json"))
def contract_sign(
    cli: CliContext,
    offer: Annotated[Path, typer.Argument(help="Offer file from `labor contract prepare`.")],
) -> None:
    """Sign an offer as the employer or the worker (found from the key's address)."""
    data = read_json(offer)
    key = cli.signer()
    roles = [r for r in ("employer", "worker") if data["terms"][r].lower() == key.address.lower()]
    if not roles:
        fail(f"{key.address} is neither the employer nor the worker of this offer")
    for role in roles:
        data["signatures"][role] = sign_typed_data(key, data["typed_data"])
    offer.write_text(json.dumps(data, indent=2))
    missing = [r for r in ("employer", "worker") if r not in data["signatures"]]
    cli.show(
        {"signed_as": roles, "missing": missing},
        lambda _: console.print(
            f"signed as {', '.join(roles)}"
            + (f"; still needs: {', '.join(missing)}" if missing else "; ready to submit")
        ),
    )


@contract_app.command("submit", uses=("api", "json"))
def contract_submit(
    cli: CliContext,
    offer: Annotated[Path, typer.Argument(help="Offer file signed by both parties.")],
) -> None:
    """Register the co-signed contract on chain."""
    data = read_json(offer)
    missing = [r for r in ("employer", "worker") if r not in data.get("signatures", {})]
    if missing:
        fail(f"the offer is not signed by: {', '.join(missing)} (use `labor contract sign`)")
    out = call(
        cli,
        "POST",
        "/labor/contracts",
        {
            "terms": data["terms"],
            "deadline": data["deadline"],
            "employer_signature": data["signatures"]["employer"],
            "worker_signature": data["signatures"]["worker"],
        },
    )
    cli.show(
        out,
        lambda out: say(f"[green]registered[/] contract [bold]{out['contract_id']}[/] ({ref_text(out['registered'])})"),
    )


@contract_app.command("show", uses=("api", "json"))
def contract_show(
    cli: CliContext,
    contract_id: str,
) -> None:
    """Show a contract's terms and where it is on chain."""
    cli.show(call(cli, "GET", f"/labor/contracts/{contract_id}"), _print_contract)


def _print_contract(out: dict[str, Any]) -> None:
    table = Table(title=f"contract {out['contract_id']}", show_header=False)
    for key, value in out["terms"].items():
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    table.add_row("registered", ref_text(out["registered"]))
    console.print(table)


@contract_app.command("check-document", uses=("api", "json"))
def contract_check_document(
    cli: CliContext,
    contract_id: str,
    document: Path,
) -> None:
    """Is this file the document both parties signed? (exit code 1 when not)"""
    out = call(cli, "POST", f"/labor/contracts/{contract_id}/document-check", {"document_hash": file_hash(document)})
    cli.show(
        out, lambda out: say(("[green]match[/]: " if out["matches"] else "[bold red]MISMATCH[/]: ") + out["message"])
    )
    if not out["matches"]:
        raise typer.Exit(1)


# ------------------------------------------------------------------ weeks

_DAY = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun)\s+(\d{1,2}:\d{2})-(\d{1,2}:\d{2})(?:\s+(\d+))?(?:\s+(holiday))?$", re.IGNORECASE
)
DAY_HELP = (
    "A shift: 'DAY START-END', optionally followed by the unpaid break in minutes and the word holiday, e.g. "
    "'mon 09:00-13:00', 'mon 09:00-13:30 30' (30 min unpaid "
    "break), 'sat 22:00-06:00 60' (ends the next day: an END before START is the next morning), "
    "'sun 10:00-21:00 60 holiday' (the day is a holiday for the worker: holiday work). Repeat for each shift."
)


def parse_days(week_start: date, days: list[str]) -> list[dict[str, Any]]:
    """`--day` texts as daily entries (see DAY_HELP); the old 'mon 09:00-13:00' form still works."""
    out = []
    for text in days:
        m = _DAY.match(text.strip())
        if m is None:
            fail(f"--day {text!r}: use 'mon 09:00-13:00', 'mon 09:00-18:00 60' (break minutes) or add 'holiday'")
        day = week_start + timedelta(days=WEEKDAYS.index(m.group(1).lower()))
        out.append(
            {
                "date": day.isoformat(),
                "start": m.group(2).zfill(5),
                "end": m.group(3).zfill(5),
                "break_minutes": int(m.group(4) or 0),
                "holiday": m.group(5) is not None,
            }
        )
    return out


@week_app.command("record", uses=("signer", "api", "json"))
def week_record(
    cli: CliContext,
    contract_id: str,
    week: Annotated[str, typer.Option("--week", help="The Monday of the week (YYYY-MM-DD).")],
    day: Annotated[list[str], typer.Option("--day", help=DAY_HELP)] = [],  # noqa: B006
    revision: Annotated[int, typer.Option(help="0 for a new week, previous + 1 after a dispute.")] = 0,
) -> None:
    """Record a week's shifts (employer). The shifts go on chain with the week (start, end, unpaid break, holiday
    flag; no names), with their Merkle root; the checks of overtime, night and holiday work and breaks read them."""
    key = cli.signer()
    try:
        monday = date.fromisoformat(week)
    except ValueError:
        fail(f"--week {week!r}: use the Monday's date, YYYY-MM-DD")
    body = {"week_start": week, "entries": parse_days(monday, day), "revision": revision}
    out = _signed(cli, f"/labor/contracts/{contract_id}/weeks", body, key)
    cli.show(
        out,
        lambda out: say(
            f"week of {out['week_start']}: {out['minutes_worked'] / 60:g} h on {', '.join(out['days_worked']) or 'no day'} "
            f"recorded (revision {out['revision']}); awaiting the worker's confirmation"
        ),
    )


@week_app.command("confirm", uses=("signer", "api", "json"))
def week_confirm(
    cli: CliContext,
    contract_id: str,
    week: str,
) -> None:
    """Confirm a week exactly as recorded (worker)."""
    key = cli.signer()
    out = _signed(cli, f"/labor/contracts/{contract_id}/weeks/{week}/confirm", {}, key)
    cli.show(
        out,
        lambda out: say(f"week of {out['week_start']} [green]confirmed[/] ({out['minutes_worked'] / 60:g} h)"),
    )


@week_app.command("dispute", uses=("signer", "api", "json"))
def week_dispute(
    cli: CliContext,
    contract_id: str,
    week: str,
    claimed_hours: Annotated[float, typer.Option(help="Hours you say you worked that week.")],
    claimed_days: Annotated[str, typer.Option(help="Days you worked, e.g. mon,tue,wed.")],
    reason: Annotated[str, typer.Option(help="Why (kept off chain; only its hash goes on chain).")],
) -> None:
    """Dispute a week as recorded (worker)."""
    key = cli.signer()
    body = {
        "claimed_minutes": round(claimed_hours * 60),
        "claimed_days": [d.strip().lower() for d in claimed_days.split(",") if d.strip()],
        "reason": reason,
    }
    out = _signed(cli, f"/labor/contracts/{contract_id}/weeks/{week}/dispute", body, key)
    cli.show(
        out,
        lambda out: say(
            f"week of {out['week_start']} [yellow]disputed[/]; keep your reason text: its hash is on chain"
        ),
    )


@week_app.command("list", uses=("api", "json"))
def week_list(
    cli: CliContext,
    contract_id: str,
) -> None:
    """The contract's weeks and their status."""
    cli.show(
        call(cli, "GET", f"/labor/contracts/{contract_id}/weeks"),
        lambda weeks: print_table(
            ("week of", "status", "rev", "hours", "days", "last record"),
            (
                (
                    w["week_start"],
                    w["status"],
                    str(w["revision"]),
                    f"{w['minutes_worked'] / 60:g}",
                    ",".join(w["days_worked"]),
                    ref_text(w["history"][-1]["ref"]),
                )
                for w in weeks
            ),
            title=f"weeks of {contract_id[:12]}…",
        ),
    )


# ------------------------------------------------------------------ statements


@statement_app.command("record", uses=("signer", "api", "json"))
def statement_record(
    cli: CliContext,
    contract_id: str,
    period_start: Annotated[str, typer.Option(help="First day of the pay period.")],
    period_end: Annotated[str, typer.Option(help="Last day of the pay period.")],
    paid_on: Annotated[str, typer.Option(help="Payment date.")],
    base: Annotated[int, typer.Option(help="Base pay for hours worked (KRW).")],
    holiday: Annotated[int, typer.Option(help="Weekly holiday pay (KRW).")] = 0,
    overtime: Annotated[int, typer.Option(help="Overtime pay (KRW).")] = 0,
    other: Annotated[int, typer.Option(help="Other pay (KRW).")] = 0,
    deductions: Annotated[int, typer.Option(help="Deductions (KRW).")] = 0,
    document: Annotated[Path | None, typer.Option(help="The full statement; its keccak-256 is recorded.")] = None,
    revision: Annotated[int, typer.Option(help="0 for the first statement of the period, +1 per correction.")] = 0,
) -> None:
    """Record a wage statement (employer)."""
    key = cli.signer()
    statement_hash = (
        file_hash(document)
        if document
        else "0x" + keccak(text=f"statement {contract_id} {period_start} {revision}").hex()
    )
    body = {
        "period_start": period_start,
        "period_end": period_end,
        "payment_date": paid_on,
        "statement_hash": statement_hash,
        "base_pay": base,
        "holiday_pay": holiday,
        "overtime_pay": overtime,
        "other_pay": other,
        "deductions": deductions,
        "revision": revision,
    }
    out = _signed(cli, f"/labor/contracts/{contract_id}/statements", body, key)
    cli.show(
        out,
        lambda out: say(
            f"statement {out['period_start']} – {out['period_end']}: gross {krw(out['gross_pay'])}, paid {out['payment_date']} "
            f"({ref_text(out['ref'])})"
        ),
    )


# ------------------------------------------------------------------ findings and evidence


def _print_findings(report: dict[str, Any]) -> None:
    table = Table(title=f"findings as of {report['as_of']}")
    for col in ("finding", "legal basis", "pay period", "owed", "explanation"):
        table.add_column(col, justify="right" if col == "owed" else "left")
    for f in report["findings"]:
        table.add_row(
            f["kind"],
            f.get("legal_basis", ""),
            f"{f['period_start']} – {f['period_end']}",
            krw(f["amount_owed"]),
            f["message"],
        )
    if not report["findings"]:
        table.add_row("none", "", "", "", "no finding")
    console.print(table)
    for rule in report.get("rules", []):
        mark = "[green]applied[/]" if rule["applies"] else "[yellow]not applied[/]"
        say(f"  {mark}  {rule['rule']} ({rule['legal_basis']}): {rule['reason']}")
    say(f"total owed: [bold]{krw(report['total_amount_owed'])}[/]  ({report['rounding']})")


@app.command(uses=("api", "json"))
def check(
    cli: CliContext,
    contract_id: str,
    as_of: AsOfOpt = None,
    out: OutOpt = None,
) -> None:
    """Compliance findings: minimum wage, weekly holiday pay, underpayment, late or missing pay, disputes.

    Examples:

      civic-ledger labor check 0x<contract id> --as-of 2026-04-30

      civic-ledger labor check 0x<contract id> --as-of 2026-04-30 --json   # findings as JSON

      civic-ledger labor check 0x<contract id> --as-of 2026-04-30 --out findings.csv
    """
    report = call(cli, "GET", f"/labor/contracts/{contract_id}/compliance", params={"as_of": as_of} if as_of else None)
    emit_json(report) if cli.as_json else _print_findings(report)
    export(out, report, FINDING_COLUMNS, [{"contract_id": contract_id, **f} for f in report["findings"]])


FINDING_COLUMNS = (
    "contract_id", "kind", "legal_basis", "period_start", "period_end", "amount_owed", "message", "weeks", "details",
)  # fmt: skip


@app.command(uses=("api", "json"))
def evidence(
    cli: CliContext,
    contract_id: str,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for bundle.json and report.html.")] = Path(
        "evidence"
    ),
    as_of: AsOfOpt = None,
) -> None:
    """Export the evidence bundle (JSON) and a readable HTML report for a labour office complaint."""
    params = {"as_of": as_of} if as_of else None
    bundle = call(cli, "GET", f"/labor/contracts/{contract_id}/evidence", params=params)
    page = call(cli, "GET", f"/labor/contracts/{contract_id}/evidence.html", params=params)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bundle.json").write_text(json.dumps(bundle, indent=2, ensure_ascii=False))
    (out / "report.html").write_text(page)
    if cli.as_json:
        return emit_json(
            {"bundle": str(out / "bundle.json"), "report": str(out / "report.html"), **bundle["compliance"]}
        )
    _print_findings(bundle["compliance"])
    say(f"{len(bundle['records'])} chain records → {out / 'bundle.json'}, report → {out / 'report.html'}")


@app.command(uses=("node?", "api", "json"))
def verify(
    cli: CliContext,
    bundle: Annotated[Path, typer.Argument(help="bundle.json from `labor evidence`.")],
) -> None:
    """Re-check every chain reference of an evidence bundle (exit code 1 when anything fails).

    With --rpc-url, straight against that node (no API); LaborRecords' address and ABI come from a
    trusted deployment (--manifest, or the server's), never from the bundle."""
    data = read_json(bundle)
    if cli.rpc_url:
        from civic_ledger.labor.evidence import verify_bundle
        from civic_ledger.platform.trust import trusted_from_node

        trusted = trusted_from_node(cli.rpc_url, cli.manifest, cli.data)
        result = verify_bundle(trusted, data).model_dump()
    else:
        if cli.manifest is not None:
            fail("--manifest needs --rpc-url (through the API, the server's deployment is used)")
        result = call(cli, "POST", "/labor/evidence/verify", data)
    if cli.as_json:
        emit_json(result)
        raise typer.Exit(0 if result["ok"] else 1)
    d = result["deployment"]
    say(deployment_line(d))
    table = Table(title=f"{bundle} against chain id {result['chain_id']}")
    table.add_column("record")
    table.add_column("result")
    for c in result["checks"]:
        table.add_row(c["record"], "[green]ok[/]" if c["ok"] else f"[red]{c['problem']}[/]")
    console.print(table)
    if result["ok"]:
        console.print(
            f"[bold green]verified[/]: {result['records_checked']} chain records and every derived section match the chain"
        )
    else:
        console.print(f"[bold red]NOT verified[/]: {len(result['problems'])} problem(s)")
        raise typer.Exit(1)
