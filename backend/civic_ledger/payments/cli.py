"""`civic-ledger payments`: automatic subcontract payment from the command line.

An HTTP client of the API plus a local signer: each actor's key stays in its encrypted
keystore (``--as NAME`` or a path; password from ``--password`` or CIVIC_KEYSTORE_PASSWORD).
The command fetches the typed data, signs it locally and posts the signature.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from rich.table import Table

from civic_ledger.clikit import (
    CliContext,
    Group,
    address_or_keystore,
    console,
    emit_json,
    say,
    sign_typed_data,
)
from civic_ledger.clikit.exports import OutOpt, export
from civic_ledger.clikit.times import show_time
from civic_ledger.errors import InvalidInput
from civic_ledger.payments.actions import GROUND_CODES, GROUNDS, PURPOSE_CODES, PURPOSES, ROLES

app = Group(help="Automatic subcontract payment: projects, purpose buckets, claims, approvals, direct settlement.")


def _addr(value: str, data_dir: Path | None = None) -> str:
    """An address as given, or the address of a local keystore NAME or file (read without its password)."""
    return address_or_keystore(value, data_dir)


def _signed(cli: CliContext, path: str, body: dict[str, Any], account: LocalAccount) -> dict[str, Any]:
    """typed data → sign locally → post the action."""
    api = cli.client
    typed = api.post(path + "/typed-data", body)
    if typed["signer"] != account.address:
        raise InvalidInput(f"this action must be signed by {typed['signer']}, the keystore holds {account.address}")
    message = typed["typed_data"]["message"]
    full = {**body, "nonce": message["nonce"], "deadline": message["deadline"]}
    full["signature"] = sign_typed_data(account, typed["typed_data"])
    if isinstance(message.get("lines"), int):
        full["lines"] = message["lines"]
    return dict(api.post(path, full))


def _act(cli: CliContext, path: str, body: dict[str, Any], title: str, signer_field: str | None = None) -> None:
    """The --as signer signs PATH's action (its address as ``signer_field``); print the transaction."""
    account = cli.signer()
    full = {**body, signer_field: account.address} if signer_field else body
    _print_tx(_signed(cli, path, full, account), title, cli.as_json)


def _admin(cli: CliContext, path: str, body: dict[str, Any], title: str) -> None:
    """An admin (--as signs in, or --token) posts PATH; print the transaction."""
    _print_tx(cli.client.post(path, body, token=cli.session()), title, cli.as_json)


def _hash32(text: str) -> str:
    """0x + 64 hex digits as given, else the keccak-256 of the text (a document name or its content)."""
    if text.startswith("0x") and len(text) == 66:
        return text.lower()
    path = Path(text)
    data = path.read_bytes() if path.is_file() else text.encode()
    return "0x" + keccak(data).hex()


def _print_tx(out: dict[str, Any], title: str, as_json: bool = False) -> None:
    if as_json:
        return emit_json(out)
    ids = " ".join(f"{k.removesuffix('_id')} {out[k]}" for k in ("project_id", "claim_id") if out.get(k) is not None)
    ids = f" ({ids})" if ids else ""
    say(f"[green]{title}[/]{ids} · tx {out['tx_hash']} · block {out['block_number']} · gas {out['gas_used']:,}")
    if not out["events"]:
        return
    table = Table(show_header=True)
    table.add_column("event")
    table.add_column("details")
    for e in out["events"]:
        args = ", ".join(f"{k}={_fmt(k, v)}" for k, v in e["args"].items() if k != "projectId" and not _zero(v))
        table.add_row(e["event"], args)
    console.print(table)


def _zero(value: Any) -> bool:
    return isinstance(value, str) and value == "0x" + "0" * 40


