"""Reading the JSON files a user hands in (keystores, saved ballots, manifests) with one clear error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from civic_ledger.errors import CivicLedgerError


def read_json(path: Path | str, what: str, error: type[CivicLedgerError]) -> Any:
    """The JSON value in ``path``; ``error("<what> <path> can not be read: …" / "… is not JSON: …")``
    (``what`` may be empty)."""
    name = f"{what} {path}" if what else str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise error(f"{name} can not be read: {exc.strerror}") from None
    try:
        return json.loads(raw)  # bytes that are not UTF-8 text are "not JSON" too
    except ValueError as exc:
        raise error(f"{name} is not JSON: {exc}") from None
