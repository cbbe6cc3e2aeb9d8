#!/usr/bin/env python3
"""API fuzz run: schemathesis over ``/openapi.json``, signed out, then signed in as the city admin.

    make fuzz                                   # FUZZ_TIME=300 seconds per pass
    .venv/bin/python scripts/fuzz.py --time 120 --passes signed-in

Starts ``civic-ledger serve`` on a free loopback port with a temporary data directory (the
embedded chain, deployed afresh), waits for it, and runs schemathesis once per pass:

- ``signed-out``: no credentials;
- ``signed-in``: a bearer token of the embedded chain's development operator (key 0x…01, which
  holds ``DEFAULT_ADMIN_ROLE``), got by Sign-In with Ethereum (``GET /auth/nonce``, EIP-191
  signature, ``POST /auth/login``). ``/auth/logout`` is left out: it would end the session.

Rate limits are off (``CIVIC_RATE_LIMITS=false``) unless ``--rate-limits``: with them on, most
generated requests would get 429 before reaching a handler. The server is stopped at the end,
whatever happens. Reports (JUnit XML, NDJSON events) go to ``build/fuzz/<pass>/``; every request
answered 5xx is listed at the end with its method, path and body.

Exit status: 0 when no check failed; 1 when a check failed (the 5xx are counted separately);
2 when the run could not be set up (server did not start, sign-in refused, no schemathesis).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: The embedded chain's development operator: it deploys the contracts and holds DEFAULT_ADMIN_ROLE.
ADMIN_KEY = "0x" + "00" * 31 + "01"
CHECKS = "not_a_server_error,response_schema_conformance"
EXCLUDED_PATHS = ["/auth/logout"]
PASSES = ["signed-out", "signed-in"]


class SetupError(Exception):
    """The fuzz run could not be set up (exit status 2)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_schemathesis(given: str | None) -> str:
    candidates = [given] if given else [str(BIN.parent / "dev" / "bin" / "schemathesis"), str(BIN / "schemathesis")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    found = None if given else shutil.which("schemathesis")
    if found:
        return found
    raise SetupError(
        f"schemathesis not found (looked at {', '.join(c for c in candidates if c)}): run `make fuzz`, which "
        "installs requirements-dev.lock into .venv/dev"
    )


@contextmanager
def server(port: int, data_dir: Path, rate_limits: bool, log_path: Path) -> Iterator[str]:
    """``civic-ledger serve`` in its own process group; stopped (TERM, then KILL) on exit."""
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        CIVIC_CHAIN="embedded",
        CIVIC_DATA_DIR=str(data_dir),
        CIVIC_HOST="127.0.0.1",
        CIVIC_PORT=str(port),
        CIVIC_PUBLIC_URL=url,
        CIVIC_SESSION_SECRET=secrets.token_hex(32),
        CIVIC_RATE_LIMITS="true" if rate_limits else "false",
    )
    env.pop("CIVIC_OPERATOR_KEYSTORE", None)  # the development operator, whose key signs in below
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "civic-ledger"), "serve"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(proc, url, log_path)
        yield url
    finally:
        _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise SetupError(f"the server exited with status {proc.returncode} before it was ready:\n{tail}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SetupError(f"the server did not answer {url}/openapi.json within {timeout_s:.0f} s (log: {log_path})")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def sign_in(url: str, key: str = ADMIN_KEY) -> str:
    """A session token for ``key`` by Sign-In with Ethereum."""
    account = Account.from_key(key)
    with httpx.Client(base_url=url, timeout=30) as client:
        r = client.get("/auth/nonce", params={"address": account.address})
        if r.status_code != 200:
            raise SetupError(f"GET /auth/nonce answered {r.status_code}: {r.text[:500]}")
        message = r.json()["message"]
        signature = account.sign_message(encode_defunct(text=message)).signature.hex()
        if not signature.startswith("0x"):
            signature = "0x" + signature
        r = client.post("/auth/login", json={"message": message, "signature": signature})
        if r.status_code != 200:
            raise SetupError(f"POST /auth/login answered {r.status_code}: {r.text[:500]}")
        token = r.json().get("token") or r.json().get("access_token")
        if not token:
            raise SetupError(f"POST /auth/login gave no token: {r.text[:500]}")
        me = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        if me.status_code == 200:
            print(f"signed in as {account.address}: {me.text[:300]}", flush=True)
        return str(token)


@dataclass
class PassResult:
    name: str
    exit_code: int
    tests: int = 0
    failures: int = 0
    server_errors: list[str] = field(default_factory=list)


def run_pass(name: str, st: str, url: str, args: argparse.Namespace, token: str | None) -> PassResult:
    report_dir = args.report_dir / name
    shutil.rmtree(report_dir, ignore_errors=True)
    report_dir.mkdir(parents=True)
    cmd = [
        st,
        "run",
        f"{url}/openapi.json",
        "--checks",
        args.checks,
        "--max-time",
        str(args.time),
        "--workers",
        str(args.workers),
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "60",
        "--report",
        "junit,ndjson",
        "--report-dir",
        str(report_dir),
        "--no-color",
    ]
    for path in EXCLUDED_PATHS:
        cmd += ["--exclude-path", path]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    if token:
        cmd += ["--header", f"Authorization: Bearer {token}"]
    shown = [c if not c.startswith("Authorization:") else "Authorization: Bearer …" for c in cmd]
    print(f"\n=== pass {name}: {' '.join(shown)}", flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, timeout=args.time + 600)
    result = PassResult(name, proc.returncode)
    _read_junit(report_dir, result)
    result.server_errors = list(_server_errors(report_dir))
    return result


def _read_junit(report_dir: Path, result: PassResult) -> None:
    for path in report_dir.glob("*.xml"):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            continue
        for suite in root.iter("testsuite"):
            result.tests += int(suite.get("tests", 0))
            result.failures += int(suite.get("failures", 0)) + int(suite.get("errors", 0))


def _server_errors(report_dir: Path) -> Iterator[str]:
    """Each request answered 5xx, as ``METHOD path -> status`` and its body, from the NDJSON events."""
    seen: set[str] = set()
    for path in report_dir.glob("*.ndjson"):
        with path.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                for request, status in _responses(event):
                    if status < 500:
                        continue
                    text = f"{request.get('method')} {request.get('uri')} -> {status}"
                    body = request.get("body")
                    if body:
                        text += f"\n      body: {str(body)[:2000]}"
                    if text not in seen:
                        seen.add(text)
                        yield text


def _responses(node: object) -> Iterator[tuple[dict, int]]:
    """(request, status) pairs anywhere in an event (interactions carry both)."""
    if isinstance(node, dict):
        request, response = node.get("request"), node.get("response")
        if isinstance(request, dict) and isinstance(response, dict) and isinstance(response.get("status_code"), int):
            yield request, response["status_code"]
        for value in node.values():
            yield from _responses(value)
    elif isinstance(node, list):
        for value in node:
            yield from _responses(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time", type=int, default=int(os.environ.get("FUZZ_TIME", "300")), help="seconds per pass")
    parser.add_argument("--workers", type=int, default=2, help="concurrent schemathesis workers")
    parser.add_argument("--checks", default=os.environ.get("FUZZ_CHECKS", CHECKS), help="schemathesis checks")
    parser.add_argument("--passes", default=",".join(PASSES), help="comma-separated: signed-out,signed-in")
    parser.add_argument("--seed", type=int, default=None, help="schemathesis seed (reproducible generation)")
    parser.add_argument("--rate-limits", action="store_true", help="keep the server's rate limits on")
    parser.add_argument("--report-dir", type=Path, default=ROOT / "build" / "fuzz", help="where reports go")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary data directory")
    parser.add_argument("--schemathesis", default=None, help="path of the schemathesis executable")
    args = parser.parse_args()
    passes = [p.strip() for p in args.passes.split(",") if p.strip()]
    unknown = sorted(set(passes) - set(PASSES))
    if unknown:
        parser.error(f"unknown pass {', '.join(unknown)} (choose from {', '.join(PASSES)})")

    data_dir = Path(tempfile.mkdtemp(prefix="civic-fuzz-"))
    args.report_dir.mkdir(parents=True, exist_ok=True)
    results: list[PassResult] = []
    try:
        st = find_schemathesis(args.schemathesis)
        port = free_port()
        print(f"starting the API on 127.0.0.1:{port}, data in {data_dir}", flush=True)
        with server(port, data_dir, args.rate_limits, args.report_dir / "server.log") as url:
            for name in passes:
                token = sign_in(url) if name == "signed-in" else None
                results.append(run_pass(name, st, url, args, token))
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep_data:
            print(f"data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)

    print("\n=== fuzz summary")
    status = 0
    for r in results:
        print(
            f"{r.name}: schemathesis exit {r.exit_code}, {r.tests} operations, {r.failures} failed, "
            f"{len(r.server_errors)} distinct 5xx responses"
        )
        for text in r.server_errors:
            print(f"    {text}")
        if r.exit_code != 0 or r.server_errors:
            status = 1
    total_5xx = sum(len(r.server_errors) for r in results)
    print(f"server errors (5xx): {total_5xx}; reports and server log in {args.report_dir}")
    return status


if __name__ == "__main__":
    sys.exit(main())
