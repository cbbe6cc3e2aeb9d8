"""Times on the command line, one way everywhere.

- shown as ISO 8601 with the offset of the configured zone (``CIVIC_TIMEZONE``, default
  Asia/Seoul): ``2026-11-05T14:30:00+09:00``; never bare Unix seconds;
- accepted as ISO 8601 (``2026-11-05``, ``2026-11-05T14:30``, ``…+09:00``, ``…Z``; a time without
  an offset is in the configured zone) or as a duration from now (``90s``, ``45m``, ``2h``,
  ``7d``, ``1w``, ``1d12h``); Unix seconds still work for scripts.

A bad value is an :class:`~civic_ledger.errors.InvalidInput` naming the option and the accepted forms.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from civic_ledger.errors import InvalidInput

DEFAULT_ZONE = "Asia/Seoul"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"^(?:(\d+)\s*([smhdw])\s*)+$", re.IGNORECASE)
_PART = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
FORMS = "ISO 8601 (2026-11-05, 2026-11-05T14:30, 2026-11-05T14:30+09:00) or a duration from now (90s, 45m, 2h, 7d)"


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r} (CIVIC_TIMEZONE): use an IANA name such as Asia/Seoul"
        ) from None


def zone() -> ZoneInfo:
    """The zone times are shown in: env ``CIVIC_TIMEZONE`` (or ``.env`` through the settings), else Seoul."""
    name = os.environ.get("CIVIC_TIMEZONE")
    if not name:
        try:
            from civic_ledger.config import get_settings

            name = get_settings().timezone
        except Exception:  # noqa: BLE001 - a broken setting elsewhere must not stop a time display
            name = DEFAULT_ZONE
    return _zone(name)


def show_time(unix: int | float | None, *, empty: str = "-") -> str:
    """``2026-11-05T14:30:00+09:00`` in the configured zone (``empty`` for None or 0)."""
    if not unix:
        return empty
    return datetime.fromtimestamp(int(unix), UTC).astimezone(zone()).isoformat(timespec="seconds")


def show_duration(seconds: int | float) -> str:
    """``1d 2h 5m`` (the largest three units)."""
    left, parts = int(seconds), []
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts[:3]) or "0s"


def parse_duration(value: str, *, what: str = "duration") -> int:
    """``2h`` → 7200; ``1d12h`` → 129600; bare digits are seconds."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    if not _DURATION.match(text):
        raise InvalidInput(f"{what} {value!r} is not a duration: use 90s, 45m, 2h, 7d, 1w or 1d12h")
    return sum(int(n) * _UNITS[u.lower()] for n, u in _PART.findall(text))


def parse_time(value: str, *, what: str = "time", now: float | None = None) -> int:
    """ISO 8601 or a duration from ``now`` → Unix seconds."""
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} is empty: use {FORMS}")
    if text.isdigit():
        return int(text)
    if _DURATION.match(text):
        return int((time.time() if now is None else now) + parse_duration(text, what=what))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{what} {value!r} is not a time: use {FORMS}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone())
    return int(moment.timestamp())


def seconds_until(unix: int, now: float | None = None) -> timedelta:
    return timedelta(seconds=int(unix - (time.time() if now is None else now)))
