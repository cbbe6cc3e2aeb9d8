"""``civic-ledger network qbft``: write a Besu QBFT network for the city (see :mod:`.qbft`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from civic_ledger.clikit import Group, JsonOpt, console, emit_json, fail
from civic_ledger.network.qbft import BESU_IMAGE, write_network

app = Group(help="A permissioned validator network for the ledger (Hyperledger Besu, QBFT).")


@app.command("qbft")
def qbft(
    out: Annotated[Path, typer.Option("--out", help="An empty (or new) directory for the network's files.")],
    validators: Annotated[
        int, typer.Option("--validators", min=4, help="Validator nodes (≥ 4: one may fail; 2/3 sign each block).")
    ] = 4,
    chain_id: Annotated[int, typer.Option("--chain-id", min=1, help="The network's chain id.")] = 202_612,
    block_period: Annotated[int, typer.Option("--block-period", min=1, help="Seconds between blocks.")] = 2,
    operators: Annotated[
        int, typer.Option("--operators", min=1, help="Operator keys, one per API replica (funded in the genesis).")
    ] = 2,
    fund: Annotated[list[str] | None, typer.Option("--fund", help="Another address to fund (repeatable).")] = None,
    password: Annotated[
        str | None,
        typer.Option("--password", help="Password of the operator keystores. Env: CIVIC_KEYSTORE_PASSWORD."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write node keys, genesis.json (QBFT extraData), the node allowlist, docker-compose.yml (validators
    + one RPC node, pinned Besu image), operator keystores and the API server's settings.

    Example:

      civic-ledger network qbft --validators 4 --out city-net

      cd city-net && docker compose up -d      # then: civic-ledger serve with civic-ledger.env
    """
    secret = password or os.environ.get("CIVIC_KEYSTORE_PASSWORD", "")
    if not secret:
        fail("give --password or set CIVIC_KEYSTORE_PASSWORD: the operator keystores are encrypted with it")
    for address in fund or []:
        if not (address.startswith("0x") and len(address) == 42):
            fail(f"--fund {address!r} is not an address (0x followed by 40 hex digits)")
        try:
            int(address, 16)
        except ValueError:
            fail(f"--fund {address!r} is not an address (0x followed by 40 hex digits)")
    try:
        net = write_network(
            out,
            validators=validators,
            chain_id=chain_id,
            block_period_s=block_period,
            operators=operators,
            password=secret,
            fund=fund,
        )
    except (ValueError, FileExistsError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"can not write {out}: {exc.strerror or exc}")
    serve = f"set -a; . {out}/civic-ledger.env; set +a; civic-ledger serve"
    if as_json:
        emit_json(
            {
                "out": str(out),
                "chain_id": net.chain_id,
                "image": BESU_IMAGE,
                "validators": [{"name": n.name, "address": n.address, "enode": n.enode} for n in net.validators],
                "rpc": {"name": net.rpc.name, "enode": net.rpc.enode, "url": net.rpc_url},
                "operators": net.operators,
                "serve": serve,
            }
        )
        return
    table = Table(title=f"QBFT network, chain id {net.chain_id}, {block_period} s blocks ({BESU_IMAGE})")
    for column in ("node", "address", "ip"):
        table.add_column(column)
    for n in [*net.validators, net.rpc]:
        table.add_row(n.name, n.address, n.ip)
    console.print(table)
    console.print(f"operators (one per API replica, funded): {', '.join(net.operators)}")
    console.print(f"start:  cd {out} && docker compose up -d")
    console.print(f"API:    {serve}   (RPC node at {net.rpc_url})")
