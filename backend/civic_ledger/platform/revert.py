"""Decode revert data (custom errors, ``Error(string)``, ``Panic(uint256)``) into exceptions."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from civic_ledger.errors import ContractError, TransactionFailed

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


class ErrorDecoder:
    """Knows every custom error of every ABI it was given, by selector, and which contract declares it.

    Several contracts share errors (OpenZeppelin's ``InvalidAccountNonce``, ``ECDSAInvalidSignature``,
    ``AccessControlUnauthorizedAccount`` …), so a selector alone does not say which contract reverted.
    :meth:`decode` takes the ``target`` that was called (its address, once :meth:`bind` has named
    it, or its contract name) and looks in that contract's ABI first; only an error the target does
    not declare (one bubbled up from a contract it called) falls back to the first ABI that has it.
    """

    def __init__(self, abis: Iterable[tuple[str, list[dict[str, Any]]]] = ()) -> None:
        self._errors: dict[bytes, tuple[str, list[dict[str, Any]], str]] = {}
        self._by_contract: dict[str, dict[bytes, tuple[str, list[dict[str, Any]], str]]] = {}
        self._names: dict[str, str] = {}  # lower-case address → contract name
        for contract, abi in abis:
            self.add_abi(contract, abi)

    def add_abi(self, contract: str, abi: list[dict[str, Any]]) -> None:
        own = self._by_contract.setdefault(contract, {})
        for item in abi:
            if item.get("type") != "error":
                continue
            types = ",".join(_canonical_type(p) for p in item["inputs"])
            selector = function_signature_to_4byte_selector(f"{item['name']}({types})")
            entry = (item["name"], item["inputs"], contract)
            own.setdefault(selector, entry)
            self._errors.setdefault(selector, entry)

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
        name, inputs, contract = known
        try:
            values = abi_decode([_canonical_type(p) for p in inputs], body)
        except Exception:  # noqa: BLE001 - malformed data: still name the error
            values = ()
        args = {
            p["name"] or f"arg{i}": _clean(v, p["type"]) for i, (p, v) in enumerate(zip(inputs, values, strict=False))
        }
        return ContractError(name, args, contract)


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
