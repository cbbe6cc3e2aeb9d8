"""Settings for command lines: from the environment (``CIVIC_*``) with flags on top."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from civic_ledger.clikit.output import fail
from civic_ledger.config import Settings


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with CLI flags on top; a bad value is one ``error:`` line."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        fail(f"invalid setting {field}: {first.get('msg', 'invalid').removeprefix('Value error, ')}")


def data_dir_or_default(data_dir: Path | None) -> Path:
    """The ``--data-dir`` given, else the configured one (env CIVIC_DATA_DIR, default ./data)."""
    return data_dir if data_dir is not None else load_settings().data_dir
