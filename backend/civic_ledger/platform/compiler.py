"""Compile the Solidity sources with a pinned solc, through py-solc-x.

py-solc-x is the Python interface. Behind it runs either a native ``solc`` of the pinned
version found on PATH, or the npm ``solc`` package (the same compiler as WebAssembly) through
``solc_npm.js``, an executable that answers ``--version`` and ``--standard-json``.

Artifacts are cached under the build directory, keyed by a SHA-256 of every source (ours and
the OpenZeppelin files they import), the compiler version and the settings: a build is redone
only when one of those changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from civic_ledger.errors import CompileError

SOLC_VERSION = "0.8.28"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200

PACKAGE_DIR = Path(__file__).resolve().parent
SHIM = PACKAGE_DIR / "solc_npm.js"
PROJECT_ROOT = PACKAGE_DIR.parents[2]
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
NODE_MODULES = PROJECT_ROOT / "node_modules"

_IMPORT_RE = re.compile(r'^\s*import\s+(?:[^"\']*from\s+)?["\']([^"\']+)["\']', re.MULTILINE)


@dataclass(frozen=True)
class Artifact:
    """What the platform needs of one compiled contract."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    #: solc's developer and user documentation; their ``errors`` sections, keyed by error signature,
    #: hold each custom error's ``custom:http`` status and ``notice`` (read by ``revert.ErrorDecoder``).
    devdoc: dict[str, Any] = field(default_factory=dict)
    userdoc: dict[str, Any] = field(default_factory=dict)

    @property
    def runtime_code_hash(self) -> str:
        return "0x" + hashlib.sha256(bytes.fromhex(self.deployed_bytecode)).hexdigest()


@dataclass(frozen=True)
class Build:
    compiler_version: str
    settings: dict[str, Any]
    source_hashes: dict[str, str]
    build_hash: str
    artifacts: dict[str, Artifact]

    def artifact(self, name: str) -> Artifact:
        try:
            return self.artifacts[name]
        except KeyError:
            raise CompileError(f"no compiled contract named {name!r}") from None

    def all_abis(self) -> list[list[dict[str, Any]]]:
        return [a.abi for a in self.artifacts.values()]


def compiler_settings() -> dict[str, Any]:
    return {
        "evmVersion": EVM_VERSION,
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "viaIR": False,
        # Metadata hash off: the bytecode then depends only on the sources and the settings,
        # so two clean builds are byte-identical wherever the checkout lives.
        "metadata": {"bytecodeHash": "none", "appendCBOR": False},
        # devdoc/userdoc carry each custom error's `@custom:http` status and `@notice` (see revert.py).
        "outputSelection": {
            "*": {"*": ["abi", "devdoc", "userdoc", "evm.bytecode.object", "evm.deployedBytecode.object"]}
        },
    }


