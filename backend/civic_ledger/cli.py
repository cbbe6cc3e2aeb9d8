"""The ``civic-ledger`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from civic_ledger.clikit import (
    DEFAULT_API_URL,
    ApiOpt,
    Group,
    JsonOpt,
    console,
    data_dir_or_default,
    emit_json,
    err,
    fail,
    load_settings,
    print_table,
    say,
)
from civic_ledger.clikit import (
    DataDirOpt as KitDataDirOpt,
)
from civic_ledger.errors import CivicLedgerError

__all__ = ["app", "load_settings", "main"]

app = Group(
    help="civic-ledger: blockchain-backed civic records (Citizen Card, M-Voting, credentials, ...).\n\n"
    "Examples:\n\n"
    "  civic-ledger serve                      # the API on the embedded chain\n\n"
    "  civic-ledger demo                       # fill it with a small demo city\n\n"
    "  civic-ledger voting list                # what the city is voting on\n\n"
    "  civic-ledger --install-completion       # tab completion for your shell",
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        from civic_ledger import __version__

        typer.echo(f"civic-ledger {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """civic-ledger: blockchain-backed civic records."""


ChainOpt = Annotated[
    str | None,
    typer.Option(
        "--chain", help="`embedded` (default) or a JSON-RPC URL such as http://127.0.0.1:8545. Env: CIVIC_CHAIN."
    ),
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Chain store, manifest and keystores. Env: CIVIC_DATA_DIR.")
]
ServerApiOpt = Annotated[
    str | None,
    typer.Option("--api", help="A server running on this data directory (default: CIVIC_API_URL, else host:port)."),
]


# command name → its help in ``civic-ledger --help``, in that order; the group is ``civic_ledger.NAME.cli:app``
AREAS = {
    "identity": "Citizen Card identity: keystores, registration, key rotation, sign-in.",
    "roles": "Agency roles (POLL_ADMIN_ROLE, …): list, check, grant, revoke.",
    "voting": "M-Voting: polls, signed ballots, results, recount.",
    "credentials": "Online credentials: issue, revoke, verify, present.",
    "mileage": "ZeroPay-linked mileage: programs, awards, redemptions, settlements, reports.",
    "payments": "Automatic subcontract payment (대금e바로): projects, buckets, claims, approvals, direct settlement.",
    "audit": "Audit a project's payments from chain data alone: trail CSV, reconcile.",
    "index": "The event index and read models: status, rebuild, verify.",
    "network": "A permissioned validator network (Besu QBFT) for the ledger.",
    "vehicles": "Used-car history (장안평): registration, odometer, inspections, claims, liens, trades, reports.",
    "labor": "Part-time worker protection: contracts, work weeks, wage statements, findings, evidence.",
}
_MODULES = {"index": "platform.index_cli"}  # a group whose module is not NAME.cli


def _add_area_commands() -> None:
    import importlib

    for name, summary in AREAS.items():
        module = importlib.import_module(f"civic_ledger.{_MODULES.get(name, f'{name}.cli')}")
        app.add_typer(module.app, name=name, help=summary)


def _progress(message: str) -> None:
    err.print(f"[dim]…[/] {message}", highlight=False)


@app.command()
def serve(
    chain: ChainOpt = None,
    data_dir: DataDirOpt = None,
    host: Annotated[str | None, typer.Option(help="Listen address. Env: CIVIC_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port. Env: CIVIC_PORT.")] = None,
) -> None:
    """Compile, open the chain, deploy what is missing and serve the HTTP API (docs at /docs)."""
    import uvicorn

    from civic_ledger.main import create_app
    from civic_ledger.platform.runtime import Platform

    settings = load_settings(chain=chain, data_dir=data_dir, host=host, port=port)
    platform = Platform.start(settings, progress=_progress)
    d = platform.deployment
    err.print(
        f"[green]ready[/]: chain {platform.chain.kind} (id {platform.chain.chain_id}), "
        f"{len(d.entries)} contracts, manifest {d.manifest_path}",
        highlight=False,
    )
    err.print(f"serving on http://{settings.host}:{settings.port}  (OpenAPI docs: /docs)", highlight=False)
    from civic_ledger.api.observability import configure_logging

    configure_logging(settings.log_level)  # JSON lines on stderr: one per request, one per transaction
    try:
        uvicorn.run(
            create_app(settings, platform=platform),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,  # one JSON line per request comes from the app (api/observability.py)
        )
    finally:
        platform.close()


def _in_use(exc: CivicLedgerError) -> bool:
    return "in use by another civic-ledger process" in exc.message


def _api_of(api: str | None, settings: Any) -> str:
    return api or settings.api_url or f"http://{settings.host}:{settings.port}"


@app.command()
def deploy(
    chain: ChainOpt = None,
    data_dir: DataDirOpt = None,
    redeploy_changed: Annotated[
        bool, typer.Option(help="Deploy contracts whose code changed anew instead of stopping.")
    ] = False,
    api: ServerApiOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy every contract not yet in this chain's manifest, then show the deployment.

    Beside a running server (the data directory is locked) it shows the server's deployment, which
    the server completed when it started.

    Examples:

      civic-ledger deploy

      civic-ledger deploy --chain http://10.0.0.5:8545 --data-dir /var/lib/civic-ledger
    """
    from civic_ledger.platform.runtime import Platform

    settings = load_settings(chain=chain, data_dir=data_dir)
    try:
        platform = Platform.start(settings, redeploy_changed=redeploy_changed, progress=_progress)
    except CivicLedgerError as exc:
        if not _in_use(exc):
            raise
        if redeploy_changed:
            fail(f"{exc.message}: stop the server before --redeploy-changed (it deploys from a locked data directory)")
        url = _api_of(api, settings)
        err.print(f"[dim]…[/] a server runs on {settings.data_dir}: it deployed at start; showing {url}/chain")
        _print_api_status(url, as_json)
        return
    try:
        _print_status(platform, as_json)
    finally:
        platform.close()