def _fmt(key: str, value: Any) -> str:
    if key == "purpose":
        return PURPOSES.get(int(value), str(value))
    if key == "role" and isinstance(value, int):
        return ROLES.get(value, str(value))
    if key == "ground":
        return GROUNDS.get(int(value), str(value))
    if key in ("lines",) and isinstance(value, int):
        return "{" + ",".join(str(i) for i in range(value.bit_length()) if value >> i & 1) + "}"
    if key in ("due", "paidAt") and isinstance(value, int) and value:
        return show_time(value)
    if isinstance(value, int) and value >= 2**200:
        return "unlimited"
    if isinstance(value, int) and value >= 10_000:
        return f"{value:,}"
    return str(value)


def _won(text: str, what: str) -> int:
    """Whole won: digits (``1,200,000`` and ``1_200_000`` allowed); anything else is one clear error."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned.isdigit():
        raise InvalidInput(f"{what} must be whole won (digits, e.g. 45000000), got {text!r}")
    return int(cleaned)


def _participants(
    subs: list[str], suppliers: list[str], workers: list[str], data_dir: Path | None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for spec, role in [(s, "subcontractor") for s in subs] + [(s, "supplier") for s in suppliers]:
        account, _, amount = spec.partition("=")
        option = "--sub" if role == "subcontractor" else "--supplier"
        out.append(
            {
                "account": _addr(account, data_dir),
                "role": role,
                "contract_amount": _won(amount or "0", f"{option} {spec!r}: the contract amount"),
            }
        )
    for spec in workers:
        account, sep, employer = spec.partition("@")
        if not sep:
            raise InvalidInput(f"--worker {spec!r}: use ADDRESS@EMPLOYER (the prime or a subcontractor)")
        out.append({"account": _addr(account, data_dir), "role": "worker", "employer": _addr(employer, data_dir)})
    return out


# -- city admin / treasury ------------------------------------------------------------------


@app.command(uses=("admin", "api", "json"))
def grant(
    cli: CliContext,
    role: Annotated[str, typer.Argument(help="client | inspector")],
    account: Annotated[str, typer.Argument(help="Address to grant the role to.")],
) -> None:
    """Grant CLIENT_ROLE (a city department) or INSPECTOR_ROLE (operator action)."""
    _admin(cli, "/payments/roles", {"role": role, "account": cli.address(account)}, f"granted {role} to {account}")


@app.command(uses=("admin", "api", "json"))
def mint(
    cli: CliContext,
    to: Annotated[
        str, typer.Argument(help="Address or keystore name receiving the won (e.g. a department's budget account).")
    ],
    amount: Annotated[int, typer.Argument(help="Whole won.")],
) -> None:
    """Mint KRW tokens (treasury = operator). The token stands in for the bank accounts a real deployment settles through."""
    _admin(cli, "/payments/treasury/mint", {"to": cli.address(to), "amount": amount}, f"minted {amount:,} won")


@app.command(uses=("admin", "api", "json"))
def block(
    cli: CliContext,
    account: Annotated[str, typer.Argument(help="Account under seizure or with a closed bank account.")],
    unblock: Annotated[bool, typer.Option("--unblock", help="Lift the block.")] = False,
) -> None:
    """Block (or unblock) an account on the token: payments to it are credited instead of pushed."""
    _admin(
        cli,
        "/payments/treasury/blocked",
        {"account": cli.address(account), "blocked": not unblock},
        f"{'unblocked' if unblock else 'blocked'} {account}",
    )


# -- client ------------------------------------------------------------------------------------


@app.command(uses=("signer", "api", "json"))
def register(
    cli: CliContext,
    prime: Annotated[str, typer.Option("--prime", help="Prime contractor's address.")],
    amount: Annotated[int, typer.Option("--amount", help="Prime contract amount (won).")],
    ref: Annotated[
        str, typer.Option("--ref", help="Contract document (file, text or 0x hash); its keccak-256 is recorded.")
    ],
    sub: Annotated[list[str], typer.Option("--sub", help="Subcontractor ADDRESS=CONTRACT_AMOUNT (repeatable).")] = [],  # noqa: B006
    supplier: Annotated[
        list[str], typer.Option("--supplier", help="Supplier ADDRESS=CONTRACT_AMOUNT (repeatable).")
    ] = [],  # noqa: B006
    worker: Annotated[
        list[str], typer.Option("--worker", help="Worker ADDRESS@EMPLOYER (repeatable; an active citizen).")
    ] = [],  # noqa: B006
) -> None:
    """Register a public works project (signed by the client department).

    Examples:

      civic-ledger payments register --as dept --prime prime --amount 1200000000 --ref "contract 2026-041" \\
          --sub sub=300000000 --supplier supplier=80000000 --worker w1@sub
    """
    body = {
        "project_ref": _hash32(ref),
        "prime": cli.address(prime),
        "contract_amount": amount,
        "participants": _participants(sub, supplier, worker, cli.data_dir),
    }
    _act(cli, "/payments/projects", body, "registered", "client")


@app.command("add-participants", uses=("signer", "api", "json"))
def add_participants(
    cli: CliContext,
    project: Annotated[int, typer.Argument(help="Project id.")],
    sub: Annotated[list[str], typer.Option("--sub", help="Subcontractor ADDRESS=CONTRACT_AMOUNT.")] = [],  # noqa: B006
    supplier: Annotated[list[str], typer.Option("--supplier", help="Supplier ADDRESS=CONTRACT_AMOUNT.")] = [],  # noqa: B006
    worker: Annotated[list[str], typer.Option("--worker", help="Worker ADDRESS@EMPLOYER.")] = [],  # noqa: B006
) -> None:
    """Add subcontractors, suppliers or workers to an open project (client-signed)."""
    body = {"participants": _participants(sub, supplier, worker, cli.data_dir)}
    _act(cli, f"/payments/projects/{project}/participants", body, "added participants", "client")


@app.command(uses=("signer", "api", "json"))
def fund(
    cli: CliContext,
    project: Annotated[int, typer.Argument(help="Project id.")],
    purpose: Annotated[str, typer.Argument(help="labour | subcontract | material | equipment | prime")],
    amount: Annotated[int, typer.Argument(help="Whole won.")],
) -> None:
    """Move won from the client's account into a purpose bucket (signs an ERC-2612 permit first if needed)."""
    if purpose not in PURPOSE_CODES:
        raise InvalidInput(f"purpose {purpose!r}: use one of {', '.join(PURPOSE_CODES)}")
    account = cli.signer()
    balance = cli.client.get(f"/payments/balances/{account.address}")
    done: dict[str, Any] = {}
    if balance["allowance_to_escrow"] < amount:
        done["allowance"] = _signed(cli, "/payments/allowances", {"owner": account.address, "value": 2**255}, account)
    body = {"purpose": purpose, "amount": amount, "client": account.address}
    done["funding"] = _signed(cli, f"/payments/projects/{project}/funding", body, account)
    if cli.as_json:
        return emit_json(done)
    if "allowance" in done:
        _print_tx(done["allowance"], "allowed the escrow to pull won")
    _print_tx(done["funding"], f"funded {purpose}")


