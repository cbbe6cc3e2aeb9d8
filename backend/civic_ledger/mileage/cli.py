"""``civic-ledger mileage``: programs, awards, ZeroPay redemptions, settlements and reports.

An HTTP client of the API plus a local signer: a program's awarder key signs awards, a citizen's
key signs redemptions, the city admin signs in for city actions. Keys are eth-account keystores
(``civic-ledger identity keystore create NAME``); passwords come from ``--password`` or
``CIVIC_KEYSTORE_PASSWORD``.
"""

from __future__ import annotations

import csv
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_account.signers.local import LocalAccount
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from civic_ledger.clikit import (
    ApiClient,
    CliContext,
    Group,
    console,
    emit_json,
    err,
    note,
    print_table,
    say,
    sign_typed_data,
)
from civic_ledger.clikit.times import show_time
from civic_ledger.errors import InvalidInput
from civic_ledger.mileage.report_cli import report_app
from civic_ledger.mileage.service import MAX_BATCH, business_number_hash, order_ref_of

app = Group(help="ZeroPay-linked mileage: programs, awards, redemptions, settlements, reports.")
program_app = app.group("program", help="Mileage programs (eco, car-free day, e-tax, health, polls...).")
merchant_app = app.group("merchant", help="ZeroPay merchants: register, list, deactivate, settle.")
policy_app = app.group("policy", help="Epochs and validity of points.")
app.add_typer(report_app, name="report")  # the reports live beside, in report_cli.py

ProgramArg = Annotated[int, typer.Argument(help="Program id.")]
MerchantArg = Annotated[int, typer.Argument(help="Merchant id.")]
CitizenArg = Annotated[str, typer.Argument(help="Citizen: address or keystore name.")]


def _tx(result: dict[str, Any]) -> str:
    return (
        f" · tx {result['tx_hash']} (block {result['block_number']}, gas {result['gas_used']:,})"
        if result.get("tx_hash")
        else ""
    )


def _day(ts: int) -> str:
    """The day in CIVIC_TIMEZONE (default Asia/Seoul), ISO 8601."""
    return show_time(ts)[:10] if ts else "-"


# -- policy --------------------------------------------------------------------------------


@policy_app.command("show", uses=("api", "json"))
def policy_show(cli: CliContext) -> None:
    """Epoch length, validity and the current epoch."""
    p = cli.client.get("/mileage/policy")
    cli.show(
        p,
        lambda p: say(
            f"epoch {p['current_epoch']} (since {_day(p['current_epoch_start'])}) · epochs of "
            f"{p['epoch_length_s'] // 86400} days · points valid {p['validity_epochs']} epochs · "
            f"chain time {_day(p['chain_time'])}"
        ),
    )


@policy_app.command("set", uses=("admin", "api", "json"))
def policy_set(
    cli: CliContext,
    validity: Annotated[int, typer.Option("--validity", min=1, max=7, help="Epochs points stay valid.")],
) -> None:
    """Set the validity of points (only before the first merchant is registered)."""
    p = cli.client.put("/mileage/policy", {"validity_epochs": validity}, token=cli.session())
    cli.show(p, lambda p: note(f"[green]points now valid {p['validity_epochs']} epochs[/]"))


@app.command("advance-time", uses=("admin", "api", "json"))
def advance_time(
    cli: CliContext,
    epochs: Annotated[int, typer.Option("--epochs", min=0, help="Epochs (30 days) to move ahead.")] = 1,
    seconds: Annotated[int, typer.Option("--seconds", min=0, help="Extra seconds.")] = 0,
) -> None:
    """Development chains only: move the chain clock ahead (to see points expire)."""
    p = cli.client.post("/mileage/dev/advance-time", {"epochs": epochs, "seconds": seconds}, token=cli.session())
    cli.show(p, lambda p: note(f"chain time now {_day(p['chain_time'])} · epoch {p['current_epoch']}"))


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


@program_app.command("register", uses=("admin", "api", "json"))
def program_register(
    cli: CliContext,
    name: Annotated[str, typer.Argument(help="Program name, e.g. 'Eco mileage'.")],
    awarder: Annotated[str, typer.Option("--awarder", help="Awarder: address or keystore name.")],
    cap: Annotated[int, typer.Option("--cap", min=1, help="Annual cap in points.")],
) -> None:
    """Register a program (city admin)."""
    p = cli.client.post(
        "/mileage/programs",
        {"name": name, "awarder": cli.address(awarder), "annual_cap": cap},
        token=cli.session(),
    )
    cli.show(p, lambda p: note(f"[green]program {p['program_id']}[/] {p['name']} registered{_tx(p)}"))


@program_app.command("list", uses=("api", "json"))
def program_list(cli: CliContext) -> None:
    """All programs with their caps."""
    rows = cli.client.get("/mileage/programs")
    emit_json(rows) if cli.as_json else console.print(_programs_table(rows))


