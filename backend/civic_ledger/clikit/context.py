"""``@cli_context(...)``: the shared options of a command, given to it as one :class:`CliContext`.

In the style of ape's ``@ape_cli_context()``: a command names the option groups it uses and takes
a first parameter ``cli``; the groups' options are added to its signature (after its own), so
typer shows and parses them, and their values arrive bundled::

    @app.command(uses=("admin", "api", "json"))  # Group.command applies cli_context
    def grant(cli: CliContext, account: str) -> None:
        result = cli.client.post("/roles", {...}, token=cli.session())
        cli.show(result, lambda r: note(f"granted in block {r['block_number']}"))
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount

from civic_ledger.clikit import options as o
from civic_ledger.clikit.client import DEFAULT_API_URL, ApiClient
from civic_ledger.clikit.output import emit_json
from civic_ledger.clikit.settings import data_dir_or_default
from civic_ledger.clikit.signer import address_or_keystore, admin_session, keystore_of, load_signer
from civic_ledger.errors import InvalidInput

F = TypeVar("F", bound=Callable[..., Any])
_REQUIRED = inspect.Parameter.empty

# group → (parameter name, annotation, default) in the order they are shown
_GROUPS: dict[str, list[tuple[str, Any, Any]]] = {
    "api": [("api", o.ApiOpt, DEFAULT_API_URL)],
    "token": [("token", o.TokenOpt, None)],
    "signer": [("as_", o.AsOpt, _REQUIRED), ("password", o.PasswordOpt, None), ("data_dir", o.DataDirOpt, None)],
    "signer?": [("as_", o.AsOptional, None), ("password", o.PasswordOpt, None), ("data_dir", o.DataDirOpt, None)],
    "admin": [
        ("as_", o.AdminAsOpt, None),
        ("token", o.TokenOpt, None),
        ("password", o.PasswordOpt, None),
        ("data_dir", o.DataDirOpt, None),
    ],
    "password": [("password", o.PasswordOpt, None)],
    "data": [("data_dir", o.DataDirOpt, None)],
    "node": [("rpc_url", o.RpcUrlOpt, _REQUIRED), ("manifest", o.ManifestOpt, None), ("data_dir", o.DataDirOpt, None)],
    "node?": [("rpc_url", o.RpcUrlOptional, None), ("manifest", o.ManifestOpt, None), ("data_dir", o.DataDirOpt, None)],
    "json": [("as_json", o.JsonOpt, False)],
}


@dataclass
class CliContext:
    """What the shared options gave a command, and what it does with them."""

    api: str = DEFAULT_API_URL
    token: str | None = None
    as_: str | None = None
    password: str | None = None
    data_dir: Path | None = None
    rpc_url: str | None = None
    manifest: Path | None = None
    as_json: bool = False
    _client: ApiClient | None = field(default=None, repr=False)

    @property
    def client(self) -> ApiClient:
        """The API client (``--api``, ``--token``), closed when the command ends."""
        if self._client is None:
            self._client = ApiClient(self.api, token=self.token)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    @property
    def data(self) -> Path:
        """``--data-dir``, else the configured data directory."""
        return data_dir_or_default(self.data_dir)

    @property
    def rpc(self) -> str:
        """``--rpc-url`` (env CIVIC_RPC_URL), required by the node-only commands."""
        if not self.rpc_url:
            raise InvalidInput("give the node's JSON-RPC URL: --rpc-url http://host:port (env CIVIC_RPC_URL)")
        return self.rpc_url

    def signer(self, name: str | None = None, password: str | None = None) -> LocalAccount:
        """Decrypt the ``--as`` keystore (or ``name``) with the password rule."""
        who = name or self.as_
        if who is None:
            raise InvalidInput("no signer: pass --as NAME|PATH (a keystore name in DATA_DIR/keystores, or a file)")
        return load_signer(who, password if password is not None else self.password, self.data_dir)

    def keystore(self) -> Path:
        """The ``--as`` keystore file."""
        if self.as_ is None:
            raise InvalidInput("no signer: pass --as NAME|PATH")
        return keystore_of(self.as_, self.data_dir)

    def session(self) -> str:
        """An admin's session token: sign in as ``--as``, else ``--token``, else a clear error."""
        return admin_session(
            self.client, token=self.token, signer=self.as_, password=self.password, data_dir=self.data_dir
        )

    def address(self, value: str) -> str:
        """ADDRESS, or the address of a keystore name or file."""
        return address_or_keystore(value, self.data_dir)

    def show(self, value: Any, render: Callable[[Any], Any]) -> None:
        """``--json`` prints ``value`` as JSON; otherwise ``render(value)`` for people."""
        if self.as_json:
            emit_json(value)
        else:
            render(value)


def cli_context(*uses: str) -> Callable[[F], F]:
    """Add the option groups ``uses`` to a command whose first parameter is ``cli: CliContext``."""
    extra: dict[str, tuple[Any, Any]] = {}
    for group in uses:
        for name, annotation, default in _GROUPS[group]:
            extra.setdefault(name, (annotation, default))

    def decorate(fn: F) -> F:
        sig = inspect.signature(fn, eval_str=True)
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for n, p in sig.parameters.items() if n != "cli"]
        added = [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d) for n, (a, d) in extra.items()
        ]

        @functools.wraps(fn)
        def command(**kw: Any) -> Any:
            cli = CliContext(**{n: kw.pop(n) for n in extra})
            try:
                return fn(cli, **kw)
            finally:
                cli.close()

        command.__signature__ = sig.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
        command.__annotations__ = {}
        return command  # type: ignore[return-value]

    return decorate
