"""``civic-ledger mileage``: programs, awards, ZeroPay redemptions, settlements and reports.

An HTTP client of the API plus a local signer: a program's awarder key signs awards, a citizen's
key signs redemptions, the city admin signs in for city actions. Keys are eth-account keystores
(``civic-ledger identity keystore create NAME``); passwords come from ``--password`` or
``CIVIC_KEYSTORE_PASSWORD``.
"""

from __future__ import annotations

import csv
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_account.signers.local import LocalAccount
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from civic_ledger.cli_support import (
    address_or_keystore,
    cli_errors,
    console,
    data_dir_or_default,
    err,
    load_signer,
)
from civic_ledger.errors import InvalidInput
from civic_ledger.identity import keys
from civic_ledger.identity.keys import DEFAULT_API_URL, ApiClient, ApiOpt, DataDirOpt, PasswordOpt
from civic_ledger.mileage.service import MAX_BATCH, business_number_hash, order_ref_of

app = typer.Typer(
    help="ZeroPay-linked mileage: programs, awards, redemptions, settlements, reports.", no_args_is_help=True
)
program_app = typer.Typer(help="Mileage programs (eco, car-free day, e-tax, health, polls...).", no_args_is_help=True)
merchant_app = typer.Typer(help="ZeroPay merchants: register, list, deactivate, settle.", no_args_is_help=True)
report_app = typer.Typer(
    help="Liability, merchant redemptions and citizen statements (table or CSV).", no_args_is_help=True
)
policy_app = typer.Typer(help="Epochs and validity of points.", no_args_is_help=True)
app.add_typer(program_app, name="program")
app.add_typer(merchant_app, name="merchant")
app.add_typer(report_app, name="report")
app.add_typer(policy_app, name="policy")


AdminOpt = Annotated[
    str | None,
    typer.Option(
        "--admin-keystore",
        "-a",
        help="Keystore (name or path) of the city admin / role holder, to sign in for city actions.",
    ),
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", envvar="CIVIC_TOKEN", help="Session token instead of --admin-keystore.")
]
AwarderOpt = Annotated[str, typer.Option("--awarder-keystore", "-k", help="Keystore of the program's awarder.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the raw JSON.")]
CsvOpt = Annotated[Path | None, typer.Option("--csv", help="Write the report as CSV to this file ('-' = stdout).")]


_errors = cli_errors


_data_dir = data_dir_or_default


_load = load_signer


_address = address_or_keystore


def _token(client: ApiClient, token: str | None, admin: str | None, password: str | None, data_dir: Path | None) -> str:
    return keys.admin_session(client, token=token, admin_keystore=admin, password=password, data_dir=data_dir)


def _json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _tx(result: dict[str, Any]) -> str:
    return (
        f" · tx {result['tx_hash']} (block {result['block_number']}, gas {result['gas_used']:,})"
        if result.get("tx_hash")
        else ""
    )


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _csv_text(client: ApiClient, path: str) -> str:
    """The CSV form of a report (its JSON form is fetched first, so errors read as usual)."""
    client.get(path)
    return str(client._client.get(path, params={"format": "csv"}).text)


def _write_csv(text: str, target: Path) -> None:
    if str(target) == "-":
        typer.echo(text, nl=False)
    else:
        target.write_text(text)
        err.print(f"wrote {target}", highlight=False)


# -- policy --------------------------------------------------------------------------------


@policy_app.command("show")
def policy_show(api: ApiOpt = DEFAULT_API_URL, as_json: JsonOpt = False) -> None:
    """Epoch length, validity and the current epoch."""
    with _errors(), ApiClient(api) as client:
        p = client.get("/mileage/policy")
        if as_json:
            return _json(p)
        console.print(
            f"epoch {p['current_epoch']} (since {_day(p['current_epoch_start'])}) · epochs of "
            f"{p['epoch_length_s'] // 86400} days · points valid {p['validity_epochs']} epochs · "
            f"chain time {_day(p['chain_time'])}",
            highlight=False,
        )


