"""CSV that a spreadsheet opens as data, never as formulas (OWASP "CSV Injection").

Names in exports (merchants, programs, purposes, …) are chosen by agencies or citizens. A cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula: ``=HYPERLINK("http://x","y")`` becomes a live link,
``=cmd|' /C calc'!A0`` a DDE call. Every CSV export goes through :func:`cell` (or the writers
here), which prefixes such a text cell with a single quote, as OWASP recommends, so the
spreadsheet shows it as text. Numbers stay numbers: Python ``int``/``float`` values and text that
is a plain decimal number (``-5``, ``-1.25``, ``+3``) are written unchanged. The full-width forms
of the four characters (``＝＋－＠``) are neutralised too: some East Asian spreadsheet locales read
them as the ASCII ones.

The output is deterministic (same rows → same bytes), so hashes of an export (the audit trail's
``csv_sha256``) agree between every producer that uses this module.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

#: First characters that make a spreadsheet evaluate a cell (OWASP), plus their full-width forms.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def cell(value: Any) -> Any:
    """``value`` as a CSV cell that can not start a formula (non-text values are unchanged)."""
    if not isinstance(value, str) or not value or value[0] not in FORMULA_TRIGGERS:
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]


class Writer:
    """``csv.writer`` whose every cell goes through :func:`cell`."""

    def __init__(self, out: IO[str], **options: Any) -> None:
        options.setdefault("lineterminator", "\n")
        self._writer = csv.writer(out, **options)

    def writerow(self, values: Iterable[Any]) -> None:
        self._writer.writerow(row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for values in rows:
            self.writerow(values)


def writer(out: IO[str], **options: Any) -> Writer:
    return Writer(out, **options)


def to_text(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    """A header line and ``rows`` as CSV text (``\\n`` line ends)."""
    out = io.StringIO()
    w = Writer(out)
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def dicts_to_text(fieldnames: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows given as mappings (missing keys are empty cells), with a header line."""
    return to_text(fieldnames, ([r.get(f, "") for f in fieldnames] for r in rows))
