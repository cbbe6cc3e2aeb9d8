"""Deploy every contract in dependency order and keep a manifest in the data directory.

The manifest (``deployment-<chainId>.json``) records, per contract: address, deploy
transaction and block, the keccak-256 of the runtime code on chain, the SHA-256 of the
compiled creation code, the constructor arguments and the ABI; and, for the whole, the chain
id and the compiler version. With the ABIs in it, the manifest is all a chain-only verifier
needs beside a node: no build directory, no compiler. On restart the manifest is reused after checking that the code at every
address is the code it recorded and that the sources have not changed; any difference is a
:class:`DeploymentMismatch`, never a silent redeploy.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract
from web3.types import Nonce
from web3.utils.address import get_create_address

from civic_ledger.errors import DeploymentMismatch
from civic_ledger.platform.chain import Chain
from civic_ledger.platform.compiler import Build
from civic_ledger.platform.relayer import Relayer

Addresses = dict[str, str]


@dataclass(frozen=True)
class ContractSpec:
    """A deployable contract and how to build its constructor arguments."""

    name: str
    args: Callable[[Addresses, str], list[Any]]


#: Every deployed contract, in dependency order (a contract's arguments may name earlier ones).
CONTRACTS: list[ContractSpec] = [
    ContractSpec("Notary", lambda a, admin: [admin]),
    ContractSpec("CitizenRegistry", lambda a, admin: [admin]),
    ContractSpec("MVoting", lambda a, admin: [admin, a["CitizenRegistry"]]),
    ContractSpec("EncryptedTally", lambda a, admin: [a["MVoting"]]),
    ContractSpec("CredentialRegistry", lambda a, admin: [admin]),
    ContractSpec("LaborRecords", lambda a, admin: [admin, a["CitizenRegistry"]]),
    ContractSpec("CivicMileage", lambda a, admin: [admin, a["CitizenRegistry"]]),
    ContractSpec("CivicWon", lambda a, admin: [admin]),
    ContractSpec("SubcontractPayments", lambda a, admin: [admin, a["CitizenRegistry"], a["CivicWon"]]),
    ContractSpec("VehicleHistory", lambda a, admin: [admin, a["CitizenRegistry"]]),
]


@dataclass
class Deployment:
    chain_id: int
    compiler_version: str
    manifest_path: Path
    entries: dict[str, dict[str, Any]]
    contracts: dict[str, Contract]

    def address(self, name: str) -> str:
        return str(self.entries[name]["address"])

    def contract(self, name: str) -> Contract:
        return self.contracts[name]

    def addresses(self) -> Addresses:
        return {name: str(e["address"]) for name, e in self.entries.items()}


def manifest_path(data_dir: Path, chain_id: int) -> Path:
    return data_dir / f"deployment-{chain_id}.json"


def _creation_hash(bytecode: str) -> str:
    return "0x" + hashlib.sha256(bytes.fromhex(bytecode.removeprefix("0x"))).hexdigest()


def _code_hash(chain: Chain, address: str) -> str:
    return "0x" + keccak(bytes(chain.w3.eth.get_code(to_checksum_address(address)))).hex()


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".deployment.", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _constructor_data(abi: list[dict[str, Any]], args: list[Any]) -> bytes:
    ctor = next((item for item in abi if item.get("type") == "constructor"), None)
    if ctor is None:
        return b""
    return abi_encode([i["type"] for i in ctor["inputs"]], args)


def _jsonable_args(args: list[Any]) -> list[Any]:
    return [a if isinstance(a, (int, str)) else str(a) for a in args]


def load_manifest(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise DeploymentMismatch(f"deployment manifest {path} is unreadable: {exc}") from None


def verify(chain: Chain, build: Build, manifest: dict[str, Any], path: Path) -> list[str]:
    """Problems between the manifest, the chain and the build, as readable lines (empty = ok)."""
    problems: list[str] = []
    if int(manifest.get("chain_id", -1)) != chain.chain_id:
        problems.append(f"manifest is for chain id {manifest.get('chain_id')}, the node is chain id {chain.chain_id}")
        return problems
    for name, entry in manifest.get("contracts", {}).items():
        on_chain = _code_hash(chain, entry["address"])
        if on_chain != entry["code_hash"]:
            what = "no code" if on_chain == "0x" + keccak(b"").hex() else "different code"
            problems.append(
                f"{name} at {entry['address']}: {what} on chain (manifest {path.name} expects {entry['code_hash'][:18]}…)"
            )
        elif name in build.artifacts and _creation_hash(build.artifacts[name].bytecode) != entry["creation_hash"]:
            problems.append(f"{name}: the contract source changed since it was deployed at {entry['address']}")
    return problems


def deploy_all(
    chain: Chain,
    build: Build,
    relayer: Relayer,
    data_dir: Path,
    *,
    admin: str | None = None,
    redeploy_changed: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Deployment:
    """Reuse the manifest for this chain, deploying only contracts it lacks.

    Raises :class:`DeploymentMismatch` when the manifest does not match the chain or the build,
    unless ``redeploy_changed`` (then changed contracts are deployed anew and the manifest says so).
    """
    path = manifest_path(data_dir, chain.chain_id)
    manifest = load_manifest(path) or {
        "chain_id": chain.chain_id,
        "compiler_version": build.compiler_version,
        "deployer": relayer.address,
        "contracts": {},
    }
    problems = verify(chain, build, manifest, path)
    if problems and not redeploy_changed:
        raise DeploymentMismatch(
            "deployment does not match: "
            + "; ".join(problems)
            + " — use a fresh --data-dir, or `civic-ledger deploy --redeploy-changed` to deploy the changed contracts anew",
            details={"problems": problems, "manifest": str(path)},
        )
    stale = {line.split(":")[0].split(" at ")[0] for line in problems}
    admin = admin or manifest.get("admin") or relayer.address
    manifest["admin"] = admin
    entries: dict[str, dict[str, Any]] = manifest["contracts"]
    # Plan every deployment first, with the addresses the new ones will get (CREATE addresses
    # follow from the operator's nonces), then send them all at once: on a chain that mines on a
    # timer (QBFT: every 1-5 s) the whole deployment takes a block or two, not one per contract.
    base_nonce = relayer.next_nonce()
    addresses = {n: str(e["address"]) for n, e in entries.items()}
    plan: list[tuple[ContractSpec, list[Any], str]] = []
    for spec in CONTRACTS:
        args = spec.args(addresses, admin)
        recorded = entries.get(spec.name)
        # A contract whose constructor arguments name a contract that is redeployed now is
        # redeployed too (e.g. MVoting after a new CitizenRegistry).
        if recorded is not None and spec.name not in stale and recorded.get("args") == _jsonable_args(args):
            continue
        addresses[spec.name] = get_create_address(relayer.address, Nonce(base_nonce + len(plan)))
        plan.append((spec, args, addresses[spec.name]))
    if plan:
        if progress:
            progress(f"deploying {', '.join(spec.name for spec, _, _ in plan)}")
        sent = relayer.deploy_many(
            [
                (build.artifact(spec.name).bytecode, _constructor_data(build.artifact(spec.name).abi, args))
                for spec, args, _ in plan
            ],
            first_nonce=base_nonce,
        )
        for (spec, args, predicted), wait in zip(plan, sent, strict=True):
            receipt = wait()
            address = to_checksum_address(receipt.raw["contractAddress"])
            if address != predicted:  # pragma: no cover - deploy_many checks the nonces
                raise DeploymentMismatch(f"{spec.name} was deployed at {address}, not at {predicted}")
            artifact = build.artifact(spec.name)
            entries[spec.name] = {
                "address": address,
                "tx": receipt.tx_hash,
                "block": receipt.block_number,
                "gas_used": receipt.gas_used,
                "code_hash": _code_hash(chain, address),
                "creation_hash": _creation_hash(artifact.bytecode),
                "args": _jsonable_args(args),
                "compiler_version": build.compiler_version,
                "abi": artifact.abi,
            }
            manifest["compiler_version"] = build.compiler_version
            # Written after every contract: a crash mid-deploy keeps what was deployed.
            _write_atomic(path, manifest)
    if _add_missing_abis(build, entries):  # a manifest written before ABIs were shipped in it
        _write_atomic(path, manifest)
    return _deployment(chain, build, manifest, path)


def _add_missing_abis(build: Build, entries: dict[str, dict[str, Any]]) -> bool:
    """Record the ABI of every entry that lacks it, when the build is the one that was deployed."""
    changed = False
    for name, entry in entries.items():
        artifact = build.artifacts.get(name)
        if artifact is None or entry.get("abi") == artifact.abi:
            continue
        if _creation_hash(artifact.bytecode) == entry.get("creation_hash"):
            entry["abi"] = artifact.abi
            changed = True
    return changed


def open_deployment(chain: Chain, build: Build, data_dir: Path) -> Deployment:
    """The existing deployment on this chain, checked; raises when there is none or it mismatches."""
    path = manifest_path(data_dir, chain.chain_id)
    manifest = load_manifest(path)
    if manifest is None:
        raise DeploymentMismatch(
            f"no deployment manifest for chain id {chain.chain_id} in {data_dir}: run `civic-ledger deploy`"
        )
    problems = verify(chain, build, manifest, path)
    if problems:
        raise DeploymentMismatch("deployment does not match: " + "; ".join(problems), details={"problems": problems})
    return _deployment(chain, build, manifest, path)


def _deployment(chain: Chain, build: Build, manifest: dict[str, Any], path: Path) -> Deployment:
    contracts = {
        name: chain.w3.eth.contract(address=entry["address"], abi=build.artifact(name).abi)
        for name, entry in manifest["contracts"].items()
        if name in build.artifacts
    }
    return Deployment(
        chain_id=chain.chain_id,
        compiler_version=str(manifest.get("compiler_version", build.compiler_version)),
        manifest_path=path,
        entries=dict(manifest["contracts"]),
        contracts=contracts,
    )
