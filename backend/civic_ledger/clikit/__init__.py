"""One toolkit for every ``civic-ledger`` command group (in the style of ape's ``ape.cli``).

- :mod:`.client`: the one API client (``--api``/``CIVIC_API_URL``, ``--token``/``CIVIC_TOKEN``),
  errors as ``error: MESSAGE (HTTP STATUS CODE)``, a refused connection as one clear line;
- :mod:`.signer`: ``--as NAME|PATH`` with one password rule, local EIP-712 signing, SIWE admin sessions;
- :mod:`.options`: the shared options (``--rpc-url``/``CIVIC_RPC_URL``, ``--manifest``, ``--json`` …)
  and :class:`Group`, whose commands accept the old spellings as hidden aliases and turn every
  domain error into one ``error:`` line with exit code 1;
- :mod:`.context`: ``@cli_context("signer", "api", "json")`` adds those option groups to a command
  and hands it one :class:`CliContext` (client, signer, admin session, ``show``);
- :mod:`.output`: stdout for data (``--json``), stderr for people; :mod:`.settings`.
"""

from civic_ledger.clikit.client import DEFAULT_API_URL, ApiClient, ApiError, ApiUnreachable
from civic_ledger.clikit.context import CliContext, cli_context
from civic_ledger.clikit.options import (
    ALIASES,
    AdminAsOpt,
    ApiOpt,
    AsOpt,
    AsOptional,
    Command,
    DataDirOpt,
    Group,
    JsonOpt,
    ManifestOpt,
    PasswordOpt,
    RpcUrlOpt,
    RpcUrlOptional,
    TokenOpt,
)
from civic_ledger.clikit.output import (
    cli_errors,
    console,
    deployment_line,
    emit_json,
    err,
    fail,
    note,
    print_table,
    read_json,
    say,
    show,
    write_json,
)
from civic_ledger.clikit.settings import data_dir_or_default, load_settings
from civic_ledger.clikit.signer import (
    PASSWORD_ENV,
    address_or_keystore,
    admin_session,
    keystore_of,
    load_signer,
    resolve_password,
    sign_in,
    sign_typed_data,
)

__all__ = [
    "ALIASES",
    "CliContext",
    "cli_context",
    "DEFAULT_API_URL",
    "PASSWORD_ENV",
    "AdminAsOpt",
    "ApiClient",
    "ApiError",
    "ApiOpt",
    "ApiUnreachable",
    "AsOpt",
    "AsOptional",
    "Command",
    "DataDirOpt",
    "Group",
    "JsonOpt",
    "ManifestOpt",
    "PasswordOpt",
    "RpcUrlOpt",
    "RpcUrlOptional",
    "TokenOpt",
    "address_or_keystore",
    "admin_session",
    "cli_errors",
    "console",
    "data_dir_or_default",
    "deployment_line",
    "emit_json",
    "err",
    "fail",
    "keystore_of",
    "load_settings",
    "load_signer",
    "note",
    "print_table",
    "read_json",
    "resolve_password",
    "say",
    "show",
    "sign_in",
    "sign_typed_data",
    "write_json",
]
