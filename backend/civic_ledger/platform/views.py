"""Fast reads of a contract's view functions on the request path.

``contract.functions.f(x).call()`` costs about a millisecond of CPU in web3 before and after the
node answers (finding the ABI entry, re-deriving the selector, validating and formatting), which
made up most of a ballot's typed-data request. :class:`Views` computes each function's selector and
types once and sends one raw ``eth_call``; results have web3's shape (a tuple of outputs, or the
one output; addresses checksummed; structs as tuples), and a revert becomes the same decoded
:class:`~civic_ledger.errors.ContractError` as through :meth:`Relayer.call`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_abi_to_4byte_selector, to_checksum_address

from civic_ledger.errors import TransactionFailed
from civic_ledger.platform.revert import ErrorDecoder, revert_data_of


def _type(param: dict[str, Any]) -> str:
    t = str(param["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + t[len("tuple") :]
    return t


def _shape(param: dict[str, Any], value: Any) -> Any:
    """eth-abi's value in web3's shape: checksummed addresses, tuples and lists kept."""
    t = str(param["type"])
    if t.endswith("]"):
        inner = {**param, "type": t[: t.rindex("[")]}
        return [_shape(inner, v) for v in value]
    if t == "tuple":
        return tuple(_shape(c, v) for c, v in zip(param["components"], value, strict=True))
    if t == "address":
        return to_checksum_address(value)
    return value


class _Fn:
    def __init__(self, abi: Any) -> None:
        self.selector = bytes(function_abi_to_4byte_selector(abi))
        self.inputs = [_type(p) for p in abi.get("inputs", ())]
        self.outputs_abi = list(abi.get("outputs", ()))
        self.outputs = [_type(p) for p in self.outputs_abi]


class Views:
    """Raw ``eth_call`` of the view functions of one deployed contract."""

    def __init__(self, provider: Any, address: str, abi: Sequence[Any], decoder: ErrorDecoder, sender: str):
        self.provider = provider
        self.address = to_checksum_address(address)
        self.decoder = decoder
        self.sender = sender
        self._abi = {e["name"]: e for e in abi if e.get("type") == "function"}
        self._fns: dict[str, _Fn] = {}
        self._lock = threading.Lock()

    def _fn(self, name: str) -> _Fn:
        fn = self._fns.get(name)
        if fn is None:
            with self._lock:
                fn = self._fns.setdefault(name, _Fn(self._abi[name]))
        return fn

    def outputs(self, name: str) -> list[dict[str, Any]]:
        """The ABI entries of ``name``'s outputs."""
        return self._fn(name).outputs_abi

    def call(self, name: str, *args: Any, block: int | str = "latest") -> Any:
        fn = self._fn(name)
        data = "0x" + (fn.selector + abi_encode(fn.inputs, list(args))).hex()
        tag = hex(block) if isinstance(block, int) else block
        tx = {"from": self.sender, "to": self.address, "data": data}
        try:
            response = self.provider.make_request("eth_call", [tx, tag])
        except Exception as exc:  # the embedded chain raises a revert instead of answering an error
            revert = revert_data_of(exc)
            if revert:
                raise self.decoder.decode(revert, self.address) from None
            raise
        error = response.get("error") if isinstance(response, dict) else None
        if error is not None:
            revert = revert_data_of(_Carrier(error))
            if revert:
                raise self.decoder.decode(revert, self.address)
            raise TransactionFailed(
                f"{name} failed: {error.get('message', error) if isinstance(error, dict) else error}"
            )
        result = response["result"]
        raw = bytes(result) if not isinstance(result, str) else bytes.fromhex(result[2:])
        values = abi_decode(fn.outputs, raw)
        shaped = [_shape(p, v) for p, v in zip(fn.outputs_abi, values, strict=True)]
        return shaped[0] if len(shaped) == 1 else tuple(shaped)


class _Carrier(Exception):
    """A JSON-RPC error object seen as an exception, for :func:`revert_data_of`."""

    def __init__(self, error: Any) -> None:
        super().__init__(error)
        self.data = error.get("data") if isinstance(error, dict) else None