@policy_app.command("set")
def policy_set(
    validity: Annotated[int, typer.Option("--validity", min=1, max=7, help="Epochs points stay valid.")],
    admin_keystore: AdminOpt = None,
    token: TokenOpt = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Set the validity of points (only before the first merchant is registered)."""
    with _errors(), ApiClient(api) as client:
        session = _token(client, token, admin_keystore, password, data_dir)
        p = client.request("PUT", "/mileage/policy", json_body={"validity_epochs": validity}, token=session)
        err.print(f"[green]points now valid {p['validity_epochs']} epochs[/]", highlight=False)


@app.command("advance-time")
def advance_time(
    epochs: Annotated[int, typer.Option("--epochs", min=0, help="Epochs (30 days) to move ahead.")] = 1,
    seconds: Annotated[int, typer.Option("--seconds", min=0, help="Extra seconds.")] = 0,
    admin_keystore: AdminOpt = None,
    token: TokenOpt = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Development chains only: move the chain clock ahead (to see points expire)."""
    with _errors(), ApiClient(api) as client:
        session = _token(client, token, admin_keystore, password, data_dir)
        p = client.post("/mileage/dev/advance-time", {"epochs": epochs, "seconds": seconds}, token=session)
        err.print(f"chain time now {_day(p['chain_time'])} · epoch {p['current_epoch']}", highlight=False)


# -- programs ------------------------------------------------------------------------------


def _programs_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Mileage programs")
    for col in ("id", "name", "awarder", "annual cap", "awarded this year", "open"):
        table.add_column(col, justify="right" if col in ("id", "annual cap", "awarded this year") else "left")
    for p in rows:
        table.add_row(
            str(p["program_id"]),
            p["name"],
            p["awarder"] or "-",
            f"{p['annual_cap']:,}",
            f"{p['awarded_in_year']:,} ({p['year']})",
            "yes" if p["open"] else "closed",
        )
    return table


@program_app.command("register")
def program_register(
    name: Annotated[str, typer.Argument(help="Program name, e.g. 'Eco mileage'.")],
    awarder: Annotated[str, typer.Option("--awarder", help="Awarder: address or keystore name.")],
    cap: Annotated[int, typer.Option("--cap", min=1, help="Annual cap in points.")],
    admin_keystore: AdminOpt = None,
    token: TokenOpt = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a program (city admin)."""
    with _errors(), ApiClient(api) as client:
        session = _token(client, token, admin_keystore, password, data_dir)
        p = client.post(
            "/mileage/programs",
            {"name": name, "awarder": _address(awarder, data_dir), "annual_cap": cap},
            token=session,
        )
        if as_json:
            return _json(p)
        err.print(f"[green]program {p['program_id']}[/] {p['name']} registered{_tx(p)}", highlight=False)


@program_app.command("list")
def program_list(api: ApiOpt = DEFAULT_API_URL, as_json: JsonOpt = False) -> None:
    """All programs with their caps."""
    with _errors(), ApiClient(api) as client:
        rows = client.get("/mileage/programs")
        _json(rows) if as_json else console.print(_programs_table(rows))


# -- awards --------------------------------------------------------------------------------


@app.command()
def award(
    program_id: Annotated[int, typer.Argument(help="Program id.")],
    citizen: Annotated[str, typer.Argument(help="Citizen: address or keystore name.")],
    amount: Annotated[int, typer.Argument(min=1, help="Points.")],
    ref: Annotated[int, typer.Option("--ref", min=0, help="The program's record number (once per program).")],
    awarder_keystore: AwarderOpt,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Award points, signed locally by the program's awarder key."""
    with _errors(), ApiClient(api) as client:
        signer = _load(data_dir, awarder_keystore, password)
        item = {"account": _address(citizen, data_dir), "amount": amount, "ref": ref}
        typed = client.post(f"/mileage/programs/{program_id}/awards/typed-data", item)
        result = client.post(
            f"/mileage/programs/{program_id}/awards",
            {**item, "deadline": typed["deadline"], "signature": keys.sign_typed_data(signer, typed["typed_data"])},
        )
        if as_json:
            return _json(result)
        if result["awarded"]:
            err.print(
                f"[green]awarded[/] {amount:,} points to citizen #{result['citizen_id']} "
                f"(epoch {result['epoch']}){_tx(result)}",
                highlight=False,
            )
        else:
            err.print(
                f"[yellow]already awarded[/]: reference {ref} of program {program_id} was used before; nothing changed",
                highlight=False,
            )


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise InvalidInput(f"{path}: missing column(s) {', '.join(missing)} (need {','.join(columns)})")
            rows = []
            for line, row in enumerate(reader, start=2):
                try:
                    rows.append({c: row[c].strip() if c == "account" else int(row[c]) for c in columns})
                except (TypeError, ValueError):
                    raise InvalidInput(f"{path}:{line}: {columns[1:]} must be integers") from None
            return rows
    except OSError as exc:
        raise InvalidInput(f"{path}: {exc.strerror}") from None


def _batches(
    client: ApiClient, signer: LocalAccount, rows: list[dict[str, Any]], path: str, key: str, what: str
) -> list[dict[str, Any]]:
    results = []
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err) as progress:
        task = progress.add_task(what, total=len(rows))
        for start in range(0, len(rows), MAX_BATCH):
            chunk = rows[start : start + MAX_BATCH]
            typed = client.post(f"{path}/typed-data", {key: chunk})
            results.append(
                client.post(
                    path,
                    {
                        key: chunk,
                        "deadline": typed["deadline"],
                        "signature": keys.sign_typed_data(signer, typed["typed_data"]),
                    },
                )
            )
            progress.advance(task, len(chunk))
    return results


@app.command("award-batch")
def award_batch(
    program_id: Annotated[int, typer.Argument(help="Program id.")],
    file: Annotated[Path, typer.Argument(help="CSV with columns account,amount,ref.")],
    awarder_keystore: AwarderOpt,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Award many points from a CSV, 256 per signed batch; duplicates and non-citizens are skipped."""
    with _errors(), ApiClient(api) as client:
        rows = _read_rows(file, ("account", "amount", "ref"))
        signer = _load(data_dir, awarder_keystore, password)
        results = _batches(client, signer, rows, f"/mileage/programs/{program_id}/awards/batch", "awards", "awarding")
        skipped = [s for r in results for s in r["skipped"]]
        err.print(
            f"[green]awarded[/] {sum(r['awarded_count'] for r in results)} of {len(rows)} in "
            f"{len(results)} transaction(s)",
            highlight=False,
        )
        for s in skipped:
            err.print(f"  skipped {s['account']} ref {s['ref']}: {s['reason']}", highlight=False)


@app.command("import-legacy")
def import_legacy(
    program_id: Annotated[int, typer.Argument(help="Program id.")],
    file: Annotated[Path, typer.Argument(help="CSV with columns account,amount.")],
    awarder_keystore: AwarderOpt,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Import legacy balances (once per citizen and program; re-running skips those done)."""
    with _errors(), ApiClient(api) as client:
        rows = _read_rows(file, ("account", "amount"))
        signer = _load(data_dir, awarder_keystore, password)
        results = _batches(
            client, signer, rows, f"/mileage/programs/{program_id}/legacy-imports", "entries", "importing"
        )
        skipped = [s for r in results for s in r["skipped"]]
        err.print(
            f"[green]imported[/] {sum(r['imported_count'] for r in results)} of {len(rows)}; skipped {len(skipped)}",
            highlight=False,
        )
        for s in skipped:
            err.print(f"  skipped {s['account']}: {s['reason']}", highlight=False)


# -- merchants -----------------------------------------------------------------------------


@merchant_app.command("register")
def merchant_register(
    name: Annotated[str, typer.Argument(help="Merchant name.")],
    business_number: Annotated[str, typer.Option("--business-number", help="Business registration no. (10 digits).")],
    district: Annotated[int, typer.Option("--district", min=1, max=25, help="District code 1..25.")],
    salt: Annotated[
        str | None, typer.Option("--salt", help="32-byte hex salt of the hash (default: random, printed).")
    ] = None,
    admin_keystore: AdminOpt = None,
    token: TokenOpt = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a ZeroPay merchant (only a salted hash of the business number goes on chain)."""
    with _errors(), ApiClient(api) as client:
        try:
            salt_bytes = bytes.fromhex(salt.removeprefix("0x")) if salt else secrets.token_bytes(32)
        except ValueError:
            raise InvalidInput("--salt must be hex") from None
        session = _token(client, token, admin_keystore, password, data_dir)
        m = client.post(
            "/mileage/merchants",
            {
                "name": name,
                "district": district,
                "business_number_hash": business_number_hash(business_number, salt_bytes),
            },
            token=session,
        )
        if as_json:
            return _json({**m, "salt": "0x" + salt_bytes.hex()})
        err.print(
            f"[green]merchant {m['merchant_id']}[/] {m['name']} registered (district {m['district']}); "
            f"keep the salt 0x{salt_bytes.hex()}{_tx(m)}",
            highlight=False,
        )


@merchant_app.command("list")
def merchant_list(api: ApiOpt = DEFAULT_API_URL, as_json: JsonOpt = False) -> None:
    """All merchants with redeemed and unsettled points."""
    with _errors(), ApiClient(api) as client:
        rows = client.get("/mileage/merchants")
        if as_json:
            return _json(rows)
        table = Table(title="ZeroPay merchants")
        for col in ("id", "name", "district", "active", "redeemed", "unsettled"):
            table.add_column(col)
        for m in rows:
            table.add_row(
                str(m["merchant_id"]),
                m["name"],
                str(m["district"]),
                "yes" if m["active"] else "no",
                f"{m['redeemed']:,}",
                f"{m['unsettled']:,}",
            )
        console.print(table)


@merchant_app.command("deactivate")
def merchant_deactivate(
    merchant_id: Annotated[int, typer.Argument(help="Merchant id.")],
    admin_keystore: AdminOpt = None,
    token: TokenOpt = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Stop a merchant accepting points."""
    with _errors(), ApiClient(api) as client:
        session = _token(client, token, admin_keystore, password, data_dir)
        m = client.post(f"/mileage/merchants/{merchant_id}/deactivate", token=session)
        err.print(f"merchant {merchant_id} deactivated{_tx(m)}", highlight=False)


@merchant_app.command("settle")
def merchant_settle(
    merchant_id: Annotated[int, typer.Argument(help="Merchant id.")],
    period: Annotated[int, typer.Option("--period", min=0, help="Period label, e.g. the epoch or 202611.")],
    amount: Annotated[int | None, typer.Option("--amount", min=1, help="Points (default: all unsettled).")] = None,
    admin_keystore: AdminOpt = None,
    token: TokenOpt = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Settle a merchant's redeemed points (treasury)."""
    with _errors(), ApiClient(api) as client:
        session = _token(client, token, admin_keystore, password, data_dir)
        s = client.post(
            f"/mileage/merchants/{merchant_id}/settlements", {"period": period, "amount": amount}, token=session
        )
        err.print(
            f"[green]settled[/] {s['amount']:,} points of merchant {merchant_id} for period {s['period']}; "
            f"unsettled now {s['unsettled_after']:,}{_tx(s)}",
            highlight=False,
        )


# -- citizens ------------------------------------------------------------------------------


@app.command()
def redeem(
    merchant_id: Annotated[int, typer.Argument(help="Merchant id.")],
    amount: Annotated[int, typer.Argument(min=1, help="Points to spend.")],
    order: Annotated[str, typer.Option("--order", help="The merchant's order id (hashed on chain).")],
    keystore: Annotated[str, typer.Option("--keystore", "-k", help="The citizen's keystore.")],
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Spend points at a ZeroPay merchant, signed locally by the citizen (oldest points first)."""
    with _errors(), ApiClient(api) as client:
        citizen = _load(data_dir, keystore, password)
        body = {
            "citizen": citizen.address,
            "merchant_id": merchant_id,
            "amount": amount,
            "order_ref": order_ref_of(order),
        }
        typed = client.post("/mileage/redemptions/typed-data", body)
        result = client.post(
            "/mileage/redemptions",
            {
                **body,
                "nonce": typed["nonce"],
                "deadline": typed["deadline"],
                "signature": keys.sign_typed_data(citizen, typed["typed_data"]),
            },
        )
        if as_json:
            return _json(result)
        for x in result["expired"]:
            err.print(f"[yellow]expired[/] {x['amount']:,} points of epoch {x['epoch']} written off", highlight=False)
        err.print(
            f"[green]redeemed[/] {amount:,} points at merchant {merchant_id}; balance now "
            f"{result['balance_after']:,}{_tx(result)}",
            highlight=False,
        )


@app.command()
def balance(
    citizen: Annotated[str, typer.Argument(help="Citizen: address or keystore name.")],
    api: ApiOpt = DEFAULT_API_URL,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A citizen's unexpired points, by epoch, with expiry dates."""
    with _errors(), ApiClient(api) as client:
        b = client.get(f"/mileage/balances/{_address(citizen, data_dir)}")
        if as_json:
            return _json(b)
        table = Table(
            title=f"citizen #{b['citizen_id']} · balance {b['balance']:,} points (epoch {b['current_epoch']})"
        )
        for col in ("epoch", "points", "expires on", "status"):
            table.add_column(col)
        for x in b["buckets"]:
            table.add_row(
                str(x["epoch"]),
                f"{x['amount']:,}",
                _day(x["expires_at"]),
                "[red]expired[/]" if x["expired"] else "spendable",
            )
        console.print(table)


# -- reports -------------------------------------------------------------------------------


@report_app.command("liability")
def report_liability(api: ApiOpt = DEFAULT_API_URL, to_csv: CsvOpt = None, as_json: JsonOpt = False) -> None:
    """Outstanding points per program (awarded + imported − redeemed − expired), checked against the chain."""
    with _errors(), ApiClient(api) as client:
        if to_csv:
            return _write_csv(_csv_text(client, "/mileage/reports/liability"), to_csv)
        r = client.get("/mileage/reports/liability")
        if as_json:
            return _json(r)
        table = Table(title=f"Mileage liability at block {r['block_number']} (epoch {r['current_epoch']})")
        cols = ("awarded", "imported", "redeemed", "expired", "outstanding")
        table.add_column("program")
        for c in cols:
            table.add_column(c, justify="right")
        for row in [*r["rows"], r["total"]]:
            label = "TOTAL" if row["program_id"] == 0 else f"{row['program_id']} {row['name']}"
            table.add_row(label, *(f"{row[c]:,}" for c in cols))
        console.print(table)
        status = "[green]balanced[/]" if r["balanced"] else "[bold red]NOT balanced[/]"
        console.print(
            f"{status}: outstanding {r['total']['outstanding']:,} = Σ citizens' on-chain balances "
            f"{r['on_chain_balance_total']:,}",
            highlight=False,
        )


@report_app.command("merchants")
def report_merchants(api: ApiOpt = DEFAULT_API_URL, to_csv: CsvOpt = None, as_json: JsonOpt = False) -> None:
    """Redemptions per merchant per epoch, and what was settled."""
    with _errors(), ApiClient(api) as client:
        if to_csv:
            return _write_csv(_csv_text(client, "/mileage/reports/merchants"), to_csv)
        r = client.get("/mileage/reports/merchants")
        if as_json:
            return _json(r)
        table = Table(title="Redemptions per merchant and period")
        for col in ("merchant", "epoch", "period", "redemptions", "points"):
            table.add_column(col)
        for row in r["rows"]:
            table.add_row(
                f"{row['merchant_id']} {row['name']}",
                str(row["epoch"]),
                f"{_day(row['period_start'])} – {_day(row['period_end'])}",
                str(row["redemptions"]),
                f"{row['points']:,}",
            )
        console.print(table)
        totals = Table(title="Settlement")
        for col in ("merchant", "redeemed", "settled", "unsettled"):
            totals.add_column(col)
        for m in r["merchants"]:
            totals.add_row(
                f"{m['merchant_id']} {m['name']}", f"{m['redeemed']:,}", f"{m['settled']:,}", f"{m['unsettled']:,}"
            )
        console.print(totals)


@report_app.command("statement")
def report_statement(
    citizen: Annotated[str, typer.Argument(help="Citizen: address or keystore name.")],
    api: ApiOpt = DEFAULT_API_URL,
    data_dir: DataDirOpt = None,
    to_csv: CsvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A citizen's awards, redemptions and expiries."""
    with _errors(), ApiClient(api) as client:
        path = f"/mileage/reports/statements/{_address(citizen, data_dir)}"
        if to_csv:
            return _write_csv(_csv_text(client, path), to_csv)
        s = client.get(path)
        if as_json:
            return _json(s)
        table = Table(title=f"Statement of citizen #{s['citizen_id']}")
        for col in ("block", "kind", "epoch", "points", "program / merchant", "reference"):
            table.add_column(col)
        for e in s["entries"]:
            who = (
                f"program {e['program_id']}"
                if e["program_id"]
                else (f"merchant {e['merchant_id']}" if e["merchant_id"] else "")
            )
            ref = str(e["ref"]) if e["ref"] is not None else (e["order_ref"] or "")[:18]
            table.add_row(str(e["block_number"]), e["kind"], str(e["epoch"]), f"{e['amount']:+,}", who, ref)
        console.print(table)
        console.print(
            f"awarded {s['awarded']:,} + imported {s['imported']:,} = balance {s['balance']:,} + redeemed "
            f"{s['redeemed']:,} + expired {s['expired']:,}  "
            f"{'[green]✓[/]' if s['conserved'] else '[bold red]✗[/]'}",
            highlight=False,
        )
