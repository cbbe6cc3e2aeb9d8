"""``civic-ledger demo``: fill a running development server with a small, realistic city.

Through the HTTP API only (CLI commands run in process, and a few bulk paths), with deterministic
development keys (:mod:`civic_ledger.demo.runner`), in the order the chain clock allows
(:mod:`civic_ledger.demo.city`). Idempotent; refused on non-development chains.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from civic_ledger.clikit.client import ApiClient
from civic_ledger.demo.city import City, keystore_names
from civic_ledger.demo.runner import DemoFailed, Runner

__all__ = ["DemoFailed", "run_demo"]


def run_demo(
    api: str, data_dir: Path, password: str, say: Callable[[str], None], *, citizens: int = 300
) -> dict[str, Any]:
    """Build the city; returns what was made and what already existed, section by section."""
    started = time.monotonic()
    ApiClient(api).close()  # a malformed --api is one clear error
    run = Runner(api=api, data_dir=data_dir, password=password, say=say)
    try:
        city = City(run, citizens)
        city.build()
    finally:
        run.close()
    return {
        "made": run.made,
        "existed": run.existed,
        "sections": city.state,
        "keystores": keystore_names(data_dir),
        "keystore_dir": str(data_dir / "keystores"),
        "password": password,
        "files": str(run.work),
        "seconds": round(time.monotonic() - started, 1),
    }
