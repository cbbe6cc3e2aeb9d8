"""Nothing is lost: a server killed with SIGKILL restarts with every acknowledged write.

Also: bad configuration exits with one clear line, never a traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_utils import keccak

from tests.conftest import BUILD_DIR, free_port
from tests.helpers import bearer, sign_in

pytestmark = pytest.mark.slow


def doc_hash(n: int | str) -> str:
    return "0x" + keccak(text=f"durable {n}").hex()


#: The embedded chain's development operator: it holds Notary.NOTARY_ROLE.
OPERATOR = Account.from_key("0x" + "00" * 31 + "01")


def operator_headers(url: str) -> dict[str, str]:
    with httpx.Client(base_url=url, timeout=30) as client:
        return bearer(sign_in(client, OPERATOR))


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CIVIC_DATA_DIR=str(data_dir),
        CIVIC_PORT=str(port),
        CIVIC_BUILD_DIR=str(BUILD_DIR),
        CIVIC_CHAIN="embedded",
        # the server's public identity (SIWE domain, token audience) is configuration: the same
        # across restarts on another port
        CIVIC_PUBLIC_URL="http://127.0.0.1:8000",
    )
    return env


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "civic_ledger.cli", "serve"],
        env=_env(data_dir, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become healthy")


def test_sigkill_during_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc, url = start_server(data_dir)
    acknowledged: list[dict] = []
    stop_at = 40
    auth = operator_headers(url)

    def write(i: int) -> None:
        try:
            r = httpx.post(f"{url}/notary/anchors", json={"document_hash": doc_hash(i)}, headers=auth, timeout=30)
        except httpx.HTTPError:
            return  # in flight when the server died: not acknowledged
        if r.status_code == 201:
            acknowledged.append(r.json())

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(write, i) for i in range(60)]
        # Kill mid-stream, once some writes have been acknowledged and others are in flight.
        while len(acknowledged) < stop_at and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for f in futures:
            f.result()
    assert len(acknowledged) >= stop_at

    proc, url = start_server(data_dir)
    try:
        health = httpx.get(f"{url}/health").json()
        assert health["status"] == "ok" and health["deployment_matches"]
        for ack in acknowledged:
            got = httpx.get(f"{url}/notary/anchors/{ack['document_hash']}")
            assert got.status_code == 200, ack
            assert got.json()["sequence"] == ack["sequence"]
            assert got.json()["block_number"] == ack["block_number"]
        # The chain goes on where it stopped: the next write gets the next sequence. The session
        # survives the kill too: its key is kept in the data directory.
        after = httpx.post(f"{url}/notary/anchors", json={"document_hash": doc_hash("after")}, headers=auth).json()
        assert after["sequence"] > max(a["sequence"] for a in acknowledged)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_restart_after_clean_stop_keeps_blocks_state_and_logs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc, url = start_server(data_dir)
    first = httpx.post(
        f"{url}/notary/anchors", json={"document_hash": doc_hash("clean")}, headers=operator_headers(url)
    ).json()
    head = httpx.get(f"{url}/chain").json()["head_block"]
    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says why.
    assert proc.wait(30) in (0, -signal.SIGTERM)
    proc, url = start_server(data_dir)
    try:
        assert httpx.get(f"{url}/chain").json()["head_block"] == head
        assert httpx.get(f"{url}/notary/anchors/{doc_hash('clean')}").json()["sequence"] == first["sequence"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "civic_ledger.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CIVIC_BUILD_DIR": str(BUILD_DIR), **(env or {})},
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["status", "--chain", "http://127.0.0.1:9"],
            "cannot reach the Ethereum node at http://127.0.0.1:9: connection refused",
        ),
        (["status", "--chain", "mainnet"], "unknown chain 'mainnet'"),
        (["serve", "--data-dir", "/etc/hostname/data"], "data directory /etc/hostname/data can not be created"),
        (["serve", "--port", "99999"], "invalid setting port"),
    ],
)
def test_bad_configuration_exits_with_one_clear_line(args: list[str], expected: str, tmp_path: Path) -> None:
    result = run_cli(*args, env={"CIVIC_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr  # progress lines may precede it
    assert expected in errors[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_second_server_on_the_same_data_directory_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc, url = start_server(data_dir)
    try:
        second = run_cli("serve", env={"CIVIC_DATA_DIR": str(data_dir), "CIVIC_PORT": str(free_port())})
        assert second.returncode == 1
        assert "is in use by another civic-ledger process" in second.stderr
        # `status` beside the running server asks it instead of opening the locked directory
        status = run_cli("status", env={"CIVIC_DATA_DIR": str(data_dir), "CIVIC_API_URL": url})
        assert status.returncode == 0, status.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
