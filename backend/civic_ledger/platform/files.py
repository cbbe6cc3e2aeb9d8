"""Reading the JSON files a user hands in (keystores, saved ballots, manifests) with one clear error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from civic_ledger.errors import CivicLedgerError


def read_json(path: Path | str, what: str, error: type[CivicLedgerError]) -> Any:
    """The JSON value in ``path``; ``error("<what> <path> can not be read: …" / "… is not JSON")``."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise error(f"{what} {path} can not be read: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError:
        raise error(f"{what} {path} is not JSON") from None
