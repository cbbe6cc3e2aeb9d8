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

from civic_ledger.cli_support import console, data_dir_or_default
from civic_ledger.identity.keys import (
    DEFAULT_API_URL,
    ApiClient,
    ApiOpt,
    DataDirOpt,
    PasswordOpt,
    load_account,
    resolve_password,
    sign_in,
    sign_typed_data,
)
from civic_ledger.payments.actions import GROUND_CODES, GROUNDS, PURPOSE_CODES, PURPOSES, ROLES

app = typer.Typer(
    help="Automatic subcontract payment: projects, purpose buckets, claims, approvals, direct settlement.",
    no_args_is_help=True,
)

TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="CIVIC_TOKEN",
        help="Session token of the city admin / treasury (`identity login`). Env: CIVIC_TOKEN.",
    ),
]
AdminOpt = Annotated[
    str | None,
    typer.Option(
        "--admin-keystore", help="Keystore of the city admin / treasury to sign in with (instead of --token)."
    ),
]
AsOpt = Annotated[str, typer.Option("--as", help="Keystore (name in DATA_DIR/keystores, or a path) of the signer.")]


# -- helpers -----------------------------------------------------------------------------------


_data_dir = data_dir_or_default


def _account(name: str, password: str | None, data_dir: Path | None) -> LocalAccount:
    return load_account(_data_dir(data_dir), name, resolve_password(password, what=f"keystore {name}"))


def _addr(value: str, data_dir: Path | None = None) -> str:
    """An address as given, or the address of a local keystore NAME (read without its password)."""
    if value.startswith("0x") and len(value) == 42:
        return value
    import json

    from eth_utils import to_checksum_address

    from civic_ledger.identity.keys import resolve_keystore

    blob = json.loads(resolve_keystore(_data_dir(data_dir), value).read_text())
    return to_checksum_address("0x" + str(blob["address"]).removeprefix("0x"))


def _signed(api: ApiClient, path: str, body: dict[str, Any], account: LocalAccount) -> dict[str, Any]:
    """typed data → sign locally → post the action."""
    typed = api.post(path + "/typed-data", body)
    if typed["signer"] != account.address:
        raise typer.BadParameter(
            f"this action must be signed by {typed['signer']}, the keystore holds {account.address}"
        )
    message = typed["typed_data"]["message"]
    full = {**body, "nonce": message["nonce"], "deadline": message["deadline"]}
    full["signature"] = sign_typed_data(account, typed["typed_data"])
    if isinstance(message.get("lines"), int):
        full["lines"] = message["lines"]
    return dict(api.post(path, full))


def _hash32(text: str) -> str:
    """0x + 64 hex digits as given, else the keccak-256 of the text (a document name or its content)."""
    if text.startswith("0x") and len(text) == 66:
        return text.lower()
    path = Path(text)
    data = path.read_bytes() if path.is_file() else text.encode()
    return "0x" + keccak(data).hex()


def _print_tx(out: dict[str, Any], title: str) -> None:
    ids = " ".join(f"{k.removesuffix('_id')} {out[k]}" for k in ("project_id", "claim_id") if out.get(k) is not None)
    ids = f" ({ids})" if ids else ""
    console.print(
        f"[green]{title}[/]{ids} · tx {out['tx_hash']} · block {out['block_number']} · gas {out['gas_used']:,}",
        highlight=False,
    )
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
        from datetime import UTC, datetime

        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, int) and value >= 2**200:
        return "unlimited"
    if isinstance(value, int) and value >= 10_000:
        return f"{value:,}"
    return str(value)


