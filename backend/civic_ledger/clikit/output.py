"""Where a command's words go: data on stdout (a table, or JSON with ``--json``), the rest on stderr.

Every error is one line on stderr, ``error: MESSAGE``, and exit code 1 (API errors end with
``(HTTP STATUS CODE)``, see :mod:`civic_ledger.clikit.client`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from civic_ledger.errors import CivicLedgerError, InvalidInput
from civic_ledger.platform import files

# Wide enough for addresses and hashes when the output is a pipe or a file.
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one red ``error: MESSAGE`` line on stderr and exit with ``code``."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Domain errors become one ``error:`` line and exit code 1 (every toolkit command has this)."""
    try:
        yield
    except CivicLedgerError as exc:
        fail(exc.message)


def emit_json(value: Any) -> None:
    """``--json``: the value as indented JSON on stdout, nothing else."""
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def show(value: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """``--json`` prints the value; otherwise ``render`` it for people."""
    if as_json:
        emit_json(value)
    else:
        render(value)


def say(message: str) -> None:
    """A line of output for people on stdout (markup allowed, no highlighting)."""
    console.print(message, highlight=False)


def note(message: str) -> None:
    """A line for people on stderr (progress, a hint, what was done)."""
    err.print(message, highlight=False, soft_wrap=True)


def print_table(columns: Iterable[str], rows: Iterable[Iterable[Any]], **table: Any) -> None:
    """A table for people on stdout: one column a name in ``columns``, one row a cell list in ``rows``."""
    out = Table(**table)
    for col in columns:
        out.add_column(col)
    for row in rows:
        out.add_row(*row)
    console.print(out)


def deployment_line(d: dict[str, Any]) -> str:
    """The one line that says which trusted deployment a chain-only check read."""
    return (
        f"trusted deployment: chain id {d['chain_id']} · {d['manifest']} · sha256 {d['manifest_sha256']} · "
        + ", ".join(f"{n} {a}" for n, a in d["contracts"].items())
    )


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file; an unreadable or non-object file is one ``error:`` line."""
    try:
        data = files.read_json(path, "", InvalidInput)
    except InvalidInput as exc:
        fail(exc.message)
    if not isinstance(data, dict):
        fail(f"{path} is not a JSON object")
    return data


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