# -- awards --------------------------------------------------------------------------------


@app.command(uses=("signer", "api", "json"))
def award(
    cli: CliContext,
    program_id: ProgramArg,
    citizen: CitizenArg,
    amount: Annotated[int, typer.Argument(min=1, help="Points.")],
    ref: Annotated[int, typer.Option("--ref", min=0, help="The program's record number (once per program).")],
) -> None:
    """Award points, signed locally by the program's awarder key."""
    signer = cli.signer()
    item = {"account": cli.address(citizen), "amount": amount, "ref": ref}
    typed = cli.client.post(f"/mileage/programs/{program_id}/awards/typed-data", item)
    result = cli.client.post(
        f"/mileage/programs/{program_id}/awards",
        {**item, "deadline": typed["deadline"], "signature": sign_typed_data(signer, typed["typed_data"])},
    )
    if cli.as_json:
        return emit_json(result)
    if result["awarded"]:
        note(
            f"[green]awarded[/] {amount:,} points to citizen #{result['citizen_id']} "
            f"(epoch {result['epoch']}){_tx(result)}"
        )
    else:
        note(f"[yellow]already awarded[/]: reference {ref} of program {program_id} was used before; nothing changed")


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
                        "signature": sign_typed_data(signer, typed["typed_data"]),
                    },
                )
            )
            progress.advance(task, len(chunk))
    return results


SHOWN_SKIPS = 5


def _batch_command(cli: CliContext, path: str, file: Path, columns: tuple[str, ...], key: str, done: str) -> None:
    """Rows of a CSV, signed by --as in batches of 256 and posted to PATH; then what was done and skipped."""
    rows = _read_rows(file, columns)
    results = _batches(cli.client, cli.signer(), rows, path, key, done.removesuffix("ed") + "ing")
    skipped = [s for r in results for s in r["skipped"]]
    if cli.as_json:
        return emit_json(results)
    count = sum(r[f"{done}_count"] for r in results)
    sent = sum(1 for r in results if r.get("tx_hash"))
    reasons: dict[str, int] = {}
    for s in skipped:
        reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
    note(
        f"[green]{done}[/] {count} of {len(rows)} in {sent} transaction(s); skipped {len(skipped)}"
        + (f" ({why})" if why else "")
    )
    for s in skipped[:SHOWN_SKIPS]:  # a few examples; --json lists every row
        note(f"  skipped {s['account']}{' ref ' + str(s['ref']) if s.get('ref') is not None else ''}: {s['reason']}")
    if len(skipped) > SHOWN_SKIPS:
        note(f"  … and {len(skipped) - SHOWN_SKIPS} more (--json lists every row)")


@app.command("award-batch", uses=("signer", "api", "json"))
def award_batch(
    cli: CliContext,
    program_id: ProgramArg,
    file: Annotated[Path, typer.Argument(help="CSV with columns account,amount,ref.")],
) -> None:
    """Award many points from a CSV, 256 per signed batch; duplicates and non-citizens are skipped.

    Examples:

      printf 'account,amount,ref\\nalice,3000,1\\n' > eco.csv

      civic-ledger mileage award-batch 1 eco.csv --as eco
    """
    path = f"/mileage/programs/{program_id}/awards/batch"
    _batch_command(cli, path, file, ("account", "amount", "ref"), "awards", "awarded")


@app.command("import-legacy", uses=("signer", "api", "json"))
def import_legacy(
    cli: CliContext,
    program_id: ProgramArg,
    file: Annotated[Path, typer.Argument(help="CSV with columns account,amount.")],
) -> None:
    """Import legacy balances (once per citizen and program; re-running skips those done)."""
    path = f"/mileage/programs/{program_id}/legacy-imports"
    _batch_command(cli, path, file, ("account", "amount"), "entries", "imported")


# -- merchants -----------------------------------------------------------------------------


@merchant_app.command("register", uses=("admin", "api", "json"))
def merchant_register(
    cli: CliContext,
    name: Annotated[str, typer.Argument(help="Merchant name.")],
    business_number: Annotated[str, typer.Option("--business-number", help="Business registration no. (10 digits).")],
    district: Annotated[int, typer.Option("--district", min=1, max=25, help="District code 1..25.")],
    salt: Annotated[
        str | None, typer.Option("--salt", help="32-byte hex salt of the hash (default: random, printed).")
    ] = None,
) -> None:
    """Register a ZeroPay merchant (only a salted hash of the business number goes on chain)."""
    try:
        salt_bytes = bytes.fromhex(salt.removeprefix("0x")) if salt else secrets.token_bytes(32)
    except ValueError:
        raise InvalidInput("--salt must be hex") from None
    m = cli.client.post(
        "/mileage/merchants",
        {
            "name": name,
            "district": district,
            "business_number_hash": business_number_hash(business_number, salt_bytes),
        },
        token=cli.session(),
    )
    if cli.as_json:
        return emit_json({**m, "salt": "0x" + salt_bytes.hex()})
    note(
        f"[green]merchant {m['merchant_id']}[/] {m['name']} registered (district {m['district']}); "
        f"keep the salt 0x{salt_bytes.hex()}{_tx(m)}"
    )


