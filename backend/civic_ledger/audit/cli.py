"""`civic-ledger audit`: a project's payment trail and reconciliation from any node, without the API.

Only a JSON-RPC URL and a deployment manifest the auditor trusts (for the two contract addresses,
checked against the code on the node) are needed: the auditor can point it at a node of their own
choosing. Every output says which deployment it read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from civic_ledger.audit.trail import ChainSource, build_trail, reconcile
from civic_ledger.cli_support import cli_errors, console, data_dir_or_default, err

app = typer.Typer(help="Audit a project's payments from chain data alone.", no_args_is_help=True)

RpcOpt = Annotated[
    str, typer.Option("--rpc-url", envvar="CIVIC_AUDIT_RPC_URL", help="JSON-RPC URL of any node of the chain.")
]
ManifestOpt = Annotated[
    Path | None,
    typer.Option(
        "--manifest",
        envvar="CIVIC_AUDIT_MANIFEST",
        help="Deployment manifest you trust (deployment-<chainId>.json): contract addresses and code hashes. "
        "Default: the one for the node's chain id in the data directory (CIVIC_DATA_DIR).",
    ),
]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Where the default manifest is.")]


def _source(rpc_url: str, manifest: Path | None, data_dir: Path | None) -> ChainSource:
    with cli_errors():
        source = ChainSource.from_rpc(rpc_url, manifest, data_dir_or_default(data_dir))
    d = source.deployment
    err.print(
        f"trusted deployment: chain id {d['chain_id']} · {d['manifest']} · sha256 {d['manifest_sha256']} · "
        + ", ".join(f"{n} {a}" for n, a in d["contracts"].items()),
        highlight=False,
    )
    return source


@app.command()
def trail(
    project: Annotated[int, typer.Argument(help="Project id.")],
    rpc_url: RpcOpt,
    manifest: ManifestOpt = None,
    data_dir: DataDirOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the CSV here (and OUT.manifest.json).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trail as JSON (rows + manifest).")] = False,
) -> None:
    """Every event of PROJECT as CSV (block,time,tx,log_index,event,payer,payee,purpose,amount,claim,evidence,due,late)."""
    source = _source(rpc_url, manifest, data_dir)
    with cli_errors():
        result = build_trail(source, project)
    text = result.csv_text()
    if out is not None:
        out.write_text(text)
        Path(str(out) + ".manifest.json").write_text(json.dumps(result.manifest, indent=2))
        err.print(f"wrote {out} ({len(result.rows)} rows) and {out}.manifest.json", highlight=False)
    if as_json:
        console.print_json(json.dumps(result.to_dict()))
    elif out is None:
        sys.stdout.write(text)
    err.print(
        f"sha256 {result.manifest['csv_sha256']} · chain {result.manifest['chain_id']} · blocks "
        f"{result.manifest['from_block']}-{result.manifest['to_block']}",
        highlight=False,
    )


@app.command("reconcile")
def reconcile_cmd(
    project: Annotated[int, typer.Argument(help="Project id.")],
    rpc_url: RpcOpt,
    manifest: ManifestOpt = None,
    data_dir: DataDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reconciliation as JSON.")] = False,
) -> None:
    """Per bucket funded = paid + refunded + balance, per payee claimed vs paid, late interest, escrow check.

    Tokens sent to the escrow outside any project are reported as unattributed (information).
    Exit code 2 when anything does not match."""
    source = _source(rpc_url, manifest, data_dir)
    with cli_errors():
        result = reconcile(source, project)
    if as_json:
        console.print_json(json.dumps(result))
    else:
        _print(result)
    if not result["matches"]:
        raise typer.Exit(2)


def _print(r: dict) -> None:  # type: ignore[type-arg]
    t = Table(title=f"project {r['project_id']} · chain {r['chain_id']} · block {r['block']}")
    for col in ("bucket", "funded", "paid", "refunded", "balance", "on chain", "ok"):
        t.add_column(col, justify="right" if col not in ("bucket", "ok") else "left")
    for b in r["buckets"]:
        t.add_row(
            b["purpose"],
            f"{b['funded']:,}",
            f"{b['paid']:,}",
            f"{b['refunded']:,}",
            f"{b['balance']:,}",
            f"{b['balance_on_chain']:,}",
            "[green]yes[/]" if b["matches"] else "[red]NO[/]",
        )
    tot = r["totals"]
    t.add_row(
        "[bold]total", f"{tot['funded']:,}", f"{tot['paid']:,}", f"{tot['refunded']:,}", f"{tot['balance']:,}", "", ""
    )
    console.print(t)
    p = Table(title="payees")
    for col in ("payee", "claimed", "paid", "credited", "outstanding", "withdrawable"):
        p.add_column(col, justify="left" if col == "payee" else "right")
    for row in r["payees"]:
        p.add_row(
            row["payee"],
            f"{row['claimed']:,}",
            f"{row['paid']:,}",
            f"{row['credited']:,}",
            f"{row['outstanding']:,}",
            f"{row['withdrawable_now']:,}",
        )
    console.print(p)
    if r["late"]:
        lt = Table(title="late subcontract payments (15.5 %/yr)")
        for col in ("claim", "line", "payee", "amount", "interest"):
            lt.add_column(col)
        for x in r["late"]:
            lt.add_row(str(x["claim"]), str(x["line"]), x["payee"], f"{x['amount']:,}", f"{x['interest']:,}")
        console.print(lt)
    e = r["escrow"]
    console.print(
        f"escrow: {e['balance_on_chain']:,} won on chain, {e['balance_from_events']:,} attributed by events, "
        f"{e['unattributed']:,} unattributed; credits {e['credits_on_chain']:,} / {e['credits_from_events']:,}",
        highlight=False,
    )
    console.print(f"[dim]{e['note']}[/]", highlight=False)
    console.print("[green]reconciled: events and contract state agree[/]" if r["matches"] else "[red]MISMATCH[/]")
