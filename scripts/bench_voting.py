"""M-Voting benchmark: gas per ballot by batch size; end-to-end ballots/s through the HTTP API
against the naive one-``.transact()``-per-ballot baseline, on the embedded chain and on anvil.

Figures:
- gas_per_ballot_batch_{1,10,100}: gasUsed of one ``castBatch`` of N first ballots (distinct
  registered citizens, all-citizens public single-choice poll) divided by N.
- ballots_per_s_{embedded,anvil}: signed ballots accepted end-to-end through the HTTP API: each
  client builds the Ballot EIP-712 digest, signs it with the voter's key, POSTs it to
  ``/voting/polls/{id}/ballots`` (pre-check: signature + ``checkBallot``; queued; relayed in a
  ``castBatch``; mined) and gets the receipt. ``CLIENTS`` concurrent clients; the API server runs
  in its own process (``civic-ledger serve``), as in production.
- naive_ballots_per_s_{embedded,anvil}: the same kind of ballots, one web3 ``.transact()`` of
  ``cast`` per ballot (node-side signing, gas estimated per call), waiting for each receipt, one
  after the other — measured in the same run on the same chain, half before and half after the
  API run (the load of a shared machine drifts).
- speedup_{embedded,anvil} = ballots_per_s / naive_ballots_per_s.
- naive_fast_poll_ballots_per_s_anvil / speedup_vs_fast_poll_anvil: the naive loop again with
  receipts polled every 2 ms instead of web3's default 0.1 s (an honest second baseline: on
  anvil the default polling, not the chain, bounds the naive figure).
- gas_per_encrypted_ballot_{2,4}_options, gas_decryption_share, client_encrypt_ms_4_options and
  the other encrypted-poll figures: see scripts/bench_encrypted.py (BENCH_VOTING_ENCRYPTED=0 skips).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from eth_account.signers.local import LocalAccount  # noqa: E402
from eth_utils import keccak  # noqa: E402

from civic_ledger.platform import eip712  # noqa: E402
from civic_ledger.platform.runtime import Platform  # noqa: E402
from civic_ledger.voting import service  # noqa: E402
from civic_ledger.voting.schemas import PollCreate, PollDraft  # noqa: E402
from tests.conftest import Anvil, LiveServer, make_settings  # noqa: E402
from tests.helpers import REGISTER_TYPES, grant_role, make_registrar  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_VOTING_CLIENTS", "128"))
N_E2E = {
    "embedded": int(os.environ.get("BENCH_VOTING_N_EMBEDDED", "400")),
    "anvil": int(os.environ.get("BENCH_VOTING_N_ANVIL", "1500")),
}
N_NAIVE = {"embedded": 100, "anvil": 200}
ZERO32 = b"\0" * 32


def _say(msg: str) -> None:
    print(f"[bench voting] {msg}", file=sys.stderr, flush=True)


def register_many(platform: Platform, registrar: LocalAccount, accounts: list[LocalAccount]) -> None:
    """Register citizens with consecutive-nonce transactions (fast set-up, not measured)."""
    registry = platform.deployment.contract("CitizenRegistry")
    nonce = int(registry.functions.nonces(registrar.address).call())
    domain = eip712.domain("CitizenRegistry", platform.chain.chain_id, registry.address)
    deadline = service.chain_now(platform) + 7200
    fns = []
    for i, acct in enumerate(accounts):
        record = keccak(text=f"bench record {acct.address}")
        msg = {
            "account": acct.address,
            "district": 1 + i % 25,
            "birthYear": 1950 + i % 50,
            "residency": 1,
            "recordHash": record,
            "registrar": registrar.address,
            "nonce": nonce + i,
            "deadline": deadline,
        }
        sig = eip712.TypedMessage(domain, "RegisterCitizen", REGISTER_TYPES, msg).sign(registrar)
        fns.append(
            registry.functions.registerCitizen(
                acct.address, msg["district"], msg["birthYear"], 1, record, registrar.address, nonce + i, deadline, sig
            )
        )
    for start in range(0, len(fns), 100):
        platform.relayer.transact_many(fns[start : start + 100], gas=400_000)


def create_poll(platform: Platform, admin: LocalAccount, question: str, duration_s: int = 7200) -> int:
    td = service.poll_typed_data(
        platform, PollDraft(question=question, options=["A", "B", "C"], duration_s=duration_s, creator=admin.address)
    )
    sig = eip712.TypedMessage.from_dict(td.typed_data).sign(admin)
    return service.create_poll(platform, PollCreate(**td.fields, signature="0x" + sig.hex())).poll_id


def signed_ballot(
    domain_separator: bytes, poll_id: int, voter: LocalAccount, choice: int, deadline: int
) -> dict[str, Any]:
    """What a wallet does: hash the Ballot typed data (EIP-712) and sign the digest."""
    from eth_abi import encode

    struct = keccak(
        encode(
            ["bytes32", "uint256", "address", "uint256", "bytes32", "uint32", "uint256"],
            [service.BALLOT_TYPEHASH, poll_id, voter.address, choice, ZERO32, 1, deadline],
        )
    )
    digest = keccak(b"\x19\x01" + domain_separator + struct)
    sig = Account.unsafe_sign_hash(digest, voter.key).signature
    return {
        "voter": voter.address,
        "choice": choice,
        "version": 1,
        "deadline": deadline,
        "signature": "0x" + bytes(sig).hex(),
    }


def ballot_tuple(poll_id: int, b: dict[str, Any]) -> tuple[Any, ...]:
    return (poll_id, b["voter"], b["choice"], ZERO32, 1, b["deadline"], bytes.fromhex(b["signature"][2:]), [])


def gas_per_ballot(platform: Platform, admin: LocalAccount, voters: list[LocalAccount]) -> dict[str, float]:
    st = service.state(platform)
    out: dict[str, float] = {}
    deadline = service.chain_now(platform) + 7200
    for n in (1, 10, 100):
        pid = create_poll(platform, admin, f"gas batch {n}")
        batch = [
            ballot_tuple(pid, signed_ballot(st.domain_separator, pid, v, i % 3, deadline))
            for i, v in enumerate(voters[:n])
        ]
        receipt = platform.relayer.transact(
            st.contract.functions.castBatch(batch), gas=min(29_000_000, 150_000 + 90_000 * n)
        )
        accepted = len(st.contract.events.BallotCast().process_receipt(receipt.raw))
        assert accepted == n, f"castBatch accepted {accepted} of {n}"
        out[f"gas_per_ballot_batch_{n}"] = round(receipt.gas_used / n)
    return out


def naive_seconds(
    platform: Platform, admin: LocalAccount, voters: list[LocalAccount], poll_latency: float = 0.1
) -> float:
    st = service.state(platform)
    pid = create_poll(platform, admin, "naive")
    deadline = service.chain_now(platform) + 7200
    ballots = [
        ballot_tuple(pid, signed_ballot(st.domain_separator, pid, v, i % 3, deadline)) for i, v in enumerate(voters)
    ]
    w3, sender = platform.chain.w3, platform.operator.address
    started = time.perf_counter()
    for b in ballots:
        tx_hash = st.contract.functions.cast(b).transact({"from": sender})
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=poll_latency)
        assert receipt["status"] == 1
    return time.perf_counter() - started


def e2e_rate(
    url: str, poll_id: int, domain_separator: bytes, deadline: int, voters: list[LocalAccount]
) -> tuple[float, dict[str, Any]]:
    """CLIENTS threads, each: sign → POST → receipt, until every voter has voted once.

    Runs in the clients' own process (see :func:`e2e_in_subprocess`)."""
    import http.client
    from urllib.parse import urlsplit

    host, port = urlsplit(url).hostname, urlsplit(url).port
    local = threading.local()
    batches: dict[str, int] = {}
    lock = threading.Lock()
    path = f"/voting/polls/{poll_id}/ballots"

    def post(body: bytes) -> tuple[int, bytes]:
        # http.client with keep-alive: a lean client, so the figure measures the server
        for attempt in (0, 1):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(host, port, timeout=300)
            try:
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def one(i: int) -> None:
        voter = voters[i]
        body = signed_ballot(domain_separator, poll_id, voter, i % 3, deadline)
        status, payload = post(json.dumps(body).encode())
        if status != 201:
            raise RuntimeError(f"ballot {i}: {status} {payload[:300]!r}")
        rec = json.loads(payload)
        with lock:
            batches[rec["tx_hash"]] = rec["batch_size"]

    # warm-up: connections, worker thread
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, range(CLIENTS)))
    batches.clear()
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, range(CLIENTS, len(voters))))
    elapsed = time.perf_counter() - started
    n = len(voters) - CLIENTS
    sizes = list(batches.values())
    return n / elapsed, {
        "ballots": n,
        "seconds": round(elapsed, 2),
        "batches": len(sizes),
        "mean_batch": round(sum(sizes) / max(len(sizes), 1), 1),
    }


