"""Decode revert data (custom errors, ``Error(string)``, ``Panic(uint256)``) into exceptions.

Each custom error's HTTP status is declared beside the error, in its interface
(``contracts/interfaces/*.sol``), as a NatSpec tag, with the ``@notice`` that becomes the message::

    /// @notice `creator` does not hold POLL_ADMIN_ROLE.
    /// @custom:http 403
    error MVotingNotPollAdmin(address creator);

solc writes the tag into the contract's devdoc and the notice into its userdoc (``errors``
sections, keyed by the error's signature); :class:`ErrorDecoder` reads both from the compiled
artifacts. The statuses: 404 what the request names does not exist; 403 the signer may not do
this (a role, a signature by someone else, an identity that is not eligible); 409 it was done
already, a nonce or version is used or stale, or the current state forbids it now (closed, not
open, suspended, locked, cap or balance exhausted); 422 the request's own values are invalid
(zero, out of range, malformed, expired deadline); 503 the relayer, not the caller, must act.

OpenZeppelin's errors carry no tag we could add, so the few the project's contracts can raise
get theirs from :data:`OPENZEPPELIN_STATUS`, the one table of statuses in the code base.
``tests/test_errors.py`` fails when an error of the build has neither, or a status outside
:data:`ALLOWED_STATUSES`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from civic_ledger.errors import CompileError, ContractError, TransactionFailed

if TYPE_CHECKING:
    from civic_ledger.platform.compiler import Build

#: The statuses an error may declare.
ALLOWED_STATUSES = frozenset({400, 401, 403, 404, 409, 422, 429, 503})

#: Status of an error with no declaration (only contracts outside the build, e.g. a test's own).
UNDECLARED_STATUS = 422

#: OpenZeppelin errors the project's contracts can raise, by signature (they have no ``@custom:http``).
OPENZEPPELIN_STATUS: dict[str, int] = {
    "AccessControlUnauthorizedAccount(address,bytes32)": 403,  # the caller lacks the role
    "AccessControlBadConfirmation()": 403,  # renounceRole for someone else
    "InvalidAccountNonce(address,uint256)": 409,  # Nonces: used or out of order, like every replayed nonce
    "ECDSAInvalidSignature()": 403,
    "ECDSAInvalidSignatureLength(uint256)": 403,
    "ECDSAInvalidSignatureS(bytes32)": 403,
    "ERC2612InvalidSigner(address,address)": 403,
    "ERC2612ExpiredSignature(uint256)": 422,  # like every <Contract>SignatureExpired
    "ERC20InsufficientBalance(address,uint256,uint256)": 409,  # like CivicMileageInsufficientBalance
    "ERC20InsufficientAllowance(address,uint256,uint256)": 409,
    "ERC20InvalidSender(address)": 422,
    "ERC20InvalidReceiver(address)": 422,
    "ERC20InvalidApprover(address)": 422,
    "ERC20InvalidSpender(address)": 422,
    "StringTooLong(string)": 422,  # ShortStrings (EIP712 constructor)
    "InvalidShortString()": 422,
}

HTTP_TAG = "custom:http"

_TESTER_REVERT = re.compile(r"execution reverted: (b(['\"]).*\2)\s*$", re.DOTALL)

_TESTER_HEX_REVERT = re.compile(r"execution reverted: 0x((?:[0-9a-fA-F]{2})+)\s*$")

_PANIC_REASONS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


def _canonical_type(param: dict[str, Any]) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


@dataclass(frozen=True)
class ErrorSpec:
    """One custom error as declared: its ABI inputs, declaring contract, HTTP status and notice."""

    name: str
    signature: str
    contract: str
    inputs: list[dict[str, Any]]
    status: int
    notice: str | None
    declared: bool  # True when the status is a ``@custom:http`` tag or in OPENZEPPELIN_STATUS


def signature_of(item: dict[str, Any]) -> str:
    """``Name(type,…)`` of an ABI error entry: the key of the devdoc / userdoc ``errors`` sections."""
    return f"{item['name']}({','.join(_canonical_type(p) for p in item['inputs'])})"


def _doc(doc: Mapping[str, Any] | None, signature: str, key: str) -> str | None:
    for entry in ((doc or {}).get("errors") or {}).get(signature) or ():
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return None


def _declared_status(contract: str, item: dict[str, Any], devdoc: Mapping[str, Any] | None) -> tuple[int, bool]:
    """``(status, declared)`` of ABI error ``item``: its ``@custom:http`` tag, else the OpenZeppelin table."""
    signature = signature_of(item)
    tag = _doc(devdoc, signature, HTTP_TAG)
    if tag is not None:
        try:
            status = int(tag.split()[0])
        except ValueError:
            status = 0
        if status not in ALLOWED_STATUSES:
            raise CompileError(
                f"{contract}: error {signature} declares `@custom:http {tag}`; use one of {sorted(ALLOWED_STATUSES)}"
            )
        return status, True
    if signature in OPENZEPPELIN_STATUS:
        return OPENZEPPELIN_STATUS[signature], True
    return UNDECLARED_STATUS, False


#: Every error spec any decoder of this process has read, by name: a fact of the sources, the same
#: for every platform built from them (see :func:`status_of`).
_SEEN: dict[str, ErrorSpec] = {}


def status_of(name: str) -> int:
    """The declared status of custom error ``name`` (for exceptions built without a decoder at hand)."""
    spec = _SEEN.get(name)
    return spec.status if spec is not None else UNDECLARED_STATUS


class ErrorDecoder:
    """Knows every custom error of every ABI it was given, by selector, and which contract declares it.

    Several contracts share errors (OpenZeppelin's ``InvalidAccountNonce``, ``ECDSAInvalidSignature``,
    ``AccessControlUnauthorizedAccount`` …), so a selector alone does not say which contract reverted.
    :meth:`decode` takes the ``target`` that was called (its address, once :meth:`bind` has named
    it, or its contract name) and looks in that contract's ABI first; only an error the target does
    not declare (one bubbled up from a contract it called) falls back to the first ABI that has it.
    """

    def __init__(self, abis: Iterable[tuple[str, list[dict[str, Any]]]] = ()) -> None:
        self._errors: dict[bytes, ErrorSpec] = {}
        self._by_contract: dict[str, dict[bytes, ErrorSpec]] = {}
        self._by_name: dict[str, ErrorSpec] = {}
        self._names: dict[str, str] = {}  # lower-case address → contract name
        for contract, abi in abis:
            self.add_abi(contract, abi)

    @classmethod
    def from_build(cls, build: Build) -> ErrorDecoder:
        """A decoder of every artifact of a :class:`~civic_ledger.platform.compiler.Build` (ABI and docs)."""
        decoder = cls()
        for name, art in build.artifacts.items():
            decoder.add_abi(name, art.abi, devdoc=art.devdoc, userdoc=art.userdoc)
        return decoder

    def add_abi(
        self,
        contract: str,
        abi: list[dict[str, Any]],
        *,
        devdoc: Mapping[str, Any] | None = None,
        userdoc: Mapping[str, Any] | None = None,
    ) -> None:
        own = self._by_contract.setdefault(contract, {})
        for item in abi:
            if item.get("type") != "error":
                continue
            signature = signature_of(item)
            status, declared = _declared_status(contract, item, devdoc)
            notice = _doc(userdoc, signature, "notice") or _doc(devdoc, signature, "details")
            spec = ErrorSpec(item["name"], signature, contract, item["inputs"], status, notice, declared)
            selector = function_signature_to_4byte_selector(signature)
            own.setdefault(selector, spec)
            self._errors.setdefault(selector, spec)
            self._by_name.setdefault(spec.name, spec)
            if declared or spec.name not in _SEEN:
                _SEEN[spec.name] = spec

    def specs(self) -> list[ErrorSpec]:
        """Every error known, once per contract that can raise it."""
        return [spec for own in self._by_contract.values() for spec in own.values()]

    def spec(self, name: str) -> ErrorSpec | None:
        return self._by_name.get(name)

    def error(self, name: str, args: dict[str, Any], contract: str | None = None) -> ContractError:
        """The :class:`ContractError` the contract would revert with: for a service's pre-check."""
        own = (s for s in self._by_contract.get(contract or "", {}).values() if s.name == name)
        spec = next(own, None) or self._by_name.get(name)
        if spec is None:
            raise KeyError(f"no compiled contract declares the error {name!r}")
        return ContractError(name, args, contract or spec.contract, status=spec.status, notice=spec.notice)

    def bind(self, address: str, contract: str) -> None:
        """Name the contract deployed at ``address`` (so :meth:`decode` can take the address)."""
        self._names[address.lower()] = contract

    def bind_all(self, addresses: Mapping[str, str]) -> None:
        """Bind ``{contract name: address}`` (a deployment's addresses)."""
        for contract, address in addresses.items():
            self.bind(address, contract)

    def contract_at(self, target: str | None) -> str | None:
        """The contract name for ``target`` (an address or a name), if known."""
        if not target:
            return None
        if target in self._by_contract:
            return target
        return self._names.get(str(target).lower())

    def decode(self, data: bytes | str | None, target: str | None = None) -> ContractError | TransactionFailed:
        """The exception that revert ``data`` stands for; ``target`` is the called address or contract."""
        raw = _to_bytes(data)
        if len(raw) < 4:
            return TransactionFailed("the transaction reverted without a reason")
        selector, body = raw[:4], raw[4:]
        if selector == bytes.fromhex("08c379a0"):
            (reason,) = abi_decode(["string"], body)
            return TransactionFailed(f"the transaction reverted: {reason}", details={"reason": reason})
        if selector == bytes.fromhex("4e487b71"):
            (code,) = abi_decode(["uint256"], body)
            text = _PANIC_REASONS.get(code, f"panic 0x{code:x}")
            return TransactionFailed(f"the contract panicked: {text}", details={"panic": code})
        called = self.contract_at(target)
        known = self._by_contract.get(called, {}).get(selector) if called else None
        if known is None:
            known = self._errors.get(selector)
        if known is None:
            return TransactionFailed(
                f"the transaction reverted with unknown error 0x{raw[:4].hex()}", details={"data": "0x" + raw.hex()}
            )
        inputs = known.inputs
        try:
            values = abi_decode([_canonical_type(p) for p in inputs], body)
        except Exception:  # noqa: BLE001 - malformed data: still name the error
            values = ()
        args = {
            p["name"] or f"arg{i}": _clean(v, p["type"]) for i, (p, v) in enumerate(zip(inputs, values, strict=False))
        }
        return ContractError(known.name, args, known.contract, status=known.status, notice=known.notice)


def _clean(value: Any, kind: str) -> Any:
    if kind == "address":
        return to_checksum_address(value)
    if isinstance(value, tuple):
        return [_clean(v, "") for v in value]
    return value


def _to_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    text = data[2:] if data.startswith("0x") else data
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


def revert_data_of(exc: BaseException) -> bytes | None:
    """Revert data carried by a web3 / eth-tester exception, when it has any."""
    for attr in ("data",):
        value = getattr(exc, attr, None)
        if isinstance(value, (bytes, str)) and value:
            raw = _to_bytes(value)
            if raw:
                return raw
        if isinstance(value, dict) and isinstance(value.get("data"), str):
            return _to_bytes(value["data"])
    # web3's eth-tester provider re-raises reverts as "execution reverted: b'...'" (a bytes repr).
    hex_match = _TESTER_HEX_REVERT.search(str(exc))
    if hex_match:
        return bytes.fromhex(hex_match.group(1))
    match = _TESTER_REVERT.search(str(exc))
    if match:
        try:
            value = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, bytes) and value:
            return value
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, dict) and isinstance(arg.get("data"), str):
            return _to_bytes(arg["data"])
        if isinstance(arg, (bytes, bytearray)) and len(arg) >= 4:
            return bytes(arg)
    return None
