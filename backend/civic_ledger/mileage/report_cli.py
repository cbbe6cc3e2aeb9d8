"""``civic-ledger mileage report``: liability, merchant redemptions and citizen statements (table, CSV or JSON).

Registered on the ``mileage`` group by :mod:`civic_ledger.mileage.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from civic_ledger.clikit import ApiClient, CliContext, Group, console, emit_json, note, say
from civic_ledger.clikit.times import show_time

report_app = Group(help="Liability, merchant redemptions and citizen statements (table or CSV).")
CsvOpt = Annotated[Path | None, typer.Option("--csv", help="Write the report as CSV to this file ('-' = stdout).")]


def _day(ts: int) -> str:
    """The day in CIVIC_TIMEZONE (default Asia/Seoul), ISO 8601."""
    return show_time(ts)[:10] if ts else "-"


def _csv_text(client: ApiClient, path: str) -> str:
    """The CSV form of a report."""
    return str(client.get(path, params={"format": "csv"}))


def _write_csv(text: str, target: Path) -> None:
    if str(target) == "-":
        typer.echo(text, nl=False)
    else:
        target.write_text(text)
        note(f"wrote {target}")


# -- reports -------------------------------------------------------------------------------


@report_app.command("liability", uses=("api", "json"))
def report_liability(
    cli: CliContext,
    to_csv: CsvOpt = None,
) -> None:
    """Outstanding points per program (awarded + imported − redeemed − expired), checked against the chain."""
    if to_csv:
        return _write_csv(_csv_text(cli.client, "/mileage/reports/liability"), to_csv)
    r = cli.client.get("/mileage/reports/liability")
    if cli.as_json:
        return emit_json(r)
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
    say(
        f"{status}: outstanding {r['total']['outstanding']:,} = Σ citizens' on-chain balances "
        f"{r['on_chain_balance_total']:,}"
    )


@report_app.command("merchants", uses=("api", "json"))
def report_merchants(
    cli: CliContext,
    to_csv: CsvOpt = None,
) -> None:
    """Redemptions per merchant per epoch, and what was settled."""
    if to_csv:
        return _write_csv(_csv_text(cli.client, "/mileage/reports/merchants"), to_csv)
    r = cli.client.get("/mileage/reports/merchants")
    if cli.as_json:
        return emit_json(r)
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


@report_app.command("statement", uses=("api", "data", "json"))
def report_statement(
    cli: CliContext,
    citizen: Annotated[str, typer.Argument(help="Citizen: address or keystore name.")],
    to_csv: CsvOpt = None,
) -> None:
    """A citizen's awards, redemptions and expiries."""
    path = f"/mileage/reports/statements/{cli.address(citizen)}"
    if to_csv:
        return _write_csv(_csv_text(cli.client, path), to_csv)
    s = cli.client.get(path)
    if cli.as_json:
        return emit_json(s)
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
    say(
        f"awarded {s['awarded']:,} + imported {s['imported']:,} = balance {s['balance']:,} + redeemed "
        f"{s['redeemed']:,} + expired {s['expired']:,}  "
        f"{'[green]✓[/]' if s['conserved'] else '[bold red]✗[/]'}"
    )