@app.command("direct-pay", uses=("signer", "api", "json"))
def direct_pay(
    cli: CliContext,
    claim: Annotated[int, typer.Argument(help="Claim id.")],
    line: Annotated[int, typer.Argument(help="Index of a subcontract line.")],
    ground: Annotated[str, typer.Option("--ground", help=" | ".join(GROUND_CODES))],
) -> None:
    """Pay a subcontract line directly on a legal ground, without the prime's confirmation (client-signed)."""
    _act(cli, f"/payments/claims/{claim}/direct-payments", {"line": line, "ground": ground}, "paid directly", "client")


@app.command(uses=("signer", "api", "json"))
def close(
    cli: CliContext,
    project: Annotated[int, typer.Argument(help="Project id.")],
) -> None:
    """Close a project: the buckets' balances go back to the client; no more payments (client-signed)."""
    _act(cli, f"/payments/projects/{project}/close", {}, "closed", "client")


# -- claims ------------------------------------------------------------------------------------


def _lines(specs: list[str], lines_file: Path | None, data_dir: Path | None) -> list[dict[str, Any]]:
    rows: list[list[str]] = [s.split(":", 3) for s in specs]
    if lines_file is not None:
        with lines_file.open() as fh:
            rows += [r for r in csv.reader(fh) if r and not r[0].startswith("#") and r[0] != "payee"]
    out = []
    for r in rows:
        if len(r) < 3:
            raise InvalidInput(f"line {':'.join(r)!r}: use PAYEE:PURPOSE:AMOUNT[:EVIDENCE]")
        evidence = r[3] if len(r) > 3 and r[3] else f"{r[0]}:{r[1]}:{r[2]}"
        amount = _won(r[2], f"line {':'.join(r)!r}: AMOUNT")
        out.append({"payee": _addr(r[0], data_dir), "purpose": r[1], "amount": amount, "evidence": _hash32(evidence)})
    if not out:
        raise InvalidInput("give at least one --line or a --lines file")
    return out


