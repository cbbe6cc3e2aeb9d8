"""``--out FILE``: a command's answer as CSV or JSON, one rule everywhere.

The file's suffix picks the format: ``.json`` writes the whole answer (as ``--json`` prints it),
``.csv`` the rows of its main table through :mod:`civic_ledger.platform.csvsafe` (no cell can
start a spreadsheet formula; same rows → same bytes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from civic_ledger.clikit.output import note
from civic_ledger.errors import InvalidInput
from civic_ledger.platform import csvsafe

OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Also write the answer to FILE: .csv (the table, spreadsheet-safe) or .json (all)."),
]


def export(path: Path | None, answer: Any, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """Write ``answer`` (.json) or ``rows`` with ``columns`` (.csv) to ``path``; nothing without a path."""
    if path is None:
        return
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps(answer, ensure_ascii=False, indent=2, default=str) + "\n"
    elif suffix == ".csv":
        flat = [{c: _flat(r.get(c)) for c in columns} for r in rows]
        text = csvsafe.dicts_to_text(columns, flat)
    else:
        raise InvalidInput(f"--out {path}: name a .csv or a .json file")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    note(f"written {path} ({len(rows)} rows)" if suffix == ".csv" else f"written {path}")


def _flat(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return "" if value is None else value