@app.command()
def status(
    chain: ChainOpt = None,
    data_dir: DataDirOpt = None,
    api: ServerApiOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the chain, the operator and every deployed contract (checked against the chain).

    Beside a running server (the data directory is locked) it asks the server (GET /chain).

    Examples:

      civic-ledger status

      civic-ledger status --json | jq .contracts.MVoting.address
    """
    from civic_ledger.platform.runtime import Platform

    settings = load_settings(chain=chain, data_dir=data_dir)
    try:
        platform = Platform.start(settings, deploy=False)
    except CivicLedgerError as exc:
        if not _in_use(exc):
            raise
        _print_api_status(_api_of(api, settings), as_json)
        return
    try:
        _print_status(platform, as_json)
    finally:
        platform.close()


def _print_api_status(url: str, as_json: bool) -> None:
    from civic_ledger.clikit import ApiClient

    with ApiClient(url) as client:
        found = client.get("/chain")
    contracts = {
        name: {"address": c["address"], "block": c["deploy_block"], "tx": c["deploy_tx"], "code_hash": c["code_hash"]}
        for name, c in found["contracts"].items()
    }
    status = {
        "chain": found["chain"],
        "chain_id": found["chain_id"],
        "development": found["development"],
        "head": found["head_block"],
        "operator": found["operator"],
        "compiler": found["compiler_version"],
        "manifest": found["manifest"],
        "contracts": contracts,
    }
    _show_status(status, as_json, source=url)


def _show_status(s: dict[str, Any], as_json: bool, source: str | None = None) -> None:
    """``status`` of this data directory (its contracts checked against the chain), or of the server at ``source``."""
    if as_json:
        emit_json(s if source is None else {**s, "source": source})
        return
    where = f" · from the server at {source}" if source else ""
    console.print(
        f"chain [bold]{s['chain']}[/] · id {s['chain_id']}{' (development)' if s['development'] else ''}"
        f" · head block {s['head']} · operator {s['operator']}{where}",
        highlight=False,
    )
    console.print(f"compiler {s['compiler']} · manifest {s['manifest']}", highlight=False)
    code = {"code": "[green]matches[/]"} if source is None else {}  # checked against the chain here
    print_table(
        ("contract", "address", "deploy block", "deploy tx", *code),
        (
            (name, e["address"], str(e["block"]), e["tx"][:18] + "…", *code.values())
            for name, e in s["contracts"].items()
        ),
    )


@app.command(
    epilog="Examples:\n\n  civic-ledger demo\n\n  civic-ledger demo --api http://127.0.0.1:8001 --data-dir /tmp/city\n\n"
    "  civic-ledger voting list   # then any walk-through's read command"
)
def demo(
    api: ApiOpt = DEFAULT_API_URL,
    data_dir: KitDataDirOpt = None,
    password: Annotated[
        str | None,
        typer.Option(help="Password of the demo keystores. Default: env CIVIC_KEYSTORE_PASSWORD, else `demo`."),
    ] = None,
    citizens: Annotated[int, typer.Option(min=40, max=5000, help="How many citizens to register.")] = 300,
    as_json: JsonOpt = False,
) -> None:
    """Fill a running development server with a small city: districts' registrars, 300 citizens,
    agencies with roles, open and closed polls (public and sealed), issued and revoked credentials,
    a payments project with a late payment, mileage with expiry, a labour contract with findings
    and a used car. Idempotent (a second run adds nothing); refused on non-development chains."""
    import os

    from civic_ledger.demo import run_demo

    folder = data_dir_or_default(data_dir)
    secret = password or os.environ.get("CIVIC_KEYSTORE_PASSWORD") or "demo"
    quiet = (lambda _m: None) if as_json else (lambda m: err.print(m, highlight=False))
    summary = run_demo(api, folder, secret, quiet, citizens=citizens)
    if as_json:
        emit_json(summary)
        return
    table = Table(title=f"demo city at {api} ({summary['seconds']} s)")
    for col in ("what", "made now", "already there"):
        table.add_column(col, justify="right" if col != "what" else "left")
    for what in sorted(set(summary["made"]) | set(summary["existed"])):
        table.add_row(what, str(summary["made"].get(what, 0)), str(summary["existed"].get(what, 0)))
    console.print(table)
    say(f"keystores ({summary['keystore_dir']}, password {secret!r}): " + ", ".join(summary["keystores"]))
    say(
        "e.g. civic-ledger identity show demo-minji · civic-ledger voting list · civic-ledger payments project "
        f"{summary['sections'].get('payments', {}).get('project', 1)} · civic-ledger mileage report liability"
    )


@app.command("compile")
def compile_cmd(
    force: Annotated[bool, typer.Option(help="Rebuild even when the cache is current.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Compile the contracts (cached under the build directory)."""
    from civic_ledger.platform.compiler import compile_contracts

    settings = load_settings()
    build = compile_contracts(settings.build_dir, force=force)
    if as_json:
        sizes = {name: len(art.deployed_bytecode) // 2 for name, art in build.artifacts.items()}
        emit_json({"compiler": build.compiler_version, "build_hash": build.build_hash, "runtime_bytes": sizes})
        return
    table = Table(title=f"solc {build.compiler_version} · build {build.build_hash[:12]}")
    table.add_column("contract")
    table.add_column("source")
    table.add_column("runtime bytes", justify="right")
    for name, art in build.artifacts.items():
        table.add_row(name, art.source, f"{len(art.deployed_bytecode) // 2:,}")
    console.print(table)


def _print_status(platform: Any, as_json: bool = False) -> None:
    chain = platform.chain
    d = platform.deployment
    status = {
        "chain": chain.kind,
        "chain_id": chain.chain_id,
        "development": chain.is_development,
        "head": chain.head(),
        "operator": platform.operator.address,
        "compiler": d.compiler_version,
        "manifest": str(d.manifest_path),
        "contracts": d.entries,
    }
    _show_status(status, as_json)


_add_area_commands()


def main() -> None:
    """Entry point: domain errors become one red line and exit code 1, never a traceback."""
    from civic_ledger.clikit.settings import load_dotenv

    load_dotenv()  # the CLI reads .env like the server
    try:
        app()
    except CivicLedgerError as exc:
        try:
            fail(exc.message)
        except typer.Exit as done:
            sys.exit(done.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
