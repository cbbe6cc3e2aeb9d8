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
from rich.table import Table

from civic_ledger.cli_support import console, fail
from civic_ledger.errors import CivicLedgerError

# -- verification (node only) -------------------------------------------------------------------


def _trusted(rpc_url: str | None, manifest: Path | None, registry: str | None, data_dir: Path | None) -> Any:
    """The trusted deployment: --manifest (or the data dir's manifest for the node's chain id), never
    the document; --registry, when given, is only compared with it."""
    from civic_ledger.cli_support import data_dir_or_default
    from civic_ledger.platform.trust import trusted_from_node

    url = rpc_url or os.environ.get("CIVIC_CHAIN", "")
    if not url.startswith(("http://", "https://")):
        fail("give the node's JSON-RPC URL: --rpc-url http://host:port (or CIVIC_CHAIN)")
    try:
        trusted = trusted_from_node(url, manifest, data_dir_or_default(data_dir))
        wrong = trusted.compare_address("CredentialRegistry", registry, "--registry") if registry else None
    except CivicLedgerError as exc:
        fail(exc.message)
    if wrong:
        fail(wrong)
    return trusted


def _print_report(report: dict[str, Any]) -> None:
    d = report.get("deployment") or {}
    if d:
        console.print(
            f"trusted deployment: chain id {d['chain_id']} · {d['manifest']} · sha256 {d['manifest_sha256']} · "
            + ", ".join(f"{n} {a}" for n, a in d["contracts"].items()),
            highlight=False,
        )
    table = Table(title=f"credential {report.get('credential_hash')}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    colours = {"pass": "green", "fail": "red", "skipped": "yellow"}
    for c in report["checks"]:
        table.add_row(c["name"], f"[{colours[c['status']]}]{c['status']}[/]", c["detail"])
    console.print(table)
    if report.get("claims"):
        console.print("disclosed claims: " + json.dumps(report["claims"], ensure_ascii=False), highlight=False)
    verdict = "[bold green]VALID[/]" if report["valid"] else "[bold red]INVALID[/]"
    console.print(f"verdict: {verdict}", highlight=False)


RpcOpt = Annotated[
    str | None, typer.Option("--rpc-url", help="JSON-RPC URL of any node of the chain. Env: CIVIC_CHAIN.")
]
ManifestOpt = Annotated[
    Path | None,
    typer.Option(
        "--manifest",
        help="Deployment manifest you trust (deployment-<chainId>.json); default: the one for the node's chain id "
        "in the data directory (CIVIC_DATA_DIR). The registry the document names is only compared with it.",
    ),
]
RegistryOpt = Annotated[
    str | None,
    typer.Option("--registry", help="Expected CredentialRegistry address: compared with the trusted deployment's."),
]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Where the default manifest is (CIVIC_DATA_DIR).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def verify(
    file: Annotated[Path, typer.Argument(help="Credential document (JSON).")],
    rpc_url: RpcOpt = None,
    manifest: ManifestOpt = None,
    registry: RegistryOpt = None,
    at: Annotated[str | None, typer.Option(help="Check expiry as of this time (ISO or Unix).")] = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify a credential against a node alone (no API): each check and a verdict; exit 1 if invalid.

    The registry is the trusted manifest's, never the one the document names."""
    from civic_ledger.credentials.cli import _time, read_json
    from civic_ledger.credentials.verify import verify_document

    doc = read_json(file)
    trusted = _trusted(rpc_url, manifest, registry, data_dir)
    try:
        report = verify_document(trusted, doc, at=_time(at, "--at")).to_dict()
    except CivicLedgerError as exc:
        fail(exc.message)
    if as_json:
        console.print_json(data=report)
    else:
        _print_report(report)
    if not report["valid"]:
        raise typer.Exit(1)


def verify_presentation(
    file: Path,
    audience: Annotated[str, typer.Option()],
    nonce: Annotated[str, typer.Option(help="The nonce you issued.")],
    rpc_url: RpcOpt = None,
    manifest: ManifestOpt = None,
    registry: RegistryOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify a holder presentation against a node alone; exit 1 if invalid."""
    from civic_ledger.credentials.cli import read_json
    from civic_ledger.credentials.verify import verify_presentation as vp

    pres = read_json(file)
    trusted = _trusted(rpc_url, manifest, registry, data_dir)
    try:
        report = vp(trusted, pres, audience=audience, nonce=nonce).to_dict()
    except CivicLedgerError as exc:
        fail(exc.message)
    if as_json:
        console.print_json(data=report)
    else:
        for c in report["checks"]:
            console.print(
                f"{c['name']}: {'[green]pass[/]' if c['ok'] else '[red]fail[/]'} — {c['detail']}", highlight=False
            )
        _print_report(report["credential"])
    if not report["valid"]:
        raise typer.Exit(1)
