"""The options every command group shares, and the command class that gives them one behaviour.

Canonical spellings only appear in ``--help``; the old ones are hidden aliases rewritten before
parsing (:data:`ALIASES`), so walk-throughs and scripts written for them keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from civic_ledger.clikit.output import fail
from civic_ledger.errors import CivicLedgerError

# Old spelling → canonical option, applied only where the command has the canonical one and not the old.
ALIASES = {
    "--keystore": "--as",
    "-k": "--as",
    "--registrar-keystore": "--as",
    "-r": "--as",
    "--admin-keystore": "--as",
    "-a": "--as",
    "--awarder-keystore": "--as",
    "--new-keystore": "--new",
    "--rpc": "--rpc-url",
}

SIGNER = "NAME|PATH"

ApiOpt = Annotated[
    str,
    typer.Option(
        "--api", envvar="CIVIC_API_URL", show_envvar=False, help="Base URL of the civic-ledger API. Env: CIVIC_API_URL."
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="CIVIC_TOKEN",
        show_envvar=False,
        help="Session token (from `civic-ledger identity login`). Env: CIVIC_TOKEN.",
    ),
]
AsOpt = Annotated[
    str,
    typer.Option("--as", metavar=SIGNER, help="Who signs: a keystore name in DATA_DIR/keystores, or a keystore file."),
]
AsOptional = Annotated[
    str | None,
    typer.Option("--as", metavar=SIGNER, help="Who signs: a keystore name in DATA_DIR/keystores, or a keystore file."),
]
AdminAsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar=SIGNER,
        help="An admin's keystore (name or file): signs in with Ethereum for this command, instead of --token.",
    ),
]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password",
        show_default=False,
        help="Keystore password. Default: env CIVIC_KEYSTORE_PASSWORD, else asked when stdin is a terminal.",
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Keystores (DATA_DIR/keystores) and deployment manifests. Env: CIVIC_DATA_DIR."),
]
_RPC_HELP = "JSON-RPC URL of any node of the chain. Env: CIVIC_RPC_URL."
RpcUrlOpt = Annotated[
    str, typer.Option("--rpc-url", envvar=["CIVIC_RPC_URL", "CIVIC_AUDIT_RPC_URL"], show_envvar=False, help=_RPC_HELP)
]
RpcUrlOptional = Annotated[
    str | None,
    typer.Option("--rpc-url", envvar=["CIVIC_RPC_URL", "CIVIC_AUDIT_RPC_URL"], show_envvar=False, help=_RPC_HELP),
]
ManifestOpt = Annotated[
    Path | None,
    typer.Option(
        "--manifest",
        envvar=["CIVIC_MANIFEST", "CIVIC_AUDIT_MANIFEST"],
        show_envvar=False,
        help="Deployment manifest you trust (contract addresses, code hashes). Default: deployment-<chainId>.json "
        "for the node's chain id in the data directory. Env: CIVIC_MANIFEST.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def canonical_args(params: list[Any], args: list[str]) -> list[str]:
    """Rewrite hidden old option spellings (``-k``, ``--admin-keystore``, ``--rpc`` …) to the canonical."""
    names = {opt for p in params for opt in (*p.opts, *p.secondary_opts)}
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        flag, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        new = ALIASES.get(flag)
        out.append(new + eq + value if new and new in names and flag not in names else arg)
    return out


class Command(TyperCommand):
    """A typer command with the toolkit's behaviour: old spellings accepted, errors as one line."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, canonical_args(self.params, args))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CivicLedgerError as exc:
            fail(exc.message)
        except OSError as exc:  # a file or folder option naming what can not be read or written
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}")


class Group(typer.Typer):
    """A command group whose commands are :class:`Command` (``no_args_is_help`` on)."""

    def __init__(self, *, help: str, **kw: Any) -> None:
        kw.setdefault("no_args_is_help", True)
        kw.setdefault("pretty_exceptions_enable", False)
        super().__init__(help=help, **kw)

    def group(self, name: str, *, help: str) -> Group:
        """A sub-group ``name`` of this group (``civic-ledger labor contract …``)."""
        sub = Group(help=help)
        self.add_typer(sub, name=name)
        return sub

    def command(
        self, name: str | None = None, *, uses: tuple[str, ...] = (), cls: type[TyperCommand] | None = None, **kw: Any
    ) -> Callable[..., Any]:
        """Register a command; ``uses`` names the shared option groups it takes (see ``cli_context``)."""
        register = super().command(name, cls=cls or Command, **kw)
        if not uses:
            return register
        from civic_ledger.clikit.context import cli_context

        return lambda fn: register(cli_context(*uses)(fn))
