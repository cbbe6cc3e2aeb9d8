"""Decode revert data (custom errors, ``Error(string)``, ``Panic(uint256)``) into exceptions."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
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
    """Knows every custom error of every ABI it was given, by selector."""

    def __init__(self, abis: Iterable[tuple[str, list[dict[str, Any]]]] = ()) -> None:
        self._errors: dict[bytes, tuple[str, list[dict[str, Any]], str]] = {}
        for contract, abi in abis:
            self.add_abi(contract, abi)

    def add_abi(self, contract: str, abi: list[dict[str, Any]]) -> None:
        for item in abi:
            if item.get("type") != "error":
                continue
            types = ",".join(_canonical_type(p) for p in item["inputs"])
            selector = function_signature_to_4byte_selector(f"{item['name']}({types})")
            self._errors.setdefault(selector, (item["name"], item["inputs"], contract))

    def decode(self, data: bytes | str | None) -> ContractError | TransactionFailed:
        """The exception that revert ``data`` stands for."""
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
