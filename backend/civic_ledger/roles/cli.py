"""`civic-ledger roles …`: list, check, grant and revoke agency roles through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from civic_ledger.cli_support import address_or_keystore, cli_errors, console, err
from civic_ledger.identity import keys
from civic_ledger.identity.keys import DEFAULT_API_URL, ApiClient, ApiOpt, DataDirOpt, PasswordOpt

app = typer.Typer(
    help="Agency roles (POLL_ADMIN_ROLE, REGISTRAR_ROLE, …): list, check, grant, revoke.", no_args_is_help=True
)
AdminOpt = Annotated[
    str | None, typer.Option("--admin-keystore", "-a", help="Keystore (name or path) of an admin of the contract.")
]
TokenOpt = Annotated[str | None, typer.Option("--token", envvar="CIVIC_TOKEN", help="Session token of an admin.")]


_errors = cli_errors
_account = address_or_keystore


def _token(client: ApiClient, token: str | None, admin: str | None, password: str | None, data_dir: Path | None) -> str:
    return keys.admin_session(client, token=token, admin_keystore=admin, password=password, data_dir=data_dir)


@app.command("list")
def list_cmd(api: ApiOpt = DEFAULT_API_URL) -> None:
    """Every role of every deployed contract."""
    with _errors(), ApiClient(api) as client:
        table = Table("contract", "role", "role id")
        for row in client.get("/roles"):
            table.add_row(row["contract"], row["role"], row["role_id"])
        console.print(table)


@app.command()
def check(
    contract: Annotated[str, typer.Argument(help="Contract name, e.g. MVoting.")],
    role: Annotated[str, typer.Argument(help="Role name, e.g. POLL_ADMIN_ROLE.")],
    account: Annotated[str, typer.Argument(help="Address or keystore name.")],
    api: ApiOpt = DEFAULT_API_URL,
    data_dir: DataDirOpt = None,
) -> None:
    """Does ACCOUNT hold ROLE of CONTRACT? (exit 1 when not)"""
    with _errors(), ApiClient(api) as client:
        result = client.get(f"/roles/{contract}/{role}/{_account(account, data_dir)}")
        console.print(f"{result['account']} {'holds' if result['has_role'] else 'does not hold'} {contract}.{role}")
        if not result["has_role"]:
            raise typer.Exit(1)


@app.command()
def grant(
    contract: Annotated[str, typer.Argument(help="Contract name, e.g. MVoting.")],
    role: Annotated[str, typer.Argument(help="Role name, e.g. POLL_ADMIN_ROLE.")],
    account: Annotated[str, typer.Argument(help="Address or keystore name of the agency key.")],
    admin_keystore: AdminOpt = None,
    token: TokenOpt = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Grant ROLE of CONTRACT to ACCOUNT (an admin of the contract signs in; the operator relays)."""
    with _errors(), ApiClient(api) as client:
        session = _token(client, token, admin_keystore, password, data_dir)
        body = {"contract": contract, "role": role, "account": _account(account, data_dir)}
        result = client.post("/roles", body, token=session)
        err.print(f"[green]granted[/] {contract}.{role} to {result['account']} in block {result['block_number']}")


@app.command()
def revoke(
    contract: Annotated[str, typer.Argument(help="Contract name.")],
    role: Annotated[str, typer.Argument(help="Role name.")],
    account: Annotated[str, typer.Argument(help="Address or keystore name.")],
    admin_keystore: AdminOpt = None,
    token: TokenOpt = None,
    api: ApiOpt = DEFAULT_API_URL,
    password: PasswordOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke ROLE of CONTRACT from ACCOUNT: its signatures not yet relayed stop working."""
    with _errors(), ApiClient(api) as client:
        session = _token(client, token, admin_keystore, password, data_dir)
        result = client.delete(f"/roles/{contract}/{role}/{_account(account, data_dir)}", token=session)
        err.print(f"[yellow]revoked[/] {contract}.{role} of {result['account']} in block {result['block_number']}")
