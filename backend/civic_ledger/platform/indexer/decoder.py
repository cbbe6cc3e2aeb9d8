"""One ABI event decoder for every deployed contract: (address, topic0) → event ABI → JSON-safe args.

JSON representation of decoded values (the same in the ``events`` table, in what projections
receive and in ``index verify`` digests), chosen so a browser's ``JSON.parse`` never loses a digit:

- ``intN``/``uintN`` up to 48 bits: JSON numbers; wider (``uint56`` … ``uint256``): decimal
  strings, always (per ABI type, not per value, so a field has one JSON type);
- ``address``: checksummed string; ``bytes``/``bytesN``: ``0x``-hex; ``bool``, ``string`` as is;
- arrays: lists; structs (tuples): objects keyed by component name;
- an ``indexed`` parameter of a dynamic type (string, bytes, array, struct) is only its keccak-256
  hash on chain: it is given as the ``0x``-hex topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from eth_utils.abi import collapse_if_tuple

_INT = re.compile(r"^u?int(\d*)$")
_ARRAY = re.compile(r"^(.*)\[(\d*)\]$")

#: Widest integer type given as a JSON number (2**53 is the largest exact integer of a double).
JSON_INT_BITS = 48


def _hex(value: Any) -> str:
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else "0x" + value.lower()
    return "0x" + bytes(value).hex()


def jsonable(param: dict[str, Any], value: Any, type_: str | None = None) -> Any:
    """``value`` decoded by eth-abi for ABI parameter ``param`` as a JSON-safe value."""
    t = type_ if type_ is not None else str(param["type"])
    array = _ARRAY.match(t)
    if array:
        return [jsonable(param, v, array.group(1)) for v in value]
    if t == "tuple":
        return {c["name"]: jsonable(c, v) for c, v in zip(param["components"], value, strict=True)}
    match = _INT.match(t)
    if match:
        bits = int(match.group(1) or 256)
        return int(value) if bits <= JSON_INT_BITS else str(int(value))
    if t == "address":
        return to_checksum_address(value)
    if t.startswith("bytes"):
        return _hex(value)
    return value  # bool, string


def with_ints(param: dict[str, Any], value: Any, type_: str | None = None) -> Any:
    """The inverse of :func:`jsonable` for integers: a stored value with every ``intN``/``uintN``
    (decimal strings included) as a Python int, for code written against web3's decoded logs."""
    t = type_ if type_ is not None else str(param["type"])
    array = _ARRAY.match(t)
    if array:
        return [with_ints(param, v, array.group(1)) for v in value]
    if t == "tuple":
        return {c["name"]: with_ints(c, value[c["name"]]) for c in param["components"]}
    return int(value) if _INT.match(t) else value


def args_with_ints(event_abi: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Stored event ``args`` with integers as Python ints (see :func:`with_ints`)."""
    by_name = {i["name"]: i for i in event_abi.get("inputs", [])}
    return {k: with_ints(by_name[k], v) if k in by_name else v for k, v in args.items()}


def _is_dynamic(param: dict[str, Any]) -> bool:
    t = str(param["type"])
    return t in ("string", "bytes") or t.endswith("]") or t.startswith("tuple")


@dataclass(frozen=True)
class EventSpec:
    contract: str
    name: str
    abi: dict[str, Any]
    indexed: tuple[dict[str, Any], ...]
    data_params: tuple[dict[str, Any], ...]
    data_types: tuple[str, ...]


@dataclass(frozen=True)
class Decoded:
    contract: str
    event: str | None  # None: a log whose topic0 this contract's ABI does not know
    args: dict[str, Any]


class EventDecoder:
    """Decodes raw logs of the followed contracts; unknown topics are kept raw (never dropped)."""

    def __init__(self, contracts: dict[str, tuple[str, list[dict[str, Any]]]]) -> None:
        """``contracts``: address → (contract name, ABI)."""
        self.names: dict[str, str] = {}
        self._specs: dict[tuple[str, str], EventSpec] = {}
        for address, (name, abi) in contracts.items():
            addr = address.lower()
            self.names[addr] = name
            for item in abi:
                if item.get("type") != "event" or item.get("anonymous"):
                    continue
                topic = "0x" + bytes(event_abi_to_log_topic(item)).hex()  # type: ignore[arg-type]
                inputs = item.get("inputs", [])
                data_params = tuple(i for i in inputs if not i.get("indexed"))
                self._specs[(addr, topic)] = EventSpec(
                    contract=name,
                    name=str(item["name"]),
                    abi=item,
                    indexed=tuple(i for i in inputs if i.get("indexed")),
                    data_params=data_params,
                    data_types=tuple(collapse_if_tuple(i) for i in data_params),
                )

    def topic(self, contract: str, event: str) -> str:
        """topic0 of ``contract``'s ``event`` (KeyError if unknown)."""
        for (_addr, topic), spec in self._specs.items():
            if spec.contract == contract and spec.name == event:
                return topic
        raise KeyError(f"{contract}.{event}")

    def decode(self, address: str, topics: list[str], data: str) -> Decoded:
        addr = address.lower()
        name = self.names.get(addr, "?")
        spec = self._specs.get((addr, topics[0])) if topics else None
        if spec is None or len(topics) != 1 + len(spec.indexed):
            return Decoded(name, None, {"topics": topics, "data": data})
        args: dict[str, Any] = {}
        for param, topic in zip(spec.indexed, topics[1:], strict=True):
            if _is_dynamic(param):
                args[param["name"]] = topic
            else:
                (value,) = abi_decode([collapse_if_tuple(param)], bytes.fromhex(topic[2:]))
                args[param["name"]] = jsonable(param, value)
        values = abi_decode(list(spec.data_types), bytes.fromhex(data[2:])) if spec.data_types else ()
        for param, value in zip(spec.data_params, values, strict=True):
            args[param["name"]] = jsonable(param, value)
        # keep the ABI's parameter order
        order = [i["name"] for i in spec.abi.get("inputs", [])]
        return Decoded(spec.contract, spec.name, {k: args[k] for k in order})
