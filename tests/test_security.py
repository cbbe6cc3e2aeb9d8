"""Regression tests for the adversarial review (issue 15): /rpc denial of service, operator-paid
writes without an authorised actor, floods, and sign-in state that a restart forgot.

Each test fails on the code before the fix: an endless ``eth_call`` held the embedded chain's
lock for seconds (30 M gas ≈ 4.5 s) and a batch of 1,000 froze every area; ``POST
/notary/anchors`` and ``POST /payments/allowances`` relayed for anyone at the operator's expense;
nothing limited request rates; revoked tokens and SIWE nonces lived in memory.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

from civic_ledger.platform.runtime import Platform
from tests.conftest import LiveServer, started_platform
from tests.helpers import bearer, error, sign_in

#: Init code that never stops (JUMPDEST; PUSH1 0; JUMP): an eth_call without `to` runs it.
ENDLESS = "0x5b600056"
LIMIT_EXCEEDED = -32005


def rpc(client: httpx.Client, method: str, params: list, id_: int = 1) -> dict:  # type: ignore[type-arg]
    r = client.post("/rpc", json={"jsonrpc": "2.0", "id": id_, "method": method, "params": params})
    assert r.status_code == 200, r.text
    return dict(r.json())


def endless_call(gas: int = 30_000_000) -> list:  # type: ignore[type-arg]
    return [{"data": ENDLESS, "gas": hex(gas)}, "latest"]


def doc_hash(n: object) -> str:
    return "0x" + keccak(text=f"security {n}").hex()


def operator_nonce(platform: Platform) -> int:
    return int(platform.chain.w3.eth.get_transaction_count(platform.operator.address))


# -- 1. /rpc denial of service ---------------------------------------------------------------


@pytest.mark.parametrize("chain", ["embedded", "anvil"])
def test_endless_eth_call_is_stopped_by_the_gas_cap_and_time_limit(chain: str, tmp_path: Path, request) -> None:  # type: ignore[no-untyped-def]
    url = "embedded" if chain == "embedded" else request.getfixturevalue("anvil").url
    with (
        started_platform(url, tmp_path / "data", rpc_call_time_s=0.5, rpc_gas_cap=5_000_000) as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        started = time.monotonic()
        answer = rpc(client, "eth_call", endless_call())
        took = time.monotonic() - started
        assert "error" in answer, answer
        if chain == "embedded":
            # 30 M gas asked, 5 M allowed (≈ 0.75 s here), and stopped at 0.5 s whatever the gas.
            assert answer["error"]["code"] == LIMIT_EXCEEDED
            assert "time limit of 0.5 s per call" in answer["error"]["message"]
        assert took < 5, took  # before: 30 M gas ran to the end (≈ 4.5 s on the embedded chain)


def test_a_batch_of_endless_calls_is_bounded_by_the_request_budgets(tmp_path: Path) -> None:
    with (
        started_platform("embedded", tmp_path / "data", rpc_call_time_s=0.3, rpc_request_time_s=1.0) as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        too_many = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(101)]
        refused = client.post("/rpc", json=too_many).json()
        assert refused["error"]["code"] == -32600 and "at most 100 calls" in refused["error"]["message"]

        batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": endless_call()} for i in range(100)]
        started = time.monotonic()
        answers = client.post("/rpc", json=batch).json()
        took = time.monotonic() - started
        assert len(answers) == 100 and all(a["error"]["code"] == LIMIT_EXCEEDED for a in answers)
        spent = [a for a in answers if "time budget (1 s) is spent" in a["error"]["message"]]
        assert len(spent) >= 90, answers[:5]  # only the first few ran at all
        assert took < 4, took  # before: 100 × 4.5 s under the chain lock

        # The gas budget of a request bounds it too: 100 M for all its calls, 25 M each by default.
        cheap = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [{"data": "0x00", "gas": hex(25_000_000)}]}
            for i in range(5)
        ]
        answers = client.post("/rpc", json=cheap).json()
        assert ["error" in a for a in answers] == [False, False, False, False, True]
        assert "gas budget" in answers[4]["error"]["message"]


def test_a_slow_rpc_read_does_not_stall_writes_or_other_reads(tmp_path: Path) -> None:
    with (
        started_platform("embedded", tmp_path / "data", rpc_call_time_s=4.0) as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        token = sign_in(client, platform.operator)
        finished: dict[str, float] = {}

        def slow() -> None:
            with server.client() as other:
                rpc(other, "eth_call", endless_call())
            finished["slow"] = time.monotonic()

        reader = threading.Thread(target=slow)
        started = time.monotonic()
        reader.start()
        time.sleep(0.5)  # the endless call is running now
        for i in range(3):
            r = client.post("/notary/anchors", json={"document_hash": doc_hash(f"during {i}")}, headers=bearer(token))
            assert r.status_code == 201, r.text
        assert client.get("/chain").status_code == 200
        assert rpc(client, "eth_blockNumber", [])["result"] == hex(platform.chain.head())
        finished["writes"] = time.monotonic()
        reader.join(30)
        # Writes and reads went through while the slow call ran (it runs 4 s on a snapshot of the
        # store, without the chain lock); before, they waited for it to finish.
        assert finished["writes"] < finished["slow"], (finished, started)
        assert finished["slow"] - started >= 3.5


def test_eth_get_logs_range_is_bounded(api: httpx.Client) -> None:
    answer = rpc(api, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": hex(20_000)}])
    assert answer["error"]["code"] == LIMIT_EXCEEDED and "at most 10000 blocks" in answer["error"]["message"]
    assert "result" in rpc(api, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest"}])


# -- 3. operator-paid writes need an authorised actor; floods are refused ---------------------


def test_anchoring_needs_a_session_holding_the_notary_role(api: httpx.Client, platform: Platform) -> None:
    before = operator_nonce(platform)
    r = api.post("/notary/anchors", json={"document_hash": doc_hash("anonymous")})
    error(r, 401, "not_signed_in")
    stranger = Account.create()
    registrar_role = platform.deployment.contract("CitizenRegistry").functions.REGISTRAR_ROLE().call()
    platform.relayer.transact(
        platform.deployment.contract("CitizenRegistry").functions.grantRole(registrar_role, stranger.address)
    )
    before = operator_nonce(platform)
    token = sign_in(api, stranger)  # an agency, but not a notary
    message = error(
        api.post("/notary/anchors", json={"document_hash": doc_hash("x")}, headers=bearer(token)), 403, "missing_role"
    )
    assert "Notary.NOTARY_ROLE" in message
    assert operator_nonce(platform) == before  # nothing was relayed, no gas spent
    ok = api.post(
        "/notary/anchors", json={"document_hash": doc_hash("ok")}, headers=bearer(sign_in(api, platform.operator))
    )
    assert ok.status_code == 201, ok.text


def test_a_throwaway_keys_permit_is_not_relayed(api: httpx.Client, platform: Platform) -> None:
    throwaway = Account.create()
    typed = api.post("/payments/allowances/typed-data", json={"owner": throwaway.address, "value": 10**9})
    assert typed.status_code == 200, typed.text
    from tests.helpers import sign_typed

    signature = sign_typed(throwaway, typed.json()["typed_data"])
    message = typed.json()["typed_data"]["message"]
    before = operator_nonce(platform)
    r = api.post(
        "/payments/allowances",
        json={**{k: message[k] for k in ("owner", "value", "nonce", "deadline")}, "signature": signature},
    )
    text = error(r, 403, "missing_role")
    assert "CLIENT_ROLE" in text and throwaway.address in text
    assert operator_nonce(platform) == before


def test_a_write_flood_is_refused_with_429_and_costs_no_gas(tmp_path: Path) -> None:
    with (
        started_platform("embedded", tmp_path / "data", rate_write_actor=(0.5, 4), rate_nonce_ip=(0.5, 3)) as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        token = sign_in(client, platform.operator)
        before = operator_nonce(platform)
        answers = [
            client.post("/notary/anchors", json={"document_hash": doc_hash(f"flood {i}")}, headers=bearer(token))
            for i in range(20)
        ]
        statuses = [r.status_code for r in answers]
        assert statuses.count(201) in (4, 5), statuses  # the burst (plus at most one refilled token)
        assert statuses.count(429) == 20 - statuses.count(201)
        refused = next(r for r in answers if r.status_code == 429)
        assert refused.json()["error"] == "rate_limited" and "write requests by" in refused.json()["message"]
        assert int(refused.headers["retry-after"]) >= 1
        assert operator_nonce(platform) == before + statuses.count(201)  # refused writes spent nothing

        # Sign-in nonces per IP (the sign-in above took one of the 3).
        nonces = [client.get("/auth/nonce").status_code for _ in range(5)]
        assert nonces.count(429) >= 2 and nonces[0] == 200, nonces


def test_an_rpc_flood_is_refused_with_429(tmp_path: Path) -> None:
    with (
        started_platform("embedded", tmp_path / "data", rate_rpc_ip=(1.0, 10)) as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        codes = [
            client.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}).status_code
            for _ in range(30)
        ]
        assert codes[:10] == [200] * 10 and codes.count(429) >= 18, codes


# -- 5. sign-out and nonces survive restarts and are shared -----------------------------------


def _signed_message(client: httpx.Client, account) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    message = client.get("/auth/nonce", params={"address": account.address}).json()["message"]
    signature = "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()
    return message, signature


def test_sign_out_and_used_nonces_are_remembered_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with started_platform("embedded", data) as platform, LiveServer(platform) as server, server.client() as client:
        operator = platform.operator
        token = sign_in(client, operator)
        assert client.get("/auth/me", headers=bearer(token)).status_code == 200
        assert client.post("/auth/logout", headers=bearer(token)).status_code == 204
        used_message, used_signature = _signed_message(client, operator)
        assert (
            client.post("/auth/login", json={"message": used_message, "signature": used_signature}).status_code == 200
        )
        unused_message, unused_signature = _signed_message(client, operator)  # issued, not yet used
        kept = sign_in(client, operator)
    # A new process on the same data directory (no CIVIC_SESSION_SECRET set).
    with started_platform("embedded", data) as platform, LiveServer(platform) as server, server.client() as client:
        error(client.get("/auth/me", headers=bearer(token)), 401, "session_revoked")
        assert client.get("/auth/me", headers=bearer(kept)).status_code == 200  # the token key was kept
        replay = client.post("/auth/login", json={"message": used_message, "signature": used_signature})
        error(replay, 409, "siwe_nonce_used")
        fresh = client.post("/auth/login", json={"message": unused_message, "signature": unused_signature})
        assert fresh.status_code == 200, fresh.text


@pytest.mark.anvil
def test_two_server_processes_on_one_data_directory_agree(anvil, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    with (
        started_platform(anvil.url, data) as first,
        started_platform(anvil.url, data) as second,
        LiveServer(first) as one,
        LiveServer(second) as two,
        one.client() as a,
        two.client() as b,
    ):
        operator = first.operator
        token = sign_in(a, operator)
        assert b.get("/auth/me", headers=bearer(token)).status_code == 200  # same token key
        message, signature = _signed_message(a, operator)
        assert b.post("/auth/login", json={"message": message, "signature": signature}).status_code == 200
        error(a.post("/auth/login", json={"message": message, "signature": signature}), 409, "siwe_nonce_used")
        assert a.post("/auth/logout", headers=bearer(token)).status_code == 204
        error(b.get("/auth/me", headers=bearer(token)), 401, "session_revoked")
