"""`civic-ledger labor`: an HTTP client of `/labor` plus a local signer.

Keys never leave the machine: each command that acts for someone loads that person's encrypted
eth-account keystore (`--keystore`, password from `--password` or CIVIC_KEYSTORE_PASSWORD),
fetches the typed data from the API, signs it locally and posts the signature.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from rich.table import Table

from civic_ledger.cli_support import console, fail
from civic_ledger.platform import eip712

app = typer.Typer(
    help="Part-time worker protection: co-signed contracts, weekly logs, wage statements, findings, evidence.",
    no_args_is_help=True,
)
contract_app = typer.Typer(help="Labour contracts: prepare, sign (each party), submit, show.", no_args_is_help=True)
week_app = typer.Typer(help="Work weeks: the employer records, the worker confirms or disputes.", no_args_is_help=True)
statement_app = typer.Typer(help="Wage statements (recorded by the employer).", no_args_is_help=True)
app.add_typer(contract_app, name="contract")
app.add_typer(week_app, name="week")
app.add_typer(statement_app, name="statement")


ApiOpt = Annotated[str, typer.Option("--api", envvar="CIVIC_API_URL", help="Base URL of the civic-ledger API.")]
KeystoreOpt = Annotated[Path, typer.Option("--keystore", "-k", help="Encrypted keystore (JSON) of the person acting.")]
PasswordOpt = Annotated[
    str | None,
    typer.Option("--password", envvar="CIVIC_KEYSTORE_PASSWORD", help="Keystore password.", show_default=False),
]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Judge late/missing pay as of this day (YYYY-MM-DD).")]
DEFAULT_API = "http://127.0.0.1:8000"
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# ------------------------------------------------------------------ plumbing


def load_key(path: Path, password: str | None) -> LocalAccount:
    try:
        blob = json.loads(path.read_text())
    except OSError as exc:
        fail(f"keystore {path} can not be read: {exc.strerror}")
    except ValueError:
        fail(f"keystore {path} is not JSON")
    if password is None:
        password = typer.prompt(f"password of {path}", hide_input=True)
    try:
        return Account.from_key(Account.decrypt(blob, password))
    except ValueError:
        fail(f"keystore {path}: wrong password")
    raise AssertionError  # unreachable


def call(api: str, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
    try:
        r = httpx.request(method, api.rstrip("/") + path, json=body, params=params, timeout=120)
    except httpx.HTTPError as exc:
        fail(f"the API at {api} can not be reached ({exc}); start it with `civic-ledger serve` or set --api")
    if r.status_code >= 400:
        try:
            payload = r.json()
            fail(f"{payload.get('message', r.text)} [{r.status_code} {payload.get('error')}]")
        except ValueError:
            fail(f"HTTP {r.status_code}: {r.text[:300]}")
    return r.json() if "json" in r.headers.get("content-type", "") else r.text


def sign(typed_data: dict[str, Any], key: LocalAccount) -> str:
    return "0x" + eip712.TypedMessage.from_dict(typed_data).sign(key).hex()


def file_hash(path: Path) -> str:
    try:
        return "0x" + keccak(path.read_bytes()).hex()
    except OSError as exc:
        fail(f"{path} can not be read: {exc.strerror}")
    raise AssertionError


def krw(n: int | None) -> str:
    return "—" if n is None else f"₩{n:,}"


def ref_text(ref: dict[str, Any]) -> str:
    return f"block {ref['block_number']} tx {ref['tx_hash'][:14]}… log {ref['log_index']}"


# ------------------------------------------------------------------ keys


@app.command()
def keygen(
    out: Annotated[Path, typer.Argument(help="Where to write the new encrypted keystore.")],
    password: PasswordOpt = None,
) -> None:
    """Create a new key in an encrypted keystore (for an employer, a worker or a labour office)."""
    if out.exists():
        fail(f"{out} exists; not overwriting it")
    if password is None:
        password = typer.prompt("new keystore password", hide_input=True, confirmation_prompt=True)
    account = Account.create()
    out.write_text(json.dumps(Account.encrypt(account.key, password)))
    os.chmod(out, 0o600)
    console.print(f"{account.address}  →  {out}", highlight=False)


# ------------------------------------------------------------------ contracts


@contract_app.command("prepare")
def contract_prepare(
    terms: Annotated[Path, typer.Argument(help="JSON file with the terms (see POST /labor/contracts/typed-data).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Offer file to write; each party signs it.")] = Path(
        "offer.json"
    ),
    document: Annotated[
        Path | None, typer.Option(help="The full contract document; its keccak-256 becomes document_hash.")
    ] = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Turn the terms into typed data both parties sign (written to an offer file)."""
    try:
        body = json.loads(terms.read_text())
    except (OSError, ValueError) as exc:
        fail(f"{terms}: {exc}")
    if document is not None:
        body["document_hash"] = file_hash(document)
    td = call(api, "POST", "/labor/contracts/typed-data", body)
    offer = {"terms": {k: v for k, v in body.items() if k != "deadline"}, **td, "signatures": {}}
    out.write_text(json.dumps(offer, indent=2))
    console.print(
        f"offer for contract [bold]{td['contract_id']}[/] written to {out}; sign it as employer and worker "
        f"before {td['deadline']} (unix time)",
        highlight=False,
    )


