"""A Hyperledger Besu QBFT network for the city, written as files (no Besu binary needed here).

``write_network(out, validators=4, ...)`` writes:

- ``nodes/validatorN/key`` (0x-hex secp256k1 private key, Besu's ``--node-private-key-file``) and
  ``key.pub`` for each validator, and the same for one RPC node (``nodes/rpc``);
- ``genesis.json``: QBFT with block-header validator selection (``blockperiodseconds``,
  ``epochlength``, ``requesttimeoutseconds``), ``zeroBaseFee`` (no fee market on a permissioned
  chain), the forks up to Cancun from block 0 (the contracts are compiled for ``EVM_VERSION``;
  Shanghai's PUSH0 and Cancun's MCOPY/transient storage must be active), the operator accounts
  funded, and the ``extraData`` RLP ``[32-byte vanity, [validators], vote (empty
  list), round (0), seals (empty list)]`` — byte for byte Besu's documented format (tested against
  the example in Besu's QBFT documentation);
- ``permissions_config.toml``: the node allowlist (every validator's and the RPC node's enode);
- ``docker-compose.yml``: four (or N) validators and one RPC node on a private bridge network with
  fixed addresses, a pinned Besu image, permissioning on, RPC only on the RPC node;
- ``operators/operator-N.json``: encrypted eth-account keystores for the API servers' operator
  keys (one per replica, so their nonces never collide), funded in the genesis;
- ``civic-ledger.env``: the settings of one API server against the RPC node.

Validators must be ≥ 4 to tolerate one faulty node (⌊(n−1)/3⌋ faults; 2/3 must sign each block).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rlp
from eth_account import Account
from eth_keys import keys

#: Besu image pinned by version (a digest can be pinned instead once pulled on the target host).
BESU_IMAGE = "hyperledger/besu:24.12.2"
#: QBFT's mixHash (the ASCII of "ctical byzantine fault tolerance", fixed by the protocol).
QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
SUBNET = "172.16.239"
P2P_PORT = 30303
RPC_PORT = 8545
VANITY = b"\0" * 32


@dataclass(frozen=True)
class Node:
    name: str
    private_key: bytes
    ip: str

    @property
    def public_key(self) -> str:
        return keys.PrivateKey(self.private_key).public_key.to_hex()[2:]

    @property
    def address(self) -> str:
        return keys.PrivateKey(self.private_key).public_key.to_checksum_address()

    @property
    def enode(self) -> str:
        return f"enode://{self.public_key}@{self.ip}:{P2P_PORT}"


def extra_data(validators: list[str], *, vanity: bytes = VANITY) -> str:
    """The genesis ``extraData`` of a QBFT network with ``validators`` (0x addresses, in order)."""
    if len(vanity) != 32:
        raise ValueError("the vanity is 32 bytes")
    addresses = [bytes.fromhex(v.removeprefix("0x")) for v in validators]
    if any(len(a) != 20 for a in addresses):
        raise ValueError("validators are 20-byte addresses")
    return "0x" + rlp.encode([vanity, addresses, [], 0, []]).hex()


def decode_extra_data(value: str) -> dict[str, Any]:
    """The fields of a QBFT ``extraData`` (vanity, validators, vote, round, seals)."""
    vanity, validators, vote, round_, seals = rlp.decode(bytes.fromhex(value.removeprefix("0x")))
    return {
        "vanity": bytes(vanity),
        "validators": ["0x" + bytes(v).hex() for v in validators],
        "vote": list(vote),
        "round": int.from_bytes(bytes(round_), "big"),
        "seals": list(seals),
    }


def genesis(
    validators: list[str],
    *,
    chain_id: int,
    block_period_s: int,
    funded: list[str],
    gas_limit: int = 0x1FFFFFFFFFFFFF,
) -> dict[str, Any]:
    return {
        "config": {
            "chainId": chain_id,
            "berlinBlock": 0,
            "londonBlock": 0,
            "shanghaiTime": 0,
            "cancunTime": 0,
            "zeroBaseFee": True,
            "qbft": {"blockperiodseconds": block_period_s, "epochlength": 30000, "requesttimeoutseconds": 10},
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": QBFT_MIX_HASH,
        "coinbase": "0x0000000000000000000000000000000000000000",
        "alloc": {a.removeprefix("0x").lower(): {"balance": hex(10**24)} for a in funded},
        "extraData": extra_data(validators),
    }


def _service(node: Node, bootnode: Node, *, rpc: bool) -> dict[str, Any]:
    command = [
        "--data-path=/opt/besu/data",
        "--genesis-file=/config/genesis.json",
        f"--node-private-key-file=/config/nodes/{node.name}/key",
        f"--p2p-host={node.ip}",
        f"--p2p-port={P2P_PORT}",
        "--min-gas-price=0",
        "--permissions-nodes-config-file-enabled=true",
        "--permissions-nodes-config-file=/config/permissions_config.toml",
        "--sync-mode=FULL",
        "--logging=INFO",
    ]
    if node.name != bootnode.name:
        command.append(f"--bootnodes={bootnode.enode}")
    if rpc:
        command += [
            "--rpc-http-enabled=true",
            "--rpc-http-host=0.0.0.0",
            f"--rpc-http-port={RPC_PORT}",
            "--rpc-http-api=ETH,NET,WEB3,QBFT",
            "--host-allowlist=*",
        ]
    else:
        command += ["--rpc-http-enabled=true", "--rpc-http-api=ETH,NET,QBFT", "--rpc-http-host=0.0.0.0"]
    service: dict[str, Any] = {
        "image": BESU_IMAGE,
        "command": command,
        "volumes": ["./:/config:ro", f"{node.name}-data:/opt/besu/data"],
        "networks": {"city": {"ipv4_address": node.ip}},
        "restart": "unless-stopped",
    }
    if rpc:
        service["ports"] = [f"127.0.0.1:{RPC_PORT}:{RPC_PORT}"]
    return service


def _compose(validators: list[Node], rpc: Node) -> str:
    """docker-compose.yml as text (JSON is valid YAML: no YAML library needed to write it)."""
    services = {n.name: _service(n, validators[0], rpc=False) for n in validators}
    services[rpc.name] = _service(rpc, validators[0], rpc=True)
    doc = {
        "services": services,
        "networks": {"city": {"driver": "bridge", "ipam": {"config": [{"subnet": f"{SUBNET}.0/24"}]}}},
        "volumes": {f"{n.name}-data": {} for n in [*validators, rpc]},
    }
    return "# Besu QBFT network written by `civic-ledger network qbft` (JSON is YAML).\n" + json.dumps(doc, indent=2)


@dataclass(frozen=True)
class Network:
    out: Path
    chain_id: int
    validators: list[Node]
    rpc: Node
    operators: list[str]

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{RPC_PORT}"


def write_network(
    out: Path,
    *,
    validators: int = 4,
    chain_id: int = 202_612,
    block_period_s: int = 2,
    operators: int = 2,
    password: str,
    fund: list[str] | None = None,
) -> Network:
    """Write every file of the network into ``out`` (which must be empty or absent)."""
    if validators < 4:
        raise ValueError(f"QBFT needs at least 4 validators to tolerate one fault (got {validators})")
    if operators < 1:
        raise ValueError("at least one operator key (one per API replica)")
    if not password:
        raise ValueError("a keystore password is needed for the operator keys")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: choose a new directory (node keys are never overwritten)")
    nodes = [Node(f"validator{i + 1}", secrets.token_bytes(32), f"{SUBNET}.{11 + i}") for i in range(validators)]
    rpc = Node("rpc", secrets.token_bytes(32), f"{SUBNET}.10")
    for node in [*nodes, rpc]:
        folder = out / "nodes" / node.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "key").write_text("0x" + node.private_key.hex())
        (folder / "key").chmod(0o600)
        (folder / "key.pub").write_text("0x" + node.public_key)
    operator_addresses = []
    (out / "operators").mkdir(parents=True, exist_ok=True)
    for i in range(operators):
        account = Account.create()
        path = out / "operators" / f"operator-{i + 1}.json"
        path.write_text(json.dumps(Account.encrypt(account.key, password)))
        path.chmod(0o600)
        operator_addresses.append(account.address)
    funded = [*operator_addresses, *(fund or [])]
    (out / "genesis.json").write_text(
        json.dumps(
            genesis([n.address for n in nodes], chain_id=chain_id, block_period_s=block_period_s, funded=funded),
            indent=2,
        )
    )
    allow = ",\n  ".join(json.dumps(n.enode) for n in [*nodes, rpc])
    (out / "permissions_config.toml").write_text(f"nodes-allowlist=[\n  {allow}\n]\n")
    (out / "docker-compose.yml").write_text(_compose(nodes, rpc))
    network = Network(out, chain_id, nodes, rpc, operator_addresses)
    (out / "civic-ledger.env").write_text(
        "# One API server (replica 1) against the network's RPC node; replica N uses operator-N.json.\n"
        f"CIVIC_CHAIN={network.rpc_url}\n"
        f"CIVIC_OPERATOR_KEYSTORE={out.resolve() / 'operators' / 'operator-1.json'}\n"
        "CIVIC_DATA_DIR=./data-replica-1\n"
        "# CIVIC_KEYSTORE_PASSWORD=... (the password given to `network qbft`)\n"
        "CIVIC_INDEX_CONFIRMATIONS=0\n"
    )
    return network
