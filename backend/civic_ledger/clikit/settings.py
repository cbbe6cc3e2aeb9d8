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


def load_dotenv(path: Path = Path(".env")) -> list[str]:
    """``CIVIC_*`` lines of ``.env`` (as the server reads it) into the environment, where not set.

    Options that take an env var (``--api``/CIVIC_API_URL, ``--token``/CIVIC_TOKEN, …) then see
    the same configuration as the server. Returns the names set."""
    import os

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    found = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#") or "=" not in text:
            continue
        key, _, value = text.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key.startswith("CIVIC_") and key not in os.environ:
            os.environ[key] = value
            found.append(key)
    return found
