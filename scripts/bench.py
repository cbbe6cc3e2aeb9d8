#!/usr/bin/env python3
"""Benchmarks: measure and print figures (never pass/fail).

    python scripts/bench.py platform --json
    python scripts/bench.py voting --json
    python scripts/bench.py all --json

Each area's benchmark lives in ``scripts/bench_<area>.py`` and exposes ``run(json_out) -> dict``.
Every figure is measured in the same run as its baseline; quote ratios, not absolute numbers:
the machines are small and shared.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(SCRIPTS.parent))

AREAS = [
    "platform",
    "voting",
    "encrypted",
    "credentials",
    "payments",
    "mileage",
    "labor",
    "index",
    "scale",
    "network",
    "vehicles",
    "registration",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("area", choices=[*AREAS, "all"], help="which benchmark to run")
    parser.add_argument("--json", action="store_true", help="print one JSON object (figures only)")
    args = parser.parse_args()
    areas = AREAS if args.area == "all" else [args.area]
    results: dict[str, object] = {}
    for area in areas:
        try:
            module = importlib.import_module(f"bench_{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench_{area}":
                raise
            print(f"no benchmark for {area} yet", file=sys.stderr)
            continue
        started = time.perf_counter()
        figures = module.run(args.json)
        if not args.json:
            print(f"{area}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        results[area] = figures
    out = results[areas[0]] if len(areas) == 1 and areas[0] in results else results
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True))
    else:
        for area, figures in results.items():
            print(f"\n== {area}")
            for key, value in dict(figures).items():  # type: ignore[call-overload]
                print(f"  {key:42} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