def solc_binary() -> Path:
    """A native solc of the pinned version on PATH, else the npm compiler shim."""
    native = shutil.which("solc")
    if native:
        try:
            out = subprocess.run([native, "--version"], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        if f"{SOLC_VERSION}+commit" in out:
            return Path(native)
    if not (NODE_MODULES / "solc").is_dir():
        raise CompileError("the npm compiler is not installed: run `npm ci` in the project root")
    return SHIM


def _resolve(unit: str) -> Path:
    for root in (PROJECT_ROOT, NODE_MODULES):
        candidate = root / unit
        if candidate.is_file():
            return candidate
    raise CompileError(f"import not found: {unit}")


def _normalise(unit: str, importer: str) -> str:
    if unit.startswith("."):
        return os.path.normpath(os.path.join(os.path.dirname(importer), unit)).replace(os.sep, "/")
    return unit


def collect_sources(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, str]:
    """Every source unit reachable from contracts/, by its source unit name, with its text."""
    pending = [p.relative_to(contracts_dir.parent).as_posix() for p in sorted(contracts_dir.rglob("*.sol"))]
    root = contracts_dir.parent
    sources: dict[str, str] = {}
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        path = root / unit if (root / unit).is_file() else _resolve(unit)
        text = path.read_text(encoding="utf-8")
        sources[unit] = text
        pending.extend(_normalise(dep, unit) for dep in _IMPORT_RE.findall(text))
    return dict(sorted(sources.items()))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _load_cached(path: Path, build_hash: str) -> Build | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("build_hash") != build_hash:
        return None
    return _build_from_json(data)


def _build_from_json(data: dict[str, Any]) -> Build:
    """The build whose ``dataclasses.asdict`` the cache file holds."""
    return Build(**{**data, "artifacts": {name: Artifact(**a) for name, a in data["artifacts"].items()}})


def _format_errors(errors: list[dict[str, Any]]) -> str:
    return "\n".join(e.get("formattedMessage", e.get("message", "")).rstrip() for e in errors)


def compile_contracts(
    build_dir: Path,
    contracts_dir: Path = CONTRACTS_DIR,
    *,
    force: bool = False,
) -> Build:
    """Compile every contract under ``contracts_dir``, reusing ``build_dir`` when up to date."""
    sources = collect_sources(contracts_dir)
    settings = compiler_settings()
    source_hashes = {unit: _sha256(text) for unit, text in sources.items()}
    build_hash = _sha256(
        json.dumps({"solc": SOLC_VERSION, "settings": settings, "sources": source_hashes}, sort_keys=True)
    )
    cache_file = build_dir / "contracts.json"
    if not force:
        cached = _load_cached(cache_file, build_hash)
        if cached is not None:
            return cached

    standard_input = {
        "language": "Solidity",
        "sources": {unit: {"content": text} for unit, text in sources.items()},
        "settings": settings,
    }
    binary = solc_binary()
    try:
        output = solcx.compile_standard(standard_input, solc_binary=binary)
    except SolcError as exc:
        errors = exc.error_dict if isinstance(exc.error_dict, list) else (exc.error_dict or {}).get("errors", [])
        details = [e for e in errors if isinstance(e, dict) and e.get("severity") == "error"]
        raise CompileError(_format_errors(details) if details else exc.message) from None
    except (OSError, ValueError) as exc:
        raise CompileError(f"the Solidity compiler failed to run: {exc}") from None

    version = solcx.wrapper.get_solc_version(binary, with_commit_hash=True)
    artifacts: dict[str, Artifact] = {}
    project_units = {u for u in sources if u.startswith(contracts_dir.name + "/")}
    for unit, contracts in output.get("contracts", {}).items():
        if unit not in project_units:
            continue
        for name, out in contracts.items():
            if name in artifacts:
                raise CompileError(f"two contracts are named {name!r}: names must be unique")
            artifacts[name] = Artifact(
                name=name,
                source=unit,
                abi=out["abi"],
                bytecode=out["evm"]["bytecode"]["object"],
                deployed_bytecode=out["evm"]["deployedBytecode"]["object"],
                devdoc=out.get("devdoc") or {},
                userdoc=out.get("userdoc") or {},
            )
    build = Build(
        compiler_version=str(version),
        settings=settings,
        source_hashes=source_hashes,
        build_hash=build_hash,
        artifacts=dict(sorted(artifacts.items())),
    )
    build_dir.mkdir(parents=True, exist_ok=True)
    # Write-then-rename: a crash mid-write never leaves a truncated cache behind.
    fd, tmp = tempfile.mkstemp(dir=build_dir, prefix=".contracts.", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(build), fh, sort_keys=True)
    os.replace(tmp, cache_file)
    return build


def main(argv: list[str] | None = None) -> int:
    """`python -m civic_ledger.platform.compiler [BUILD_DIR]`: compile and list the contracts."""
    args = sys.argv[1:] if argv is None else argv
    build_dir = Path(args[0]) if args else PROJECT_ROOT / "build"
    try:
        build = compile_contracts(build_dir)
    except CompileError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    for name, art in build.artifacts.items():
        print(f"{name:32} {len(art.deployed_bytecode) // 2:6d} bytes  {art.source}")
    print(f"solc {build.compiler_version}, build {build.build_hash[:12]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
