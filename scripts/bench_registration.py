"""Citizen registration benchmark: the agency-key check on chain vs from the role index.

One citizen registration = typed data (``register_typed_data``, which checks the new key) + the
registrar's EIP-712 signature + relay (``register``, which checks it again), through the platform
directly on the embedded chain. Both modes run in the same process on the same chain, alternating
registration by registration, so block height, caches and machine load are shared:

- ``registration_ms_chain_check``: :func:`civic_ledger.identity.agency.agency_roles_on_chain`
  (one ``hasRole`` view call per (contract × role), the previous implementation);
- ``registration_ms_index_check``: :func:`civic_ledger.identity.agency.agency_roles_of` (one
  lookup in the ``roles_members`` read model once the index holds the head);
- ``agency_check_ms_{chain,index}``: the check alone (median), for a plain key; ``..._one_role``
  restricted to one role (``only``: what sign-in sessions re-check on every agency request);
- ``has_role_calls_per_check_{chain,index}``: ``hasRole`` eth_calls one check makes.

Medians of ``--n`` registrations per mode (default 50).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from eth_utils import function_signature_to_4byte_selector  # noqa: E402
from web3.middleware import Web3Middleware  # noqa: E402

from civic_ledger.config import Settings  # noqa: E402
from civic_ledger.identity import agency, service  # noqa: E402
from civic_ledger.identity.schemas import CitizenCreate, CitizenTypedDataCreate  # noqa: E402
from civic_ledger.platform import eip712  # noqa: E402
from civic_ledger.platform.runtime import Platform  # noqa: E402
from tests.conftest import BUILD_DIR  # noqa: E402
from tests.helpers import make_registrar  # noqa: E402

HAS_ROLE = "0x" + function_signature_to_4byte_selector("hasRole(bytes32,address)").hex()
CHECKS: dict[str, Callable[..., list[str]]] = {
    "chain": agency.agency_roles_on_chain,
    "index": agency.agency_roles_of,
}


def register_one(platform: Platform, registrar: Any) -> float:
    """Seconds for one registration of a fresh key (typed data + sign + relay)."""
    account = Account.create().address
    started = time.perf_counter()
    typed = service.register_typed_data(
        platform, CitizenTypedDataCreate(account=account, district=1, birth_year=1990, registrar=registrar.address)
    )
    signature = eip712.TypedMessage.from_dict(typed.typed_data).sign(registrar)
    out = service.register(
        platform,
        CitizenCreate(
            account=account,
            district=1,
            birth_year=1990,
            record_hash=typed.record_hash,
            registrar=registrar.address,
            nonce=typed.nonce,
            deadline=typed.deadline,
            signature="0x" + signature.hex(),
        ),
    )
    elapsed = time.perf_counter() - started
    assert out.event == "CitizenRegistered", out
    return elapsed


def has_role_calls(platform: Platform, fn: Callable[[], Any]) -> int:
    """``hasRole`` eth_calls made through the platform's web3 while ``fn`` runs."""
    calls = 0

    class Counting(Web3Middleware):
        def wrap_make_request(self, make_request: Any) -> Any:
            def middleware(method: Any, params: Any) -> Any:
                nonlocal calls
                if method == "eth_call" and str(params[0].get("data", "")).startswith(HAS_ROLE):
                    calls += 1
                return make_request(method, params)

            return middleware

    platform.chain.w3.middleware_onion.add(Counting, name="has_role_calls")
    try:
        fn()
    finally:
        platform.chain.w3.middleware_onion.remove("has_role_calls")
    return calls


def run(json_out: bool = False, n: int = 50) -> dict[str, Any]:
    """The figures (``json_out``: the dispatcher's flag; this benchmark prints nothing itself)."""
    with tempfile.TemporaryDirectory(prefix="bench-registration-") as tmp:
        platform = Platform.start(Settings(chain="embedded", data_dir=Path(tmp) / "data", build_dir=BUILD_DIR))
        try:
            registrar = make_registrar(platform)
            agency.agency_roles(platform)  # role ids read once per contract (both modes share the cache)
            samples: dict[str, list[float]] = {mode: [] for mode in CHECKS}
            for _ in range(3):  # warm-up (web3 contract objects, SQLite pages)
                register_one(platform, registrar)
            for _ in range(n):
                for mode, check in CHECKS.items():
                    agency.agency_roles_of = check  # type: ignore[assignment]  # what require_not_agency calls
                    try:
                        samples[mode].append(register_one(platform, registrar))
                    finally:
                        agency.agency_roles_of = CHECKS["index"]  # type: ignore[assignment]
            plain = Account.create().address
            figures: dict[str, Any] = {"registrations_per_mode": n}
            for mode in CHECKS:
                figures[f"registration_ms_{mode}_check"] = round(statistics.median(samples[mode]) * 1000, 1)
            one = {"CitizenRegistry.REGISTRAR_ROLE"}  # what an agency request re-checks of its session
            for mode, check in CHECKS.items():
                for suffix, only in (("", None), ("_one_role", one)):
                    timings = []
                    for _ in range(n):
                        t = time.perf_counter()
                        check(platform, plain, only)
                        timings.append(time.perf_counter() - t)
                    figures[f"agency_check_ms_{mode}{suffix}"] = round(statistics.median(timings) * 1000, 2)
                figures[f"has_role_calls_per_check_{mode}"] = has_role_calls(
                    platform, lambda c=check: c(platform, plain)
                )
            chain, index = figures["registration_ms_chain_check"], figures["registration_ms_index_check"]
            figures["registration_speedup"] = round(chain / index, 2)
            return figures
        finally:
            platform.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.json, args.n)
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