def _participants(
    subs: list[str], suppliers: list[str], workers: list[str], data_dir: Path | None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for spec, role in [(s, "subcontractor") for s in subs] + [(s, "supplier") for s in suppliers]:
        account, _, amount = spec.partition("=")
        out.append({"account": _addr(account, data_dir), "role": role, "contract_amount": int(amount or 0)})
    for spec in workers:
        account, sep, employer = spec.partition("@")
        if not sep:
            raise typer.BadParameter(f"--worker {spec!r}: use ADDRESS@EMPLOYER (the prime or a subcontractor)")
        out.append({"account": _addr(account, data_dir), "role": "worker", "employer": _addr(employer, data_dir)})
    return out


# -- city admin / treasury ------------------------------------------------------------------


def _session(c: ApiClient, token: str | None, admin: str | None, password: str | None, data_dir: Path | None) -> str:
    """An explicit --admin-keystore signs in afresh; else the token (--token / CIVIC_TOKEN)."""
    if admin:
        return str(sign_in(c, _account(admin, password, data_dir))["token"])
    if token:
        return token
    raise typer.BadParameter(
        "sign in as the city admin / treasury: pass --admin-keystore NAME or --token (env CIVIC_TOKEN)"
    )


@app.command()
def grant(
    role: Annotated[str, typer.Argument(help="client | inspector")],
    account: Annotated[str, typer.Argument(help="Address to grant the role to.")],
    api: ApiOpt = DEFAULT_API_URL,
    token: TokenOpt = None,
    admin_keystore: AdminOpt = None,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Grant CLIENT_ROLE (a city department) or INSPECTOR_ROLE (operator action)."""
    with ApiClient(api) as c:
        _print_tx(
            c.post(
                "/payments/roles",
                {"role": role, "account": _addr(account, data_dir)},
                token=_session(c, token, admin_keystore, password, data_dir),
            ),
            f"granted {role} to {account}",
        )


@app.command()
def mint(
    to: Annotated[
        str, typer.Argument(help="Address or keystore name receiving the won (e.g. a department's budget account).")
    ],
    amount: Annotated[int, typer.Argument(help="Whole won.")],
    api: ApiOpt = DEFAULT_API_URL,
    token: TokenOpt = None,
    admin_keystore: AdminOpt = None,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Mint KRW tokens (treasury = operator). The token stands in for the bank accounts a real deployment settles through."""
    with ApiClient(api) as c:
        _print_tx(
            c.post(
                "/payments/treasury/mint",
                {"to": _addr(to, data_dir), "amount": amount},
                token=_session(c, token, admin_keystore, password, data_dir),
            ),
            f"minted {amount:,} won",
        )


@app.command()
def block(
    account: Annotated[str, typer.Argument(help="Account under seizure or with a closed bank account.")],
    unblock: Annotated[bool, typer.Option("--unblock", help="Lift the block.")] = False,
    api: ApiOpt = DEFAULT_API_URL,
    token: TokenOpt = None,
    admin_keystore: AdminOpt = None,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Block (or unblock) an account on the token: payments to it are credited instead of pushed."""
    with ApiClient(api) as c:
        _print_tx(
            c.post(
                "/payments/treasury/blocked",
                {"account": _addr(account, data_dir), "blocked": not unblock},
                token=_session(c, token, admin_keystore, password, data_dir),
            ),
            f"{'unblocked' if unblock else 'blocked'} {account}",
        )


# -- client ------------------------------------------------------------------------------------


@app.command()
def register(
    as_: AsOpt,
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
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Register a public works project (signed by the client department)."""
    account = _account(as_, password, data_dir)
    body = {
        "project_ref": _hash32(ref),
        "prime": _addr(prime, data_dir),
        "contract_amount": amount,
        "participants": _participants(sub, supplier, worker, data_dir),
        "client": account.address,
    }
    with ApiClient(api) as c:
        _print_tx(_signed(c, "/payments/projects", body, account), "registered")


@app.command("add-participants")
def add_participants(
    project: Annotated[int, typer.Argument(help="Project id.")],
    as_: AsOpt,
    sub: Annotated[list[str], typer.Option("--sub", help="Subcontractor ADDRESS=CONTRACT_AMOUNT.")] = [],  # noqa: B006
    supplier: Annotated[list[str], typer.Option("--supplier", help="Supplier ADDRESS=CONTRACT_AMOUNT.")] = [],  # noqa: B006
    worker: Annotated[list[str], typer.Option("--worker", help="Worker ADDRESS@EMPLOYER.")] = [],  # noqa: B006
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Add subcontractors, suppliers or workers to an open project (client-signed)."""
    account = _account(as_, password, data_dir)
    body = {"participants": _participants(sub, supplier, worker, data_dir), "client": account.address}
    with ApiClient(api) as c:
        _print_tx(_signed(c, f"/payments/projects/{project}/participants", body, account), "added participants")


@app.command()
def fund(
    project: Annotated[int, typer.Argument(help="Project id.")],
    purpose: Annotated[str, typer.Argument(help="labour | subcontract | material | equipment | prime")],
    amount: Annotated[int, typer.Argument(help="Whole won.")],
    as_: AsOpt,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Move won from the client's account into a purpose bucket (signs an ERC-2612 permit first if needed)."""
    if purpose not in PURPOSE_CODES:
        raise typer.BadParameter(f"purpose {purpose!r}: use one of {', '.join(PURPOSE_CODES)}")
    account = _account(as_, password, data_dir)
    with ApiClient(api) as c:
        balance = c.get(f"/payments/balances/{account.address}")
        if balance["allowance_to_escrow"] < amount:
            _print_tx(
                _signed(c, "/payments/allowances", {"owner": account.address, "value": 2**255}, account),
                "allowed the escrow to pull won",
            )
        body = {"purpose": purpose, "amount": amount, "client": account.address}
        _print_tx(_signed(c, f"/payments/projects/{project}/funding", body, account), f"funded {purpose}")


@app.command("direct-pay")
def direct_pay(
    claim: Annotated[int, typer.Argument(help="Claim id.")],
    line: Annotated[int, typer.Argument(help="Index of a subcontract line.")],
    ground: Annotated[str, typer.Option("--ground", help=" | ".join(GROUND_CODES))],
    as_: AsOpt,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Pay a subcontract line directly on a legal ground, without the prime's confirmation (client-signed)."""
    account = _account(as_, password, data_dir)
    body = {"line": line, "ground": ground, "client": account.address}
    with ApiClient(api) as c:
        _print_tx(_signed(c, f"/payments/claims/{claim}/direct-payments", body, account), "paid directly")


@app.command()
def close(
    project: Annotated[int, typer.Argument(help="Project id.")],
    as_: AsOpt,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Close a project: the buckets' balances go back to the client; no more payments (client-signed)."""
    account = _account(as_, password, data_dir)
    with ApiClient(api) as c:
        _print_tx(_signed(c, f"/payments/projects/{project}/close", {"client": account.address}, account), "closed")


# -- claims ------------------------------------------------------------------------------------


def _lines(specs: list[str], lines_file: Path | None, data_dir: Path | None) -> list[dict[str, Any]]:
    rows: list[list[str]] = [s.split(":", 3) for s in specs]
    if lines_file is not None:
        with lines_file.open() as fh:
            rows += [r for r in csv.reader(fh) if r and not r[0].startswith("#") and r[0] != "payee"]
    out = []
    for r in rows:
        if len(r) < 3:
            raise typer.BadParameter(f"line {':'.join(r)!r}: use PAYEE:PURPOSE:AMOUNT[:EVIDENCE]")
        evidence = r[3] if len(r) > 3 and r[3] else f"{r[0]}:{r[1]}:{r[2]}"
        out.append(
            {"payee": _addr(r[0], data_dir), "purpose": r[1], "amount": int(r[2]), "evidence": _hash32(evidence)}
        )
    if not out:
        raise typer.BadParameter("give at least one --line or a --lines file")
    return out


@app.command("submit-claim")
def submit_claim(
    project: Annotated[int, typer.Argument(help="Project id.")],
    as_: AsOpt,
    line: Annotated[
        list[str], typer.Option("--line", help="PAYEE:PURPOSE:AMOUNT[:EVIDENCE] (evidence: file, text or 0x hash).")
    ] = [],  # noqa: B006
    lines_file: Annotated[Path | None, typer.Option("--lines", help="CSV file: payee,purpose,amount,evidence.")] = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Submit a claim of payment lines (prime-signed)."""
    account = _account(as_, password, data_dir)
    body = {"lines": _lines(line, lines_file, data_dir), "prime": account.address}
    with ApiClient(api) as c:
        _print_tx(_signed(c, f"/payments/projects/{project}/claims", body, account), "submitted")


@app.command()
def confirm(
    claim: Annotated[int, typer.Argument(help="Claim id.")],
    as_: AsOpt,
    line: Annotated[
        list[int], typer.Option("--line", help="Line index (repeatable). Default: all this signer must confirm.")
    ] = [],  # noqa: B006
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Confirm lines: a subcontractor its workers' labour lines, the prime the subcontract lines."""
    account = _account(as_, password, data_dir)
    body = {"confirmer": account.address, "lines": line or None}
    with ApiClient(api) as c:
        _print_tx(_signed(c, f"/payments/claims/{claim}/confirmations", body, account), "confirmed")


@app.command()
def approve(
    claim: Annotated[int, typer.Argument(help="Claim id.")],
    as_: AsOpt,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Approve a claim (signed by an inspector)."""
    account = _account(as_, password, data_dir)
    with ApiClient(api) as c:
        _print_tx(
            _signed(c, f"/payments/claims/{claim}/approvals", {"inspector": account.address}, account), "approved"
        )


@app.command()
def settle(
    claim: Annotated[int, typer.Argument(help="Claim id.")],
    api: ApiOpt = DEFAULT_API_URL,
) -> None:
    """Pay every approved, confirmed, unpaid line straight to its payee (anyone may trigger it)."""
    with ApiClient(api) as c:
        _print_tx(c.post(f"/payments/claims/{claim}/settlement"), "settled")


@app.command()
def withdraw(
    payee: Annotated[str, typer.Argument(help="The payee whose credit is withdrawn.")],
    to: Annotated[str | None, typer.Option("--to", help="Another address (needs the payee's signature, --as).")] = None,
    as_: Annotated[str | None, typer.Option("--as", help="The payee's keystore (with --to).")] = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Withdraw a credited payment: to the payee itself, or (payee-signed) to another address."""
    payee = _addr(payee, data_dir)
    with ApiClient(api) as c:
        if to is None:
            _print_tx(c.post(f"/payments/credits/{payee}/push"), "withdrawn")
            return
        if as_ is None:
            raise typer.BadParameter("--to needs --as (the payee's keystore)")
        account = _account(as_, password, data_dir)
        _print_tx(
            _signed(c, f"/payments/credits/{payee}/withdrawals", {"to": _addr(to, data_dir)}, account), "withdrawn"
        )


# -- reads -------------------------------------------------------------------------------------


@app.command()
def project(
    project_id: Annotated[int, typer.Argument(help="Project id.")],
    api: ApiOpt = DEFAULT_API_URL,
) -> None:
    """Show a project: parties, participants and purpose buckets."""
    with ApiClient(api) as c:
        p = c.get(f"/payments/projects/{project_id}")
    console.print(
        f"project [bold]{p['project_id']}[/] · client {p['client']} · prime {p['prime']} · "
        f"{p['claim_count']} claim(s){' · [red]closed[/]' if p['closed'] else ''}",
        highlight=False,
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


@app.command()
def claim(
    claim_id: Annotated[int, typer.Argument(help="Claim id.")],
    api: ApiOpt = DEFAULT_API_URL,
) -> None:
    """Show a claim: each line's payee, purpose, amount, confirmation and payment."""
    with ApiClient(api) as c:
        cl = c.get(f"/payments/claims/{claim_id}")
    console.print(
        f"claim [bold]{cl['claim_id']}[/] of project {cl['project_id']} · total {cl['total']:,} won · "
        f"approved {'yes' if cl['approved_at'] else 'no'} · subcontract due {_fmt('due', cl['subcontract_due'] or 0) if cl['subcontract_due'] else '-'} · "
        f"{'settled' if cl['settled'] else 'open'}",
        highlight=False,
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


@app.command()
def balance(
    account: Annotated[str, typer.Argument(help="Address or keystore name.")],
    api: ApiOpt = DEFAULT_API_URL,
    data_dir: DataDirOpt = None,
) -> None:
    """KRW balance, credit waiting to be withdrawn, and whether the account is blocked."""
    account = _addr(account, data_dir)
    with ApiClient(api) as c:
        b = c.get(f"/payments/balances/{account}")
        cr = c.get(f"/payments/credits/{account}")
    console.print(
        f"{account}: {b['balance']:,} won · credited {cr['withdrawable']:,} won"
        f"{' · [red]blocked[/]' if b['blocked'] else ''}",
        highlight=False,
    )
