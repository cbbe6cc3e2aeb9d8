"""The contract tests' chain and helpers: the compiled contracts on an in-process py-evm chain, called with
web3 from test accounts.

No service code and no HTTP: a failure here is a contract failure. The build is the one the platform
deploys (``compile_contracts``, cached in ``build/``; ``CIVIC_CONTRACTS_REF=HEAD`` tests a git revision
instead, in a build directory of its own). The chain is eth-tester's py-evm backend in memory (the engine
of the embedded chain, without its SQLite store), so a test returns to the deployment block with
``take_snapshot``/``revert_to_snapshot`` (~10 ms).

- :func:`make_env` (the session fixture ``env`` of ``conftest.py``): every contract deployed once, in the
  order and with the constructor arguments of ``platform.deploy.CONTRACTS`` (:data:`DEPLOY`), admin
  ``env.admin``; REGISTRAR_ROLE granted to ``env.registrar``. ``conftest.py`` reverts the chain after
  every test.
- ``env.send`` / ``env.reverts`` / ``env.events``: assert the decoded custom error and its arguments, and
  every event of a receipt with all its arguments; ``env.sign`` signs EIP-712 messages with eth-account.
- The typed-data definitions are written here from the contracts' own type strings (each module checks
  them against the contract's ``*_TYPEHASH``), not taken from the backend.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester, PyEVMBackend
from eth_utils import event_abi_to_log_topic, function_signature_to_4byte_selector, keccak, to_checksum_address
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.datastructures import AttributeDict

from civic_ledger.platform.compiler import PROJECT_ROOT, Build, compile_contracts
from civic_ledger.platform.deploy import CONTRACTS
from civic_ledger.platform.revert import revert_data_of, signature_of

BUILD_DIR = PROJECT_ROOT / "build"
#: Test the contracts of a git revision instead of the working tree (e.g. ``HEAD`` while a contract is mid-edit).
SOURCES_REF = os.environ.get("CIVIC_CONTRACTS_REF")
N_ACCOUNTS = 24
ZERO = "0x" + "00" * 20
ZERO32 = b"\x00" * 32


def role(name: str) -> bytes:
    """OpenZeppelin role id: keccak256 of the name (DEFAULT_ADMIN_ROLE is 0)."""
    return ZERO32 if name == "DEFAULT_ADMIN_ROLE" else keccak(text=name)


def h(text: str) -> bytes:
    """A non-zero bytes32 for tests: keccak256 of ``text``."""
    return keccak(text=text)


class Reverted(AssertionError):
    """A call that was expected to succeed reverted (carries the decoded error)."""


def _plain(value: Any) -> Any:
    if isinstance(value, AttributeDict | dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    return value


@dataclass(repr=False)
class Env:
    w3: Web3
    tester: EthereumTester
    build: Build
    keys: list[LocalAccount]
    contracts: dict[str, Contract] = field(default_factory=dict)
    _errors: dict[str, dict[bytes, tuple[str, list[str]]]] = field(default_factory=dict)
    _events: dict[str, dict[bytes, str]] = field(default_factory=dict)

    # -- accounts ----------------------------------------------------------------------------------
    @property
    def admin(self) -> LocalAccount:
        return self.keys[0]

    @property
    def registrar(self) -> LocalAccount:
        return self.keys[1]

    def account(self, i: int) -> LocalAccount:
        """Test account ``i`` (0 admin, 1 registrar; 2.. free for each test's parts)."""
        return self.keys[i]

    def __getitem__(self, name: str) -> Contract:
        return self.contracts[name]

    # -- time --------------------------------------------------------------------------------------
    def now(self) -> int:
        """Timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def next_timestamp(self, ts: int) -> None:
        """The next transaction (and estimate/revert check) executes at block timestamp ``ts``."""
        self.tester.time_travel(ts)

    # -- calls -------------------------------------------------------------------------------------
    def send(self, fn: Any, sender: LocalAccount | str) -> Any:
        """Transact ``fn`` from ``sender``; the receipt (fails the test with the decoded error on a revert)."""
        frm = sender if isinstance(sender, str) else sender.address
        try:
            fn.call({"from": frm}, block_identifier="pending")
        except Exception as exc:
            raise Reverted(f"{fn.fn_name} reverted: {self.decode(fn.address, exc)}") from exc
        tx = fn.transact({"from": frm, "gas": 8_000_000})
        receipt = self.w3.eth.get_transaction_receipt(tx)
        assert receipt["status"] == 1
        return receipt

    def reverts(self, fn: Any, sender: LocalAccount | str) -> tuple[Any, ...]:
        """``(ErrorName, arg, …)`` that ``fn`` sent by ``sender`` reverts with, decoded from an ``eth_call`` on
        the pending block; the transaction is then sent (explicit gas) and checked to fail and leave no log.

        (Not from ``eth_estimateGas``: eth-tester reads a custom error whose first word is 32 as an
        ``Error(string)`` there and drops its selector.)"""
        frm = sender if isinstance(sender, str) else sender.address
        try:
            fn.call({"from": frm}, block_identifier="pending")
        except Exception as exc:
            decoded = self.decode(fn.address, exc)
        else:  # pragma: no cover - the point of the assertion
            raise AssertionError(f"{fn.fn_name} did not revert")
        tx = fn.transact({"from": frm, "gas": 8_000_000})
        receipt = self.w3.eth.get_transaction_receipt(tx)
        assert receipt["status"] == 0 and not receipt["logs"]
        return decoded

    def call_reverts(self, fn: Any) -> tuple[Any, ...]:
        """``(ErrorName, arg, …)`` that the view ``fn`` reverts with."""
        try:
            fn.call()
        except Exception as exc:
            return self.decode(fn.address, exc)
        raise AssertionError(f"{fn.fn_name} did not revert")

    def deploy_reverts(self, name: str, *args: Any) -> tuple[Any, ...]:
        """``(ErrorName, arg, …)`` that deploying contract ``name`` with ``args`` reverts with."""
        artifact = self.build.artifact(name)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        data = factory.constructor(*args).data_in_transaction
        try:
            self.w3.eth.call({"from": self.admin.address, "data": data}, "pending")
        except Exception as exc:
            return self.decode(name, exc)
        raise AssertionError(f"deploying {name} did not revert")

    def decode(self, target: str, exc: BaseException) -> tuple[Any, ...]:
        """The revert of ``exc`` decoded with the ABI of ``target`` (an address or a contract name) first."""
        data = revert_data_of(exc)
        if not data:
            return ("<no revert data>", str(exc))
        name = target if target in self.contracts else self._name_at(target)
        selector, body = data[:4], data[4:]
        if selector == bytes.fromhex("4e487b71"):
            return ("Panic", abi_decode(["uint256"], body)[0])
        if selector == bytes.fromhex("08c379a0"):
            return ("Error", abi_decode(["string"], body)[0])
        known = self._errors[name].get(selector) or next(
            (e[selector] for e in self._errors.values() if selector in e), None
        )
        if known is None:
            return ("<unknown error>", "0x" + data.hex())
        error_name, types = known
        values = abi_decode(types, body)
        return (
            error_name,
            *(_plain(to_checksum_address(v) if t == "address" else v) for t, v in zip(types, values, strict=True)),
        )

    def _name_at(self, address: str) -> str:
        return next(n for n, c in self.contracts.items() if c.address == to_checksum_address(address))

    def events(self, receipt: Any) -> list[tuple[Any, ...]]:
        """Every log of ``receipt``, in order, as ``(EventName, {arg: value})``; a log of another contract
        than the one called is named ``Contract.Event`` (e.g. ``CivicWon.Transfer`` during a settlement)."""
        out: list[tuple[Any, ...]] = []
        called = self._name_at(receipt["to"])
        for log in receipt["logs"]:
            name = self._name_at(log["address"])
            event = self._events[name][bytes(log["topics"][0])]
            decoded = getattr(self.contracts[name].events, event)().process_log(log)
            out.append((event if name == called else f"{name}.{event}", _plain(decoded["args"])))
        return out

    def emitted(self, fn: Any, sender: LocalAccount | str) -> list[tuple[Any, ...]]:
        """Send ``fn`` and return its events (see :meth:`events`)."""
        return self.events(self.send(fn, sender))

    # -- EIP-712 -----------------------------------------------------------------------------------
    def sign(
        self,
        signer: LocalAccount,
        contract: str,
        primary: str,
        fields: list[tuple[str, str]],
        message: dict[str, Any],
        *,
        extra_types: dict[str, list[tuple[str, str]]] | None = None,
        domain: dict[str, Any] | None = None,
    ) -> bytes:
        """``signer``'s EIP-712 signature of ``message`` of type ``primary`` for ``contract`` (its domain:
        name = the contract's EIP712 name, version "1", this chain, its address)."""
        types = {primary: [{"name": n, "type": t} for t, n in fields]}
        for other, other_fields in (extra_types or {}).items():
            types[other] = [{"name": n, "type": t} for t, n in other_fields]
        dom = {
            "name": DOMAIN_NAMES[contract],
            "version": "1",
            "chainId": self.w3.eth.chain_id,
            "verifyingContract": self.contracts[contract].address,
        }
        dom.update(domain or {})
        signed = Account.sign_typed_data(signer.key, dom, types, message)
        return bytes(signed.signature)


#: EIP-712 domain names (each contract's ``EIP712(name, "1")`` constructor argument).
DOMAIN_NAMES = {
    "CitizenRegistry": "CitizenRegistry",
    "MVoting": "MVoting",
    "CredentialRegistry": "CredentialRegistry",
    "LaborRecords": "LaborRecords",
    "CivicMileage": "CivicMileage",
    "CivicWon": "CivicWon",
    "SubcontractPayments": "SubcontractPayments",
    "VehicleHistory": "VehicleHistory",
}


def fields(spec: str) -> list[tuple[str, str]]:
    """``"uint256 a,address b"`` → ``[("uint256", "a"), ("address", "b")]`` (the contract's type string)."""
    return [tuple(part.split()) for part in spec.split(",")]  # type: ignore[misc]


#: The contracts under test, in deployment order, with their constructor arguments: the platform's own list.
DEPLOY: list[tuple[str, Any]] = [(spec.name, spec.args) for spec in CONTRACTS]


def _index(env: Env, name: str, abi: list[dict[str, Any]]) -> None:
    env._errors[name] = {
        function_signature_to_4byte_selector(signature_of(item)): (
            item["name"],
            [signature_of({"name": "", "inputs": [p]})[1:-1] for p in item["inputs"]],
        )
        for item in abi
        if item["type"] == "error"
    }
    env._events[name] = {event_abi_to_log_topic(item): item["name"] for item in abi if item["type"] == "event"}


def _compile() -> Build:
    """The build of contracts/ (working tree), or of ``$CIVIC_CONTRACTS_REF`` in a build directory of its own."""
    if not SOURCES_REF:
        return compile_contracts(BUILD_DIR)
    root = Path(tempfile.gettempdir()) / f"civic-contract-tests-{os.getuid()}"
    sources = root / "src"
    archive = subprocess.run(
        ["git", "archive", SOURCES_REF, "contracts"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout
    if sources.exists():
        subprocess.run(["rm", "-rf", str(sources)], check=True)
    sources.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(sources, filter="data")
    return compile_contracts(root / "build", sources / "contracts")


def make_env() -> Env:
    """Compile, start a chain, deploy every contract and grant REGISTRAR_ROLE to ``env.registrar``."""
    build = _compile()
    tester = EthereumTester(PyEVMBackend(genesis_state=PyEVMBackend.generate_genesis_state(num_accounts=N_ACCOUNTS)))
    w3 = Web3(EthereumTesterProvider(tester))
    keys = [Account.from_key(k.to_bytes()) for k in tester.backend.account_keys]
    env = Env(w3=w3, tester=tester, build=build, keys=keys)
    addresses: dict[str, str] = {}
    for name, args in DEPLOY:
        artifact = build.artifact(name)
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = factory.constructor(*args(addresses, env.admin.address)).transact({"from": env.admin.address})
        address = w3.eth.get_transaction_receipt(tx)["contractAddress"]
        addresses[name] = address
        env.contracts[name] = w3.eth.contract(address=address, abi=artifact.abi)
        _index(env, name, artifact.abi)
    registry = env["CitizenRegistry"]
    env.send(registry.functions.grantRole(role("REGISTRAR_ROLE"), env.registrar.address), env.admin)
    return env


# -- citizens (every area but the notary and the token needs some) ---------------------------------------

REGISTER_CITIZEN = fields(
    "address account,uint8 district,uint16 birthYear,uint8 residency,bytes32 recordHash,address registrar,"
    "uint256 nonce,uint256 deadline"
)


def register_citizen(
    env: Env, account: LocalAccount | str, *, district: int = 1, birth_year: int = 1990, residency: int = 1
) -> int:
    """Register ``account`` as a citizen (signed by ``env.registrar``, relayed by the admin); its id."""
    address = account if isinstance(account, str) else account.address
    registry = env["CitizenRegistry"]
    registrar = env.registrar
    nonce = registry.functions.nonces(registrar.address).call()
    message = {
        "account": address,
        "district": district,
        "birthYear": birth_year,
        "residency": residency,
        "recordHash": keccak(text=f"record:{address}"),
        "registrar": registrar.address,
        "nonce": nonce,
        "deadline": env.now() + 3600,
    }
    sig = env.sign(registrar, "CitizenRegistry", "RegisterCitizen", REGISTER_CITIZEN, message)
    env.send(registry.functions.registerCitizen(*message.values(), sig), env.admin)
    return int(registry.functions.citizenIdOf(address).call())


CITIZEN_TYPES = {
    "RegisterCitizen": REGISTER_CITIZEN,
    "UpdateCitizen": fields(
        "uint256 citizenId,uint8 district,uint16 birthYear,uint8 residency,bytes32 recordHash,address registrar,"
        "uint256 nonce,uint256 deadline"
    ),
    "SuspendCitizen": fields("uint256 citizenId,uint8 reason,address registrar,uint256 nonce,uint256 deadline"),
    "ReinstateCitizen": fields("uint256 citizenId,address registrar,uint256 nonce,uint256 deadline"),
    "RecoverKey": fields("uint256 citizenId,address newAccount,address registrar,uint256 nonce,uint256 deadline"),
    "RotateKey": fields("address oldAccount,address newAccount,uint256 nonce,uint256 deadline"),
}
CITIZEN_FUNCTIONS = {
    "RegisterCitizen": "registerCitizen",
    "UpdateCitizen": "updateCitizen",
    "SuspendCitizen": "suspendCitizen",
    "ReinstateCitizen": "reinstateCitizen",
    "RecoverKey": "recoverKey",
}


def citizen_action(
    env: Env,
    primary: str,
    *,
    signer: LocalAccount | None = None,
    registrar: str | None = None,
    nonce: int | None = None,
    deadline: int | None = None,
    **values: Any,
) -> Any:
    """The registrar action ``primary`` with ``values``, signed by ``signer`` (default: the registrar)."""
    registry = env["CitizenRegistry"]
    signer = signer or env.registrar
    registrar = registrar or env.registrar.address
    message = {
        **values,
        "registrar": registrar,
        "nonce": registry.functions.nonces(registrar).call() if nonce is None else nonce,
        "deadline": env.now() + 3600 if deadline is None else deadline,
    }
    message = {name: message[name] for _, name in CITIZEN_TYPES[primary]}
    sig = env.sign(signer, "CitizenRegistry", primary, CITIZEN_TYPES[primary], message)
    return getattr(registry.functions, CITIZEN_FUNCTIONS[primary])(*message.values(), sig)


def rotate_key(
    env: Env, old: LocalAccount, new: LocalAccount, *, nonce: int = 0, deadline: int | None = None, **sigs: Any
) -> Any:
    deadline = env.now() + 3600 if deadline is None else deadline
    message = {"oldAccount": old.address, "newAccount": new.address, "nonce": nonce, "deadline": deadline}
    old_sig = sigs.get("old_sig") or env.sign(old, "CitizenRegistry", "RotateKey", CITIZEN_TYPES["RotateKey"], message)
    new_sig = sigs.get("new_sig") or env.sign(new, "CitizenRegistry", "RotateKey", CITIZEN_TYPES["RotateKey"], message)
    return env["CitizenRegistry"].functions.rotateKey(old.address, new.address, nonce, deadline, old_sig, new_sig)