def e2e_in_subprocess(
    url: str, poll_id: int, domain_separator: bytes, deadline: int, voters: list[LocalAccount], tmp: Path
) -> tuple[float, dict[str, Any]]:
    """The clients run in a process of their own, so they do not share the server's GIL."""
    spec = tmp / f"clients-{poll_id}.json"
    spec.write_text(
        json.dumps(
            {
                "url": url,
                "poll_id": poll_id,
                "domain_separator": domain_separator.hex(),
                "deadline": deadline,
                "keys": [v.key.hex() for v in voters],
            }
        )
    )
    proc = subprocess.run(
        [sys.executable, __file__, "--clients", str(spec)], capture_output=True, text=True, timeout=900, cwd=str(ROOT)
    )
    if proc.returncode != 0:
        raise RuntimeError(f"clients failed: {proc.stderr[-3000:]}")
    out = json.loads(proc.stdout)
    return float(out["rate"]), dict(out["info"])


def _clients_main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    voters = [Account.from_key(k) for k in spec["keys"]]
    rate, info = e2e_rate(
        spec["url"], spec["poll_id"], bytes.fromhex(spec["domain_separator"]), spec["deadline"], voters
    )
    print(json.dumps({"rate": rate, "info": info}))


def run_chain(kind: str, tmp: Path) -> dict[str, Any]:
    node = Anvil("--gas-limit", "60000000") if kind == "anvil" else None
    chain = node.url if node else "embedded"
    data_dir = tmp / kind
    out: dict[str, Any] = {}
    try:
        n = N_E2E[kind]
        _say(f"{kind}: set-up ({n + CLIENTS} citizens)")
        # One load generator is one client IP: the per-IP rate limits would measure themselves.
        platform = Platform.start(make_settings(chain, data_dir, rate_limits=False))
        try:
            registrar = make_registrar(platform)
            admin = Account.create()
            grant_role(platform, "MVoting", "POLL_ADMIN_ROLE", admin.address)
            voters = [Account.create() for _ in range(n + CLIENTS)]
            t0 = time.perf_counter()
            register_many(platform, registrar, voters)
            _say(f"{kind}: registered in {time.perf_counter() - t0:.1f} s")
            if kind == "embedded":
                _say("gas per ballot")
                out.update(gas_per_ballot(platform, admin, voters))
            # the naive baseline runs half before and half after the API run (the machine's load drifts)
            m = N_NAIVE[kind]
            half = m // 2
            _say(f"{kind}: naive baseline, first half ({half} ballots)")
            naive = naive_seconds(platform, admin, voters[:half])
            fast = naive_seconds(platform, admin, voters[:half], poll_latency=0.002) if kind == "anvil" else 0.0
            pid = create_poll(platform, admin, "throughput")
            domain_separator = service.state(platform).domain_separator
            deadline = service.chain_now(platform) + 7200
            server = LiveServer(platform)
            try:
                _say(f"{kind}: {n} ballots through the API, {CLIENTS} clients")
                t0 = time.perf_counter()
                rate, info = e2e_in_subprocess(server.url, pid, domain_separator, deadline, voters, tmp)
                _say(f"{kind}: e2e done in {time.perf_counter() - t0:.1f} s")
            finally:
                service.close(platform)
                server.stop()
            _say(f"{kind}: naive baseline, second half ({m - half} ballots)")
            naive += naive_seconds(platform, admin, voters[half:m])
            out[f"naive_ballots_per_s_{kind}"] = round(m / naive, 1)
            if kind == "anvil":
                # web3's default receipt polling (0.1 s) weighs on the naive figure; this one polls every 2 ms
                fast += naive_seconds(platform, admin, voters[half:m], poll_latency=0.002)
                out[f"naive_fast_poll_ballots_per_s_{kind}"] = round(m / fast, 1)
        finally:
            platform.close()
        out[f"ballots_per_s_{kind}"] = round(rate, 1)
        out[f"e2e_{kind}"] = info
        out[f"speedup_{kind}"] = round(rate / out[f"naive_ballots_per_s_{kind}"], 1)
        if f"naive_fast_poll_ballots_per_s_{kind}" in out:
            out[f"speedup_vs_fast_poll_{kind}"] = round(rate / out[f"naive_fast_poll_ballots_per_s_{kind}"], 1)
    finally:
        if node:
            node.stop()
    return out


def run(json_out: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {"clients": CLIENTS}
    with tempfile.TemporaryDirectory(prefix="bench-voting-") as tmp:
        for kind in os.environ.get("BENCH_VOTING_CHAINS", "embedded,anvil").split(","):
            results.update(run_chain(kind, Path(tmp)))
    if os.environ.get("BENCH_VOTING_ENCRYPTED", "1") != "0":  # encrypted polls (scripts/bench_encrypted.py)
        sys.path.insert(0, str(ROOT / "scripts"))
        import bench_encrypted

        results.update(bench_encrypted.run(json_out))
    return results


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--clients":
        _clients_main(sys.argv[2])
        sys.exit(0)
    res = run(json_out="--json" in sys.argv)
    if "--json" in sys.argv:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:32} {v}")
