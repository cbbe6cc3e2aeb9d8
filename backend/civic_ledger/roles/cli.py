"""`civic-ledger roles …`: list, check, grant and revoke agency roles through the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from civic_ledger import clikit as kit

app = kit.Group(help="Agency roles (POLL_ADMIN_ROLE, REGISTRAR_ROLE, …): list, check, grant, revoke.")

ContractArg = Annotated[str, typer.Argument(help="Contract name, e.g. MVoting.")]
RoleArg = Annotated[str, typer.Argument(help="Role name, e.g. POLL_ADMIN_ROLE.")]
AccountArg = Annotated[str, typer.Argument(help="Address or keystore name of the agency key.")]


def _roles_table(rows: list[dict[str, Any]]) -> None:
    table = Table("contract", "role", "role id")
    for row in rows:
        table.add_row(row["contract"], row["role"], row["role_id"])
    kit.console.print(table)


@app.command("list", uses=("api", "json"))
def list_cmd(cli: kit.CliContext) -> None:
    """Every role of every deployed contract."""
    cli.show(cli.client.get("/roles"), _roles_table)


@app.command(uses=("api", "json"))
def members(cli: kit.CliContext, contract: ContractArg, role: RoleArg) -> None:
    """Who holds ROLE of CONTRACT now, with the block and transaction of each grant (from the index)."""

    def render(r: dict[str, Any]) -> None:
        table = Table("account", "granted in block", "grant transaction")
        for m in r["members"]:
            table.add_row(m["account"], str(m["granted_block"]), m["granted_tx"])
        kit.console.print(table)
        kit.note(f"{len(r['members'])} holder(s) of {contract}.{role} as of block {r['block']}")

    cli.show(cli.client.get(f"/roles/{contract}/{role}/members"), render)


@app.command(uses=("api", "data", "json"))
def check(cli: kit.CliContext, contract: ContractArg, role: RoleArg, account: AccountArg) -> None:
    """Does ACCOUNT hold ROLE of CONTRACT? (exit 1 when not)"""
    result = cli.client.get(f"/roles/{contract}/{role}/{cli.address(account)}")
    verb = "holds" if result["has_role"] else "does not hold"
    cli.show(result, lambda r: kit.console.print(f"{r['account']} {verb} {contract}.{role}"))
    if not result["has_role"]:
        raise typer.Exit(1)


@app.command(uses=("admin", "api", "json"))
def grant(cli: kit.CliContext, contract: ContractArg, role: RoleArg, account: AccountArg) -> None:
    """Grant ROLE of CONTRACT to ACCOUNT (an admin of the contract signs in; the operator relays)."""
    body = {"contract": contract, "role": role, "account": cli.address(account)}
    result = cli.client.post("/roles", body, token=cli.session())
    cli.show(
        result,
        lambda r: kit.note(f"[green]granted[/] {contract}.{role} to {r['account']} in block {r['block_number']}"),
    )


@app.command(uses=("admin", "api", "json"))
def revoke(cli: kit.CliContext, contract: ContractArg, role: RoleArg, account: AccountArg) -> None:
    """Revoke ROLE of CONTRACT from ACCOUNT: its signatures not yet relayed stop working."""
    result = cli.client.delete(f"/roles/{contract}/{role}/{cli.address(account)}", token=cli.session())
    cli.show(
        result,
        lambda r: kit.note(f"[yellow]revoked[/] {contract}.{role} of {r['account']} in block {r['block_number']}"),
    )
