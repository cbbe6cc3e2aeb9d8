"""Where a chain-only verifier takes its contracts from: never from the thing it verifies.

A verifier (labour evidence, credentials, recount, audit) that took the contract address or the
ABI from the document it checks could be fooled by a look-alike contract emitting the same
events. :class:`TrustedDeployment` is the one place every verifier gets addresses, deploy blocks
and ABIs from:

- :meth:`TrustedDeployment.from_manifest`: a deployment manifest the verifier trusts
  (``deployment-<chainId>.json``, written by :mod:`civic_ledger.platform.deploy`), checked
  against the node: the node's chain id must be the manifest's, and every address must hold the
  code the manifest records (no code, or other code, is refused);
- :meth:`TrustedDeployment.from_platform`: the running server's deployment (checked at start).

ABIs come from the trusted manifest itself (deploy writes each contract's ABI into it), so a
chain-only command needs neither a build directory nor the compiler; a manifest written before
ABIs were recorded falls back to the project's compiled build, checked to be the deployed one.
An address or ABI inside a document is at most compared with these
(:meth:`TrustedDeployment.compare_address`): a difference is a failed check.
:meth:`TrustedDeployment.describe` is what every verifier's output says it checked against.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import is_address, keccak, to_checksum_address
from pydantic import BaseModel, Field
from web3 import HTTPProvider, Web3
from web3.contract import Contract

from civic_ledger.errors import ConfigError, DeploymentMismatch
from civic_ledger.platform.chain import lean_web3
from civic_ledger.platform.compiler import Build
from civic_ledger.platform.deploy import manifest_path

#: What ``manifest`` says when the verifier used the running server's deployment.
SERVER_DEPLOYMENT = "server deployment"

#: Help text of every chain-only command's ``--manifest`` option.
MANIFEST_HELP = (
    "Deployment manifest you trust (deployment-<chainId>.json): contract addresses, deploy blocks, code hashes. "
    "Default: the one for the node's chain id in the data directory (CIVIC_DATA_DIR)."
)
RPC_HELP = "JSON-RPC URL of any node of the chain (your own, for trust that does not depend on the city's server)."

_EMPTY_CODE_HASH = "0x" + keccak(b"").hex()


class DeploymentRef(BaseModel):
    """Which deployment a verifier checked against (part of every verifier's output)."""

    chain_id: int
    manifest: str = Field(description='Path of the trusted manifest, or "server deployment".')
    manifest_sha256: str = Field(description="SHA-256 of the manifest file's bytes (compare with `sha256sum`).")
    contracts: dict[str, str] = Field(description="The contracts this check read, by name: address.")


@dataclass(frozen=True)
class TrustedDeployment:
    """Contract addresses, deploy blocks and ABIs a verifier may rely on, with the node to read."""

    w3: Web3
    chain_id: int
    manifest: str  # the manifest's path, or SERVER_DEPLOYMENT
    manifest_sha256: str
    entries: dict[str, dict[str, Any]]
    build: Build | None  # None: compiled only if an entry has no ABI of its own

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_platform(cls, platform: Any) -> TrustedDeployment:
        """The running server's deployment (verified against the chain when the server started)."""
        d = platform.deployment
        return cls(
            w3=platform.chain.w3,
            chain_id=int(platform.chain.chain_id),
            manifest=SERVER_DEPLOYMENT,
            manifest_sha256=_file_sha256(Path(d.manifest_path)),
            entries=dict(d.entries),
            build=platform.build,
        )

    @classmethod
    def from_manifest(cls, w3: Web3, path: Path, *, build: Build | None = None) -> TrustedDeployment:
        """A manifest file the verifier trusts, checked against the node behind ``w3``.

        Raises :class:`ConfigError` when the file is unreadable or is for another chain, and
        :class:`DeploymentMismatch` when an address holds no code or other code than recorded."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"deployment manifest {path} can not be read: {exc.strerror}") from None
        try:
            manifest = json.loads(raw)
            entries = {str(k): dict(v) for k, v in manifest["contracts"].items()}
            declared = int(manifest["chain_id"])
            for name, entry in entries.items():
                if not is_address(str(entry.get("address"))):
                    raise ValueError(f"{name} has no address")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"deployment manifest {path} is not a civic-ledger manifest ({exc})") from None
        chain_id = node_chain_id(w3)
        if declared != chain_id:
            raise ConfigError(f"deployment manifest {path} is for chain id {declared}, the node is chain id {chain_id}")
        problems = []
        for name, entry in entries.items():
            address = to_checksum_address(entry["address"])
            on_chain = "0x" + keccak(bytes(w3.eth.get_code(address))).hex()
            if on_chain == _EMPTY_CODE_HASH:
                problems.append(f"{name}: no code at {address} on chain id {chain_id}")
            elif entry.get("code_hash") and on_chain != str(entry["code_hash"]).lower():
                problems.append(f"{name}: the code at {address} is not the code the manifest records")
        if problems:
            raise DeploymentMismatch(
                f"the node does not hold the deployment of manifest {path}: " + "; ".join(problems),
                details={"manifest": str(path), "problems": problems},
            )
        return cls(
            w3=w3,
            chain_id=chain_id,
            manifest=str(path),
            manifest_sha256=hashlib.sha256(raw).hexdigest(),
            entries=entries,
            build=build,
        )

    # -- what verifiers read --------------------------------------------------------------------

    def has(self, name: str) -> bool:
        return name in self.entries

    def address(self, name: str) -> str:
        try:
            return to_checksum_address(self.entries[name]["address"])
        except KeyError:
            raise ConfigError(f"the trusted deployment ({self.manifest}) has no {name}") from None

    def deploy_block(self, name: str) -> int:
        self.address(name)
        return int(self.entries[name].get("block") or 0)

    def abi(self, name: str) -> list[dict[str, Any]]:
        """The ABI of ``name``: the manifest's own, else the compiled one (refused when the build is
        not the one that was deployed)."""
        recorded_abi = self.entries.get(name, {}).get("abi")
        if isinstance(recorded_abi, list):
            return list(recorded_abi)
        build = self.build if self.build is not None else _compiled()
        artifact = build.artifact(name)
        recorded = self.entries.get(name, {}).get("creation_hash")
        compiled = "0x" + hashlib.sha256(bytes.fromhex(artifact.bytecode.removeprefix("0x"))).hexdigest()
        if recorded and recorded != compiled:
            raise DeploymentMismatch(
                f"the compiled {name} is not the one deployed at {self.address(name)} ({self.manifest}): "
                "verify with the build of the release that deployed it"
            )
        return list(artifact.abi)

    def contract(self, name: str) -> Contract:
        return self.w3.eth.contract(address=self.address(name), abi=self.abi(name))  # type: ignore[call-overload, no-any-return]

    def describe(self, *names: str) -> DeploymentRef:
        """The deployment and the addresses of ``names`` (every contract when none is named)."""
        return DeploymentRef(
            chain_id=self.chain_id,
            manifest=self.manifest,
            manifest_sha256=self.manifest_sha256,
            contracts={n: self.address(n) for n in (names or tuple(self.entries))},
        )

    def label(self, name: str) -> str:
        """One line for reports: ``LaborRecords 0x… on chain id N (manifest PATH, sha256 …)``."""
        where = "the server's deployment" if self.manifest == SERVER_DEPLOYMENT else f"manifest {self.manifest}"
        return f"{name} {self.address(name)} on chain id {self.chain_id} ({where}, sha256 {self.manifest_sha256[:16]}…)"

    def compare_address(self, name: str, claimed: Any, what: str = "the document") -> str | None:
        """A problem line when ``claimed`` is not the trusted address of ``name`` (None when equal)."""
        trusted = self.address(name)
        if isinstance(claimed, str) and is_address(claimed) and to_checksum_address(claimed) == trusted:
            return None
        return f"{what} names {name} at {str(claimed)[:66]!r}, the trusted deployment has it at {trusted}"


def node(rpc_url: str, *, timeout: float = 60) -> Web3:
    """A ``Web3`` on an HTTP JSON-RPC node; an unreachable node is one clear ConfigError."""
    if not str(rpc_url).startswith(("http://", "https://")):
        raise ConfigError(f"--rpc-url must be a node's JSON-RPC URL (http://host:port), got {rpc_url!r}")
    w3 = lean_web3(Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout})))
    node_chain_id(w3, rpc_url)
    return w3


def node_chain_id(w3: Web3, where: str | None = None) -> int:
    try:
        return int(w3.eth.chain_id)
    except Exception as exc:  # noqa: BLE001 - refused, DNS, TLS, not JSON-RPC...
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ConfigError(f"cannot reach the Ethereum node{' at ' + where if where else ''}: {text}") from None


def default_manifest(w3: Web3, data_dir: Path) -> Path:
    """The manifest for the node's chain id in ``data_dir``, or a ConfigError asking for --manifest."""
    chain_id = node_chain_id(w3)
    path = manifest_path(Path(data_dir), chain_id)
    if not path.is_file():
        raise ConfigError(
            f"no deployment manifest for chain id {chain_id} in {data_dir}: give --manifest PATH "
            "(a deployment-<chainId>.json you trust, e.g. published by the city and checked by you)"
        )
    return path


def trusted_from_node(
    rpc_url: str | Web3, manifest: Path | None, data_dir: Path, *, build: Build | None = None
) -> TrustedDeployment:
    """What the chain-only commands use: ``--rpc-url`` plus ``--manifest`` (or the data dir's)."""
    w3 = rpc_url if isinstance(rpc_url, Web3) else node(rpc_url)
    return TrustedDeployment.from_manifest(w3, manifest or default_manifest(w3, data_dir), build=build)


@functools.lru_cache(maxsize=1)
def _compiled() -> Build:
    from civic_ledger.config import Settings
    from civic_ledger.platform.compiler import compile_contracts

    return compile_contracts(Settings().build_dir)


def _file_sha256(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return ""
    return _sha256_of(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=16)
def _sha256_of(path: str, _mtime_ns: int, _size: int) -> str:
    """SHA-256 of a manifest file, cached while it is unchanged (few manifests: a bounded cache)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
