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
from civic_ledger.clikit import CliContext, Group, console, deployment_line, emit_json, note, print_table, say

app = Group(help="Audit a project's payments from chain data alone.")
ProjectArg = Annotated[int, typer.Argument(help="Project id.")]


def _source(cli: CliContext) -> ChainSource:
    source = ChainSource.from_rpc(cli.rpc, cli.manifest, cli.data)
    note(deployment_line(source.deployment))
    return source


@app.command(uses=("node", "json"))
def trail(
    cli: CliContext,
    project: ProjectArg,
    out: Annotated[Path | None, typer.Option("--out", help="Write the CSV here (and OUT.manifest.json).")] = None,
) -> None:
    """Every event of PROJECT as CSV (block,time,tx,log_index,event,payer,payee,purpose,amount,claim,evidence,due,late)."""
    source = _source(cli)
    result = build_trail(source, project)
    text = result.csv_text()
    if out is not None:
        out.write_text(text)
        Path(str(out) + ".manifest.json").write_text(json.dumps(result.manifest, indent=2))
        note(f"wrote {out} ({len(result.rows)} rows) and {out}.manifest.json")
    if cli.as_json:
        emit_json(result.to_dict())
    elif out is None:
        sys.stdout.write(text)
    note(
        f"sha256 {result.manifest['csv_sha256']} · chain {result.manifest['chain_id']} · blocks "
        f"{result.manifest['from_block']}-{result.manifest['to_block']}"
    )


@app.command("reconcile", uses=("node", "json"))
def reconcile_cmd(
    cli: CliContext,
    project: ProjectArg,
) -> None:
    """Per bucket funded = paid + refunded + balance, per payee claimed vs paid, late interest, escrow check.

    Tokens sent to the escrow outside any project are reported as unattributed (information).
    Exit code 2 when anything does not match."""
    source = _source(cli)
    result = reconcile(source, project)
    cli.show(result, _print)
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
        print_table(
            ("claim", "line", "payee", "amount", "interest"),
            (
                (str(x["claim"]), str(x["line"]), x["payee"], f"{x['amount']:,}", f"{x['interest']:,}")
                for x in r["late"]
            ),
            title="late subcontract payments (15.5 %/yr)",
        )
    e = r["escrow"]
    say(
        f"escrow: {e['balance_on_chain']:,} won on chain, {e['balance_from_events']:,} attributed by events, "
        f"{e['unattributed']:,} unattributed; credits {e['credits_on_chain']:,} / {e['credits_from_events']:,}"
    )
    say(f"[dim]{e['note']}[/]")
    console.print("[green]reconciled: events and contract state agree[/]" if r["matches"] else "[red]MISMATCH[/]")