@contract_app.command("sign")
def contract_sign(
    offer: Annotated[Path, typer.Argument(help="Offer file from `labor contract prepare`.")],
    keystore: KeystoreOpt,
    password: PasswordOpt = None,
) -> None:
    """Sign an offer as the employer or the worker (found from the key's address)."""
    data = json.loads(offer.read_text())
    key = load_key(keystore, password)
    roles = [r for r in ("employer", "worker") if data["terms"][r].lower() == key.address.lower()]
    if not roles:
        fail(f"{key.address} is neither the employer nor the worker of this offer")
    for role in roles:
        data["signatures"][role] = sign(data["typed_data"], key)
    offer.write_text(json.dumps(data, indent=2))
    missing = [r for r in ("employer", "worker") if r not in data["signatures"]]
    console.print(
        f"signed as {', '.join(roles)}" + (f"; still needs: {', '.join(missing)}" if missing else "; ready to submit")
    )


@contract_app.command("submit")
def contract_submit(
    offer: Annotated[Path, typer.Argument(help="Offer file signed by both parties.")],
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Register the co-signed contract on chain."""
    data = json.loads(offer.read_text())
    missing = [r for r in ("employer", "worker") if r not in data.get("signatures", {})]
    if missing:
        fail(f"the offer is not signed by: {', '.join(missing)} (use `labor contract sign`)")
    out = call(
        api,
        "POST",
        "/labor/contracts",
        {
            "terms": data["terms"],
            "deadline": data["deadline"],
            "employer_signature": data["signatures"]["employer"],
            "worker_signature": data["signatures"]["worker"],
        },
    )
    console.print(
        f"[green]registered[/] contract [bold]{out['contract_id']}[/] ({ref_text(out['registered'])})", highlight=False
    )


@contract_app.command("show")
def contract_show(contract_id: str, api: ApiOpt = DEFAULT_API) -> None:
    """Show a contract's terms and where it is on chain."""
    out = call(api, "GET", f"/labor/contracts/{contract_id}")
    table = Table(title=f"contract {out['contract_id']}", show_header=False)
    for key, value in out["terms"].items():
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    table.add_row("registered", ref_text(out["registered"]))
    console.print(table)


@contract_app.command("check-document")
def contract_check_document(contract_id: str, document: Path, api: ApiOpt = DEFAULT_API) -> None:
    """Is this file the document both parties signed? (exit code 1 when not)"""
    out = call(api, "POST", f"/labor/contracts/{contract_id}/document-check", {"document_hash": file_hash(document)})
    console.print(
        ("[green]match[/]: " if out["matches"] else "[bold red]MISMATCH[/]: ") + out["message"], highlight=False
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
            raise AssertionError  # unreachable
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


@week_app.command("record")
def week_record(
    contract_id: str,
    week: Annotated[str, typer.Option("--week", help="The Monday of the week (YYYY-MM-DD).")],
    keystore: KeystoreOpt,
    day: Annotated[list[str], typer.Option("--day", help=DAY_HELP)] = [],  # noqa: B006
    revision: Annotated[int, typer.Option(help="0 for a new week, previous + 1 after a dispute.")] = 0,
    password: PasswordOpt = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Record a week's shifts (employer). The shifts go on chain with the week (start, end, unpaid break, holiday
    flag; no names), with their Merkle root; the checks of overtime, night and holiday work and breaks read them."""
    key = load_key(keystore, password)
    body = {"week_start": week, "entries": parse_days(date.fromisoformat(week), day), "revision": revision}
    td = call(api, "POST", f"/labor/contracts/{contract_id}/weeks/typed-data", body)
    out = call(
        api,
        "POST",
        f"/labor/contracts/{contract_id}/weeks",
        {**body, "deadline": td["deadline"], "signature": sign(td["typed_data"], key)},
    )
    console.print(
        f"week of {out['week_start']}: {out['minutes_worked'] / 60:g} h on {', '.join(out['days_worked']) or 'no day'} "
        f"recorded (revision {out['revision']}); awaiting the worker's confirmation",
        highlight=False,
    )


@week_app.command("confirm")
def week_confirm(
    contract_id: str, week: str, keystore: KeystoreOpt, password: PasswordOpt = None, api: ApiOpt = DEFAULT_API
) -> None:
    """Confirm a week exactly as recorded (worker)."""
    key = load_key(keystore, password)
    td = call(api, "POST", f"/labor/contracts/{contract_id}/weeks/{week}/confirm/typed-data", {})
    out = call(
        api,
        "POST",
        f"/labor/contracts/{contract_id}/weeks/{week}/confirm",
        {"deadline": td["deadline"], "signature": sign(td["typed_data"], key)},
    )
    console.print(
        f"week of {out['week_start']} [green]confirmed[/] ({out['minutes_worked'] / 60:g} h)", highlight=False
    )


@week_app.command("dispute")
def week_dispute(
    contract_id: str,
    week: str,
    keystore: KeystoreOpt,
    claimed_hours: Annotated[float, typer.Option(help="Hours you say you worked that week.")],
    claimed_days: Annotated[str, typer.Option(help="Days you worked, e.g. mon,tue,wed.")],
    reason: Annotated[str, typer.Option(help="Why (kept off chain; only its hash goes on chain).")],
    password: PasswordOpt = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Dispute a week as recorded (worker)."""
    key = load_key(keystore, password)
    body = {
        "claimed_minutes": round(claimed_hours * 60),
        "claimed_days": [d.strip().lower() for d in claimed_days.split(",") if d.strip()],
        "reason": reason,
    }
    td = call(api, "POST", f"/labor/contracts/{contract_id}/weeks/{week}/dispute/typed-data", body)
    out = call(
        api,
        "POST",
        f"/labor/contracts/{contract_id}/weeks/{week}/dispute",
        {**body, "deadline": td["deadline"], "signature": sign(td["typed_data"], key)},
    )
    console.print(
        f"week of {out['week_start']} [yellow]disputed[/]; keep your reason text: its hash is on chain", highlight=False
    )


@week_app.command("list")
def week_list(contract_id: str, api: ApiOpt = DEFAULT_API) -> None:
    """The contract's weeks and their status."""
    weeks = call(api, "GET", f"/labor/contracts/{contract_id}/weeks")
    table = Table(title=f"weeks of {contract_id[:12]}…")
    for col in ("week of", "status", "rev", "hours", "days", "last record"):
        table.add_column(col)
    for w in weeks:
        table.add_row(
            w["week_start"],
            w["status"],
            str(w["revision"]),
            f"{w['minutes_worked'] / 60:g}",
            ",".join(w["days_worked"]),
            ref_text(w["history"][-1]["ref"]),
        )
    console.print(table)


# ------------------------------------------------------------------ statements


@statement_app.command("record")
def statement_record(
    contract_id: str,
    keystore: KeystoreOpt,
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
    password: PasswordOpt = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Record a wage statement (employer)."""
    key = load_key(keystore, password)
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
    td = call(api, "POST", f"/labor/contracts/{contract_id}/statements/typed-data", body)
    out = call(
        api,
        "POST",
        f"/labor/contracts/{contract_id}/statements",
        {**body, "deadline": td["deadline"], "signature": sign(td["typed_data"], key)},
    )
    console.print(
        f"statement {out['period_start']} – {out['period_end']}: gross {krw(out['gross_pay'])}, paid {out['payment_date']} "
        f"({ref_text(out['ref'])})",
        highlight=False,
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
        console.print(f"  {mark}  {rule['rule']} ({rule['legal_basis']}): {rule['reason']}", highlight=False)
    console.print(f"total owed: [bold]{krw(report['total_amount_owed'])}[/]  ({report['rounding']})", highlight=False)


@app.command()
def check(contract_id: str, as_of: AsOfOpt = None, api: ApiOpt = DEFAULT_API) -> None:
    """Compliance findings: minimum wage, weekly holiday pay, underpayment, late or missing pay, disputes."""
    report = call(api, "GET", f"/labor/contracts/{contract_id}/compliance", params={"as_of": as_of} if as_of else None)
    _print_findings(report)


@app.command()
def evidence(
    contract_id: str,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for bundle.json and report.html.")] = Path(
        "evidence"
    ),
    as_of: AsOfOpt = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Export the evidence bundle (JSON) and a readable HTML report for a labour office complaint."""
    params = {"as_of": as_of} if as_of else None
    bundle = call(api, "GET", f"/labor/contracts/{contract_id}/evidence", params=params)
    page = call(api, "GET", f"/labor/contracts/{contract_id}/evidence.html", params=params)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bundle.json").write_text(json.dumps(bundle, indent=2, ensure_ascii=False))
    (out / "report.html").write_text(page)
    _print_findings(bundle["compliance"])
    console.print(
        f"{len(bundle['records'])} chain records → {out / 'bundle.json'}, report → {out / 'report.html'}",
        highlight=False,
    )


@app.command()
def verify(
    bundle: Annotated[Path, typer.Argument(help="bundle.json from `labor evidence`.")],
    rpc_url: Annotated[
        str | None,
        typer.Option(
            "--rpc-url", help="Check against this JSON-RPC node directly (with --manifest) instead of through the API."
        ),
    ] = None,
    rpc_alias: Annotated[str | None, typer.Option("--rpc", hidden=True)] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            help="With --rpc-url: the deployment manifest you trust (deployment-<chainId>.json); default: the one "
            "for the node's chain id in CIVIC_DATA_DIR. The bundle's own contract address is only compared with it.",
        ),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Where the default manifest is.")] = None,
    api: ApiOpt = DEFAULT_API,
) -> None:
    """Re-check every chain reference of an evidence bundle (exit code 1 when anything fails).

    LaborRecords' address and ABI come from a trusted deployment (the manifest, or the server's),
    never from the bundle."""
    try:
        data = json.loads(bundle.read_text())
    except (OSError, ValueError) as exc:
        fail(f"{bundle} is not a readable JSON bundle: {exc}")
    rpc = rpc_url or rpc_alias
    if rpc:
        from civic_ledger.cli_support import data_dir_or_default
        from civic_ledger.errors import CivicLedgerError
        from civic_ledger.labor.evidence import verify_bundle
        from civic_ledger.platform.trust import trusted_from_node

        try:
            trusted = trusted_from_node(rpc, manifest, data_dir_or_default(data_dir))
            result = verify_bundle(trusted, data).model_dump()
        except CivicLedgerError as exc:
            fail(exc.message)
    else:
        if manifest is not None:
            fail("--manifest needs --rpc-url (through the API, the server's deployment is used)")
        result = call(api, "POST", "/labor/evidence/verify", data)
    d = result["deployment"]
    console.print(
        f"trusted deployment: chain id {d['chain_id']} · {d['manifest']} · sha256 {d['manifest_sha256']} · "
        + ", ".join(f"{n} {a}" for n, a in d["contracts"].items()),
        highlight=False,
    )
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
