"""`/rpc` follows the execution-API spec: standard clients other than web3.py read the embedded
chain through it — ethers v6 (npm) and Foundry's `cast` (npm `@foundry-rs/cast`), real
processes against the real server.

Before, `cast call` failed ("Only the keys … data … are allowed. Got extra keys: 'input'") and
ethers' `getTransaction` threw on a contract creation (`"to": ""` instead of `null`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_utils import keccak

from civic_ledger.platform.compiler import NODE_MODULES
from civic_ledger.platform.runtime import Platform
from tests.conftest import LiveServer, foundry_binary, started_platform
from tests.helpers import bearer, sign_in

JS = Path(__file__).parent / "js"


def cast_binary() -> str:
    return foundry_binary("cast")


@dataclass
class Env:
    platform: Platform
    rpc: str
    anchors: list[dict[str, Any]]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with (
        started_platform("embedded", tmp_path_factory.mktemp("rpc") / "data") as platform,
        LiveServer(platform) as server,
        server.client() as client,
    ):
        auth = bearer(sign_in(client, platform.operator))
        anchors = []
        for i in range(3):
            r = client.post(
                "/notary/anchors", json={"document_hash": "0x" + keccak(text=f"rpc {i}").hex()}, headers=auth
            )
            assert r.status_code == 201, r.text
            anchors.append(r.json())
        yield Env(platform, f"{server.url}/rpc", anchors)


def test_ethers_reads_every_figure_through_rpc(env: Env) -> None:
    p = env.platform
    request = {
        "notary": p.deployment.address("Notary"),
        "abi": p.build.artifact("Notary").abi,
        "deployTx": p.deployment.entries["Notary"]["tx"],
        "anchorTx": env.anchors[-1]["tx_hash"],
        "block": env.anchors[-1]["block_number"],
    }
    run = subprocess.run(
        ["node", str(JS / "ethers_reads.mjs"), env.rpc, json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"NODE_PATH": str(NODE_MODULES), "PATH": "/usr/bin:/bin:/usr/local/bin"},
        cwd=str(NODE_MODULES.parent),
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    w3 = p.chain.w3
    assert out["chainId"] == str(p.chain.chain_id)
    assert out["blockNumber"] == p.chain.head()
    assert out["deployTo"] is None and out["deployCreates"]  # a creation: `to` is null
    assert out["anchorFrom"] == p.operator.address
    assert out["receiptStatus"] == 1 and out["receiptBlock"] == env.anchors[-1]["block_number"]
    assert out["receiptLogs"] == 1
    block = w3.eth.get_block(env.anchors[-1]["block_number"])
    assert out["blockHash"] == "0x" + bytes(block["hash"]).hex()
    assert out["blockTxs"] == ["0x" + bytes(h).hex() for h in block["transactions"]]
    assert out["anchorCount"] == "3"
    assert [e["hash"] for e in out["events"]] == [a["document_hash"] for a in env.anchors]
    assert [e["sequence"] for e in out["events"]] == ["1", "2", "3"]
    assert out["balance"] == str(w3.eth.get_balance(p.operator.address))


def cast(env: Env, *args: str) -> str:
    run = subprocess.run([cast_binary(), *args, "--rpc-url", env.rpc], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, (args, run.stderr)
    return run.stdout.strip()


def test_cast_reads_every_figure_through_rpc(env: Env) -> None:
    p = env.platform
    notary = p.deployment.address("Notary")
    assert cast(env, "chain-id") == str(p.chain.chain_id)
    assert int(cast(env, "block-number")) == p.chain.head()
    # `cast call` sends the call data as `input` (the execution-API name).
    assert cast(env, "call", notary, "anchorCount()(uint256)") == "3"
    anchored = json.loads(
        cast(env, "call", notary, "anchorOf(bytes32)(uint64,uint64,uint128)", env.anchors[0]["document_hash"], "--json")
    )
    assert [int(v) for v in anchored[1:]] == [env.anchors[0]["block_number"], 1]
    tx = json.loads(cast(env, "tx", p.deployment.entries["Notary"]["tx"], "--json"))
    assert tx["to"] is None
    receipt = json.loads(cast(env, "receipt", env.anchors[1]["tx_hash"], "--json"))
    assert int(receipt["status"], 16) == 1 and int(receipt["blockNumber"], 16) == env.anchors[1]["block_number"]
    assert len(receipt["logsBloom"]) == 2 + 512
    event = "DocumentAnchored(bytes32 indexed,address indexed,uint256 indexed,bytes32)"
    logs = json.loads(cast(env, "logs", event, "--from-block", "0", "--address", notary, "--json"))
    assert [lg["transactionHash"] for lg in logs] == [a["tx_hash"] for a in env.anchors]
    assert cast(env, "code", notary) == "0x" + bytes(p.chain.w3.eth.get_code(notary)).hex()
    # A revert comes back as a JSON-RPC error carrying the revert data, which cast decodes.
    run = subprocess.run(
        [
            cast_binary(),
            "call",
            notary,
            "anchor(bytes32,bytes32)",
            "0x" + "00" * 32,
            "0x" + "00" * 32,
            "--from",
            p.operator.address,
            "--rpc-url",
            env.rpc,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0 and "revert" in (run.stderr + run.stdout).lower()


def test_rpc_answers_spec_shapes(env: Env) -> None:
    def call(method: str, params: list[Any]) -> Any:
        r = httpx.post(env.rpc, json={"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).json()
        assert "result" in r, r
        return r["result"]

    p = env.platform
    deploy = call("eth_getTransactionByHash", [p.deployment.entries["Notary"]["tx"]])
    assert deploy["to"] is None and "input" in deploy and "data" not in deploy
    receipt = call("eth_getTransactionReceipt", [env.anchors[0]["tx_hash"]])
    assert "stateRoot" not in receipt and receipt["logsBloom"] != "0x" + "00" * 256
    block = call("eth_getBlockByNumber", ["latest", True])
    assert "miner" in block and "coinbase" not in block
    assert call("net_version", []) == str(p.chain.chain_id)
    fee = call("eth_feeHistory", ["0x2", "latest", [50]])
    assert len(fee["baseFeePerGas"]) == 3
