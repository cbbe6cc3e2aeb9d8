"""``civic-ledger credentials verify`` and ``verify-presentation``: against a node alone, no API.

The registry is a trusted deployment's (``--manifest``, default: the data directory's manifest
for the node's chain id), never the one the document names; ``--registry`` is only compared.
Registered on the ``credentials`` group by :mod:`civic_ledger.credentials.cli`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from civic_ledger.clikit import CliContext, cli_context, deployment_line, fail, print_table, say

# -- verification (node only) -------------------------------------------------------------------


def _trusted(cli: CliContext, registry: str | None) -> Any:
    """The trusted deployment: --manifest (or the data dir's manifest for the node's chain id), never
    the document; --registry, when given, is only compared with it."""
    from civic_ledger.platform.trust import trusted_from_node

    url = cli.rpc_url or os.environ.get("CIVIC_CHAIN", "")
    if not url.startswith(("http://", "https://")):
        fail("give the node's JSON-RPC URL: --rpc-url http://host:port (env CIVIC_RPC_URL)")
    trusted = trusted_from_node(url, cli.manifest, cli.data)
    wrong = trusted.compare_address("CredentialRegistry", registry, "--registry") if registry else None
    if wrong:
        fail(wrong)
    return trusted


def _print_report(report: dict[str, Any]) -> None:
    d = report.get("deployment") or {}
    if d:
        say(deployment_line(d))
    colours = {"pass": "green", "fail": "red", "skipped": "yellow"}
    print_table(
        ("check", "result", "detail"),
        ((c["name"], f"[{colours[c['status']]}]{c['status']}[/]", c["detail"]) for c in report["checks"]),
        title=f"credential {report.get('credential_hash')}",
    )
    if report.get("claims"):
        say("disclosed claims: " + json.dumps(report["claims"], ensure_ascii=False))
    verdict = "[bold green]VALID[/]" if report["valid"] else "[bold red]INVALID[/]"
    say(f"verdict: {verdict}")


RegistryOpt = Annotated[
    str | None,
    typer.Option("--registry", help="Expected CredentialRegistry address: compared with the trusted deployment's."),
]


@cli_context("node?", "json")
def verify(
    cli: CliContext,
    file: Annotated[Path, typer.Argument(help="Credential document (JSON).")],
    registry: RegistryOpt = None,
    at: Annotated[str | None, typer.Option(help="Check expiry as of this time (ISO or Unix).")] = None,
) -> None:
    """Verify a credential against a node alone (no API): each check and a verdict; exit 1 if invalid.

    The registry is the trusted manifest's, never the one the document names."""
    from civic_ledger.credentials.cli import _time, read_json
    from civic_ledger.credentials.verify import verify_document

    doc = read_json(file)
    report = verify_document(_trusted(cli, registry), doc, at=_time(at, "--at")).to_dict()
    cli.show(report, _print_report)
    if not report["valid"]:
        raise typer.Exit(1)


@cli_context("node?", "json")
def verify_presentation(
    cli: CliContext,
    file: Path,
    audience: Annotated[str, typer.Option()],
    nonce: Annotated[str, typer.Option(help="The nonce you issued.")],
    registry: RegistryOpt = None,
) -> None:
    """Verify a holder presentation against a node alone; exit 1 if invalid."""
    from civic_ledger.credentials.cli import read_json
    from civic_ledger.credentials.verify import verify_presentation as vp

    pres = read_json(file)
    report = vp(_trusted(cli, registry), pres, audience=audience, nonce=nonce).to_dict()

    def render(r: dict[str, Any]) -> None:
        for c in r["checks"]:
            say(f"{c['name']}: {'[green]pass[/]' if c['ok'] else '[red]fail[/]'} — {c['detail']}")
        _print_report(r["credential"])

    cli.show(report, render)
    if not report["valid"]:
        raise typer.Exit(1)
