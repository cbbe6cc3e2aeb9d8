"""``civic-ledger index status | rebuild | verify``: the data directory's event index.

They open ``DATA_DIR/index.sqlite3`` directly (next to a running server or with it stopped).
``verify`` rebuilds every read model from the chain in a temporary index and compares digests:
it reads the node given by ``--chain`` or, for the embedded chain, a read-only snapshot of the
chain store (no lock needed: it works while a server runs on it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from civic_ledger.cli_support import cli_errors, console, err

app = typer.Typer(help="The event index (DATA_DIR/index.sqlite3): status, rebuild, verify.", no_args_is_help=True)

ChainOpt = Annotated[
    str | None, typer.Option("--chain", help="`embedded` (default) or a JSON-RPC URL. Env: CIVIC_CHAIN.")
]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Where the index is. Env: CIVIC_DATA_DIR.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _settings(chain: str | None, data_dir: Path | None):  # type: ignore[no-untyped-def]
    from civic_ledger.cli import load_settings

    return load_settings(chain=chain, data_dir=data_dir)


@app.command()
def status(chain: ChainOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """Cursor (last block indexed), chain head, lag and events per contract."""
    from civic_ledger.platform.indexer.maintenance import index_status

    with cli_errors():
        info = index_status(_settings(chain, data_dir))
    if as_json:
        console.print_json(json.dumps(info))
        return
    lag = "?" if info["lag"] is None else f"{info['lag']:,}"
    console.print(
        f"index {info['index']} · chain {info['chain']} (id {info['chain_id']})\n"
        f"cursor block {info['cursor']} ({(info['cursor_hash'] or '')[:18]}…) · head {info['head']} · lag {lag} blocks",
        highlight=False,
    )
    if info["chain_error"]:
        err.print(f"[yellow]head unknown:[/] {info['chain_error']}", highlight=False)
    table = Table(title="events per contract")
    table.add_column("contract")
    table.add_column("events", justify="right")
    for name, n in info["events"].items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    console.print("read models: " + ", ".join(f"{k} v{v}" for k, v in info["projections"].items()), highlight=False)


@app.command()
def rebuild(chain: ChainOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """Drop every read model and replay the stored events into it (one transaction)."""
    from civic_ledger.platform.indexer.maintenance import rebuild_index

    with cli_errors():
        counts = rebuild_index(_settings(chain, data_dir))
    if as_json:
        console.print_json(json.dumps({"rebuilt": counts}))
        return
    for name, n in counts.items():
        console.print(f"[green]rebuilt[/] {name} from {n:,} events", highlight=False)


@app.command()
def verify(chain: ChainOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """Recompute the read models from the chain (temporary index) and compare a digest per table.

    Exit code 2 when a table differs (named in the output).
    """
    from civic_ledger.platform.indexer.maintenance import verify_index

    with cli_errors():
        report = verify_index(_settings(chain, data_dir))
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
    else:
        table = Table(title=f"index vs chain, up to block {report.cursor}")
        for col in ("table", "rows (index)", "rows (chain)", "digest"):
            table.add_column(col)
        for t in report.tables:
            verdict = (
                "[green]matches[/]" if t.matches else f"[red]differs[/] {t.digest_index[:10]} ≠ {t.digest_chain[:10]}"
            )
            table.add_row(t.table, f"{t.rows_index:,}", f"{t.rows_chain:,}", verdict)
        console.print(table)
        for problem in report.problems:
            err.print(f"[bold red]problem:[/] {problem}", highlight=False)
    if not report.ok:
        names = ", ".join(report.mismatched) or "none"
        err.print(f"[bold red]error:[/] the index differs from the chain: tables {names}", highlight=False)
        raise typer.Exit(2)