@merchant_app.command("list", uses=("api", "json"))
def merchant_list(cli: CliContext) -> None:
    """All merchants with redeemed and unsettled points."""
    cli.show(
        cli.client.get("/mileage/merchants"),
        lambda rows: print_table(
            ("id", "name", "district", "active", "redeemed", "unsettled"),
            (
                (
                    str(m["merchant_id"]),
                    m["name"],
                    str(m["district"]),
                    "yes" if m["active"] else "no",
                    f"{m['redeemed']:,}",
                    f"{m['unsettled']:,}",
                )
                for m in rows
            ),
            title="ZeroPay merchants",
        ),
    )


@merchant_app.command("deactivate", uses=("admin", "api", "json"))
def merchant_deactivate(
    cli: CliContext,
    merchant_id: MerchantArg,
) -> None:
    """Stop a merchant accepting points."""
    m = cli.client.post(f"/mileage/merchants/{merchant_id}/deactivate", token=cli.session())
    cli.show(m, lambda m: note(f"merchant {merchant_id} deactivated{_tx(m)}"))


@merchant_app.command("settle", uses=("admin", "api", "json"))
def merchant_settle(
    cli: CliContext,
    merchant_id: MerchantArg,
    period: Annotated[
        int | None, typer.Option("--period", min=0, help="Period label, e.g. the epoch (settles all unsettled).")
    ] = None,
    month: Annotated[
        str | None,
        typer.Option("--month", help="YYYY-MM: settle what was redeemed in that month, Seoul time (label YYYYMM)."),
    ] = None,
    amount: Annotated[int | None, typer.Option("--amount", min=1, help="Points (default: all unsettled).")] = None,
) -> None:
    """Settle a merchant's redeemed points (treasury).

    Examples:

      civic-ledger mileage merchant settle 1 --month 2026-11 --as city-admin

      civic-ledger mileage merchant settle 1 --period 7 --amount 500 --as city-admin
    """
    if period is None and month is None:
        raise InvalidInput("give --month YYYY-MM (what was redeemed that month) or --period LABEL")
    body = {"period": period, "month": month, "amount": amount}
    s = cli.client.post(f"/mileage/merchants/{merchant_id}/settlements", body, token=cli.session())
    cli.show(
        s,
        lambda s: note(
            f"[green]settled[/] {s['amount']:,} points of merchant {merchant_id} for period {s['period']}; "
            f"unsettled now {s['unsettled_after']:,}{_tx(s)}"
        ),
    )


# -- citizens ------------------------------------------------------------------------------


@app.command(uses=("signer", "api", "json"))
def redeem(
    cli: CliContext,
    merchant_id: MerchantArg,
    amount: Annotated[int, typer.Argument(min=1, help="Points to spend.")],
    order: Annotated[str, typer.Option("--order", help="The merchant's order id (hashed on chain).")],
) -> None:
    """Spend points at a ZeroPay merchant, signed locally by the citizen (oldest points first)."""
    citizen = cli.signer()
    body = {
        "citizen": citizen.address,
        "merchant_id": merchant_id,
        "amount": amount,
        "order_ref": order_ref_of(order),
    }
    typed = cli.client.post("/mileage/redemptions/typed-data", body)
    result = cli.client.post(
        "/mileage/redemptions",
        {
            **body,
            "nonce": typed["nonce"],
            "deadline": typed["deadline"],
            "signature": sign_typed_data(citizen, typed["typed_data"]),
        },
    )

    def render(result: dict[str, Any]) -> None:
        for x in result["expired"]:
            note(f"[yellow]expired[/] {x['amount']:,} points of epoch {x['epoch']} written off")
        note(
            f"[green]redeemed[/] {amount:,} points at merchant {merchant_id}; balance now "
            f"{result['balance_after']:,}{_tx(result)}"
        )

    cli.show(result, render)


@app.command(uses=("api", "data", "json"))
def balance(
    cli: CliContext,
    citizen: CitizenArg,
) -> None:
    """A citizen's unexpired points, by epoch, with expiry dates."""
    cli.show(
        cli.client.get(f"/mileage/balances/{cli.address(citizen)}"),
        lambda b: print_table(
            ("epoch", "points", "expires on", "status"),
            (
                (
                    str(x["epoch"]),
                    f"{x['amount']:,}",
                    _day(x["expires_at"]),
                    "[red]expired[/]" if x["expired"] else "spendable",
                )
                for x in b["buckets"]
            ),
            title=f"citizen #{b['citizen_id']} · balance {b['balance']:,} points (epoch {b['current_epoch']})",
        ),
    )
