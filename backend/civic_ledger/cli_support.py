"""What every area's CLI group shares: consoles, the error wrapper, keystore and address lookup."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from rich.console import Console

from civic_ledger.errors import CivicLedgerError, InvalidInput
from civic_ledger.identity import keys

# Wide enough for addresses and hashes when the output is a pipe or a file.
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one red `error:` line and exit with ``code``."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Domain errors become one red line and exit code 1 (also under typer's test runner)."""
    try:
        yield
    except CivicLedgerError as exc:
        fail(exc.message)


def data_dir_or_default(data_dir: Path | None) -> Path:
    """The --data-dir given, else the configured one (CIVIC_DATA_DIR, default ./data)."""
    if data_dir is not None:
        return data_dir
    from civic_ledger.cli import load_settings

    return load_settings().data_dir


def load_signer(data_dir: Path | None, name: str, password: str | None) -> LocalAccount:
    """Decrypt a keystore by name (in DATA_DIR/keystores) or path; asks the password if needed."""
    folder = data_dir_or_default(data_dir)
    keys.resolve_keystore(folder, name)  # a clear "no such keystore" before asking a password
    return keys.load_account(folder, name, keys.resolve_password(password, what=f"keystore {name!r}"))


def address_or_keystore(value: str, data_dir: Path | None) -> str:
    """ADDRESS or keystore NAME → checksummed address (no password needed)."""
    if is_address(value):
        return to_checksum_address(value)
    for info in keys.list_keystores(data_dir_or_default(data_dir)):
        if info.name == value:
            return info.address
    raise InvalidInput(f"{value!r} is neither an address (0x + 40 hex digits) nor a keystore name")