@app.command("submit-claim", uses=("signer", "api", "json"))
def submit_claim(
    cli: CliContext,
    project: Annotated[int, typer.Argument(help="Project id.")],
    line: Annotated[
        list[str], typer.Option("--line", help="PAYEE:PURPOSE:AMOUNT[:EVIDENCE] (evidence: file, text or 0x hash).")
    ] = [],  # noqa: B006
    lines_file: Annotated[Path | None, typer.Option("--lines", help="CSV file: payee,purpose,amount,evidence.")] = None,
) -> None:
    """Submit a claim of payment lines (prime-signed).

    Examples:

      civic-ledger payments submit-claim 1 --as prime --line w1:labour:2400000:timesheet-w1 \\
          --line sub:subcontract:45,000,000:invoice-0001

      civic-ledger payments submit-claim 1 --as prime --lines lines.csv   # payee,purpose,amount,evidence
    """
    _act(
        cli,
        f"/payments/projects/{project}/claims",
        {"lines": _lines(line, lines_file, cli.data_dir)},
        "submitted",
        "prime",
    )


@app.command(uses=("signer", "api", "json"))
def confirm(
    cli: CliContext,
    claim: Annotated[int, typer.Argument(help="Claim id.")],
    line: Annotated[
        list[int], typer.Option("--line", help="Line index (repeatable). Default: all this signer must confirm.")
    ] = [],  # noqa: B006
) -> None:
    """Confirm lines: a subcontractor its workers' labour lines, the prime the subcontract lines."""
    _act(cli, f"/payments/claims/{claim}/confirmations", {"lines": line or None}, "confirmed", "confirmer")


@app.command(uses=("signer", "api", "json"))
def approve(
    cli: CliContext,
    claim: Annotated[int, typer.Argument(help="Claim id.")],
) -> None:
    """Approve a claim (signed by an inspector)."""
    _act(cli, f"/payments/claims/{claim}/approvals", {}, "approved", "inspector")


@app.command(uses=("api", "json"))
def settle(
    cli: CliContext,
    claim: Annotated[int, typer.Argument(help="Claim id.")],
) -> None:
    """Pay every approved, confirmed, unpaid line straight to its payee (anyone may trigger it)."""
    _print_tx(cli.client.post(f"/payments/claims/{claim}/settlement"), "settled", cli.as_json)


@app.command(uses=("signer?", "api", "json"))
def withdraw(
    cli: CliContext,
    payee: Annotated[str, typer.Argument(help="The payee whose credit is withdrawn.")],
    to: Annotated[str | None, typer.Option("--to", help="Another address (needs the payee's signature, --as).")] = None,
) -> None:
    """Withdraw a credited payment: to the payee itself, or (payee-signed) to another address."""
    payee = cli.address(payee)
    if to is None:
        _print_tx(cli.client.post(f"/payments/credits/{payee}/push"), "withdrawn", cli.as_json)
        return
    if cli.as_ is None:
        raise InvalidInput("--to needs --as (the payee's keystore)")
    _act(cli, f"/payments/credits/{payee}/withdrawals", {"to": cli.address(to)}, "withdrawn")


# -- reads -------------------------------------------------------------------------------------


