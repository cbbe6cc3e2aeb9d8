"""Network benchmark: ballots per second through HTTP on anvil mining a block every second.

    python scripts/bench.py network --json

One anvil with ``--block-time 1`` (a QBFT-like 1-second block period, non-development chain id),
a census poll, and 64 clients each casting ballots one after the other for ``BENCH_NETWORK_S``
seconds (default 20) — first against one API replica, then against three replicas (round-robin,
one operator key each, shared manifest and state store; each replica a `civic-ledger serve`
process, as in production), in the same run. Prints
``ballots_per_s_1_replica``, ``ballots_per_s_3_replicas``, their ratio, and
``mean_batch_block_time_1s`` (mean ballots per castBatch transaction, one replica).

It also prints where the CPU went in each phase (``cpu_s_*``: the replicas, anvil and this driver,
whose 64 clients sign every ballot) against the machine's cores, so a figure limited by the machine
rather than by the product says so; and ``closed_loop_ceiling_per_s``: 64 clients that each wait for
their ballot's block can cast at most 64 ballots per block period, whatever the server does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from eth_account import Account  # noqa: E402

from civic_ledger.platform import eip712  # noqa: E402
from tests.conftest import IntervalAnvil, free_port, started_platform  # noqa: E402
from tests.test_indexer import census_poll, voters  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_NETWORK_CLIENTS", "64"))
SECONDS = float(os.environ.get("BENCH_NETWORK_S", "20"))


def _say(msg: str) -> None:
    print(f"[bench network] {msg}", file=sys.stderr, flush=True)


def _fund(url: str, address: str) -> None:
    httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_setBalance", "params": [address, hex(10**21)]}
    ).raise_for_status()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by the replicas, the node and this driver during one phase."""

    def __init__(self, replicas: list[Any], node_pid: int) -> None:
        self.pids = {"replicas": [r.proc.pid for r in replicas], "anvil": [node_pid]}
        self.start = self._now()
        self.wall = time.perf_counter()

    def _now(self) -> dict[str, float]:
        out = {k: sum(_cpu_s(pid) for pid in pids) for k, pids in self.pids.items()}
        out["driver"] = time.process_time()
        return out

    def figures(self, suffix: str) -> dict[str, float]:
        end, wall = self._now(), time.perf_counter() - self.wall
        out = {f"cpu_s_{k}_{suffix}": round(end[k] - self.start[k], 1) for k in end}
        out[f"cpu_busy_of_{os.cpu_count()}_cores_{suffix}"] = round(sum(end[k] - self.start[k] for k in end) / wall, 2)
        return out


def _drive(servers: list[Any], census: Any, offset: int) -> tuple[int, list[str]]:
    """64 clients cast ballots (new versions of their own) for SECONDS; returns (accepted, tx hashes)."""
    stop = time.monotonic() + SECONDS
    accepted: list[str] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        voter = census.voters[i]
        with servers[i % len(servers)].client(timeout=120) as api:
            k = 0
            while time.monotonic() < stop:
                r = api.post(
                    f"/voting/polls/{census.poll_id}/ballots/typed-data",
                    json={"voter": voter.address, "options": [(i + k + offset) % 3]},
                )
                td = r.json()
                sig = eip712.TypedMessage.from_dict(td["typed_data"]).sign(voter)
                body = {**td["fields"], "signature": "0x" + sig.hex(), "proof": census.proof_hex(voter.address)}
                r = api.post(f"/voting/polls/{census.poll_id}/ballots", json=body)
                if r.status_code == 201:
                    with lock:
                        accepted.append(r.json()["tx_hash"])
                k += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(accepted), accepted


class Replica:
    """One `civic-ledger serve` process (its own operator key and data directory, the shared dir)."""

    def __init__(self, root: Path, i: int, chain: str) -> None:
        operator = Account.create()
        _fund(chain, operator.address)
        keystore = root / f"operator-{i}.json"
        keystore.write_text(json.dumps(Account.encrypt(operator.key, "pw")))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "CIVIC_CHAIN": chain,
            "CIVIC_DATA_DIR": str(root / f"replica-{i}"),
            "CIVIC_SHARED_DIR": str(root / "shared"),
            "CIVIC_OPERATOR_KEYSTORE": str(keystore),
            "CIVIC_KEYSTORE_PASSWORD": "pw",
            "CIVIC_PORT": str(self.port),
            "CIVIC_RATE_LIMITS": "false",
            "CIVIC_BUILD_DIR": str(ROOT / "build"),
            "CIVIC_LOG_LEVEL": "WARNING",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "civic_ledger.cli", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"replica {i} exited with {self.proc.returncode}")
            time.sleep(0.3)
        raise RuntimeError(f"replica {i} did not start")

    def client(self, timeout: float = 120) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run(json_out: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"clients": CLIENTS, "seconds": SECONDS}
    with tempfile.TemporaryDirectory(prefix="bench-network-") as tmp:
        root = Path(tmp)
        node = IntervalAnvil(root / "interval-operator")
        replicas: list[Replica] = []
        try:
            for i in range(3):  # separate processes, as `serve` runs in production
                replicas.append(Replica(root, i, node.url))
                _say(f"replica {i} up at {replicas[-1].url}")
            with started_platform(
                node.url,
                root / "poll-admin",
                shared_dir=root / "shared",
                operator_keystore=root / "operator-0.json",
                keystore_password="pw",
            ) as admin:
                census = census_poll(admin, voters(CLIENTS, seed="bench network"), question="Network?")
            census.proof_hex = lambda a: ["0x" + p.hex() for p in census.proof(a)]  # type: ignore[attr-defined]
            out["closed_loop_ceiling_per_s"] = CLIENTS  # one ballot per client per 1-second block
            _say("one replica")
            meter = CpuMeter(replicas[:1], node.proc.pid)
            started = time.perf_counter()
            n1, txs1 = _drive(replicas[:1], census, 0)
            out["ballots_per_s_1_replica"] = round(n1 / (time.perf_counter() - started), 1)
            out["mean_batch_block_time_1s"] = round(n1 / max(1, len(set(txs1))), 1)
            out.update(meter.figures("1_replica"))
            _say("three replicas")
            meter = CpuMeter(replicas, node.proc.pid)
            started = time.perf_counter()
            n3, txs3 = _drive(replicas, census, 1)
            out["ballots_per_s_3_replicas"] = round(n3 / (time.perf_counter() - started), 1)
            out["mean_batch_3_replicas"] = round(n3 / max(1, len(set(txs3))), 1)
            out.update(meter.figures("3_replicas"))
        finally:
            for r in replicas:
                r.stop()
            node.stop()
    out["replicas_speedup"] = round(out["ballots_per_s_3_replicas"] / max(0.1, out["ballots_per_s_1_replica"]), 2)
    return out


if __name__ == "__main__":
    print(json.dumps(run(True), indent=2))