BUCKET_COLUMNS = ("project_id", "purpose", "funded", "paid", "refunded", "balance")
LINE_COLUMNS = (
    "claim_id", "project_id", "index", "payee", "purpose", "amount", "evidence", "confirmer", "confirmed", "paid",
    "interest_if_paid_now",
)  # fmt: skip


@app.command(uses=("api", "json"))
def project(
    cli: CliContext,
    project_id: Annotated[int, typer.Argument(help="Project id.")],
    out: OutOpt = None,
) -> None:
    """Show a project: parties, participants and purpose buckets (--out: the buckets as CSV, or all as JSON)."""
    p = cli.client.get(f"/payments/projects/{project_id}")
    export(out, p, BUCKET_COLUMNS, [{"project_id": project_id, **b} for b in p["buckets"]])
    if cli.as_json:  # JSON only: the tables below are for people
        return emit_json(p)
    say(
        f"project [bold]{p['project_id']}[/] · client {p['client']} · prime {p['prime']} · "
        f"{p['claim_count']} claim(s){' · [red]closed[/]' if p['closed'] else ''}"
    )
    b = Table(title="buckets (won)")
    for col in ("purpose", "funded", "paid", "refunded", "balance"):
        b.add_column(col, justify="left" if col == "purpose" else "right")
    for row in p["buckets"]:
        b.add_row(
            row["purpose"], f"{row['funded']:,}", f"{row['paid']:,}", f"{row['refunded']:,}", f"{row['balance']:,}"
        )
    console.print(b)
    t = Table(title="participants")
    for col in ("account", "role", "employer", "contract amount"):
        t.add_column(col, justify="right" if col == "contract amount" else "left")
    for row in p["participants"]:
        t.add_row(row["account"], row["role"], row["employer"] or "", f"{row['contract_amount']:,}")
    console.print(t)


@app.command(uses=("api", "json"))
def claim(
    cli: CliContext,
    claim_id: Annotated[int, typer.Argument(help="Claim id.")],
    out: OutOpt = None,
) -> None:
    """Show a claim: each line's payee, purpose, amount, confirmation and payment."""
    cl = cli.client.get(f"/payments/claims/{claim_id}")
    export(out, cl, LINE_COLUMNS, [{"claim_id": claim_id, "project_id": cl["project_id"], **ln} for ln in cl["lines"]])
    if cli.as_json:  # JSON only: the table below is for people
        return emit_json(cl)
    due = _fmt("due", cl["subcontract_due"] or 0) if cl["subcontract_due"] else "-"
    say(
        f"claim [bold]{cl['claim_id']}[/] of project {cl['project_id']} · total {cl['total']:,} won · "
        f"approved {'yes' if cl['approved_at'] else 'no'} · subcontract due {due} · "
        f"{'settled' if cl['settled'] else 'open'}"
    )
    t = Table()
    for col in ("#", "payee", "purpose", "amount", "confirmer", "confirmed", "paid", "late interest now"):
        t.add_column(col, justify="right" if col in ("#", "amount", "late interest now") else "left")
    for ln in cl["lines"]:
        t.add_row(
            str(ln["index"]),
            ln["payee"],
            ln["purpose"],
            f"{ln['amount']:,}",
            ln["confirmer"] or "-",
            "yes" if ln["confirmed"] else "[yellow]no[/]",
            "[green]yes[/]" if ln["paid"] else "no",
            f"{ln['interest_if_paid_now']:,}",
        )
    console.print(t)


@app.command(uses=("api", "data", "json"))
def balance(
    cli: CliContext,
    account: Annotated[str, typer.Argument(help="Address or keystore name.")],
) -> None:
    """KRW balance, credit waiting to be withdrawn, and whether the account is blocked."""
    account = cli.address(account)
    b = cli.client.get(f"/payments/balances/{account}")
    cr = cli.client.get(f"/payments/credits/{account}")
    if cli.as_json:
        return emit_json({"account": account, **b, "credit": cr})
    say(
        f"{account}: {b['balance']:,} won · credited {cr['withdrawable']:,} won"
        f"{' · [red]blocked[/]' if b['blocked'] else ''}"
    )
