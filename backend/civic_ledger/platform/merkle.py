"""The platform's one Merkle tree: OpenZeppelin's ``StandardMerkleTree``, byte for byte.

Port of ``@openzeppelin/merkle-tree`` (``StandardMerkleTree``, format ``standard-v1``), so a tree
built here and one built by the JS library from the same values have the same root, the same
proofs and the same JSON dump, and OpenZeppelin's ``MerkleProof.verify`` / ``multiProofVerify``
accept the proofs on chain:

- leaf = ``keccak256(bytes.concat(keccak256(abi.encode(values...))))`` with the tree's
  ``leaf_encoding`` (Solidity: ``keccak256(bytes.concat(keccak256(abi.encode(a, b))))``);
- internal node = ``keccak256`` of the two children in ascending order (``Hashes.commutativeKeccak256``);
- layout: the leaves are sorted ascending (``sortLeaves: true``, stable), the tree is an array of
  ``2n - 1`` nodes with the root at 0, the children of ``i`` at ``2i + 1`` and ``2i + 2``, and the
  ``k``-th sorted leaf at ``2n - 2 - k``; a proof lists the siblings from the leaf up.

Every area builds its trees here: voting (census of addresses, ``["address"]``), credentials
(batches, ``["bytes32", "uint256"]``), labour (a week's shifts, ``["uint32", "uint16", "uint16",
"uint16", "bool"]``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import is_address, keccak, to_checksum_address

from civic_ledger.errors import InvalidInput

FORMAT = "standard-v1"

_ARRAY = re.compile(r"^(.*)\[(\d*)\]$")
_SIZED = re.compile(r"^(u?int|bytes)(\d*)$")


# -- hashing -------------------------------------------------------------------------------


def node_hash(a: bytes, b: bytes) -> bytes:
    """An internal node: ``keccak256`` of the children in ascending order."""
    return keccak(a + b) if a <= b else keccak(b + a)


def leaf_hash(leaf_encoding: Sequence[str], value: Sequence[Any]) -> bytes:
    """The standard leaf of ``value``: ``keccak256(keccak256(abi.encode(value...)))``."""
    types = _check_encoding(leaf_encoding)
    return keccak(keccak(abi_encode(types, list(_normalise_value(types, value, "value")))))


def process_proof(leaf: bytes, proof: Sequence[str | bytes]) -> bytes:
    """The root a proof leads to from ``leaf`` (``MerkleProof.processProof``)."""
    node = _node(leaf, "leaf")
    for i, p in enumerate(proof):
        node = node_hash(node, _node(p, f"proof[{i}]"))
    return node


def process_multi_proof(leaves: Sequence[bytes], proof: Sequence[str | bytes], proof_flags: Sequence[bool]) -> bytes:
    """The root a multiproof leads to (``MerkleProof.processMultiProof``); leaves are leaf hashes."""
    stack = [_node(x, f"leaves[{i}]") for i, x in enumerate(leaves)]
    siblings = [_node(x, f"proof[{i}]") for i, x in enumerate(proof)]
    if len(siblings) < sum(1 for f in proof_flags if not f):
        raise InvalidInput("invalid multiproof: fewer proof hashes than proofFlags that are false")
    if len(stack) + len(siblings) != len(proof_flags) + 1:
        raise InvalidInput("invalid multiproof: leaves + proof must be proofFlags + 1")
    for flag in proof_flags:
        a = stack.pop(0)
        b = stack.pop(0) if flag else siblings.pop(0)
        stack.append(node_hash(a, b))
    return stack.pop() if stack else siblings.pop(0)


# -- the tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MultiProof:
    """``getMultiProof``'s result: the proven values (in the order the contract wants them),
    the sibling hashes and the flags; as JSON: ``{"leaves", "proof", "proofFlags"}``."""

    leaves: list[list[Any]]
    proof: list[str]
    proof_flags: list[bool]

    def to_dict(self) -> dict[str, Any]:
        return {"leaves": self.leaves, "proof": self.proof, "proofFlags": self.proof_flags}


class StandardMerkleTree:
    """``StandardMerkleTree.of(values, leafEncoding)`` of ``@openzeppelin/merkle-tree``.

    Values are sequences matching ``leaf_encoding`` (``[["0xabc…"], ["0xdef…"]]`` for
    ``["address"]``). Hashes come out as ``0x`` lowercase hex strings, as in the JS library;
    ``root_bytes`` and ``proof_bytes`` give raw bytes for contract calls.
    """

    def __init__(self, tree: list[bytes], values: list[tuple[list[Any], int]], leaf_encoding: list[str]) -> None:
        self._tree = tree
        self._values = values  # (normalised value, tree index), in value order
        self.leaf_encoding = leaf_encoding
        self._lookup = {tree[index]: i for i, (_, index) in enumerate(values)}  # later duplicates win, as in JS

    # construction -------------------------------------------------------------------------

    @classmethod
    def of(
        cls, values: Iterable[Sequence[Any]], leaf_encoding: Sequence[str], *, sort_leaves: bool = True
    ) -> StandardMerkleTree:
        """Build the tree; ``InvalidInput`` names the first value that does not fit the encoding."""
        types = _check_encoding(leaf_encoding)
        normalised = [_normalise_value(types, v, f"values[{i}]") for i, v in enumerate(values)]
        if not normalised:
            raise InvalidInput("a Merkle tree needs at least one value")
        hashes = [keccak(keccak(abi_encode(types, v))) for v in normalised]
        order = sorted(range(len(hashes)), key=hashes.__getitem__) if sort_leaves else list(range(len(hashes)))
        n = len(hashes)
        tree: list[bytes] = [b""] * (2 * n - 1)
        indexed: list[tuple[list[Any], int]] = [([], 0)] * n
        for k, value_index in enumerate(order):
            tree[2 * n - 2 - k] = hashes[value_index]
            indexed[value_index] = (normalised[value_index], 2 * n - 2 - k)
        for i in range(n - 2, -1, -1):
            tree[i] = node_hash(tree[2 * i + 1], tree[2 * i + 2])
        return cls(tree, indexed, types)

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> StandardMerkleTree:
        """A tree from the JSON of ``tree.dump()`` (Python or JS); checks every node and value."""
        if not isinstance(data, Mapping):
            raise InvalidInput("a Merkle tree dump must be a JSON object")
        if data.get("format") != FORMAT:
            raise InvalidInput(f"unknown Merkle tree format {data.get('format')!r}, expected {FORMAT!r}")
        if "leafEncoding" not in data:
            raise InvalidInput("the Merkle tree dump has no leafEncoding")
        types = _check_encoding(data["leafEncoding"])
        raw_tree, raw_values = data.get("tree"), data.get("values")
        if not isinstance(raw_tree, list) or not raw_tree or not isinstance(raw_values, list):
            raise InvalidInput("the Merkle tree dump needs a non-empty list 'tree' and a list 'values'")
        tree = [_node(h, f"tree[{i}]") for i, h in enumerate(raw_tree)]
        values: list[tuple[list[Any], int]] = []
        for i, entry in enumerate(raw_values):
            if not isinstance(entry, Mapping) or "value" not in entry or not isinstance(entry.get("treeIndex"), int):
                raise InvalidInput(f"values[{i}] must be an object with 'value' and an integer 'treeIndex'")
            values.append((_normalise_value(types, entry["value"], f"values[{i}].value"), entry["treeIndex"]))
        out = cls(tree, values, types)
        out.validate()
        return out

    def dump(self) -> dict[str, Any]:
        """The JSON form of the JS library (``{"format": "standard-v1", "leafEncoding", "tree", "values"}``)."""
        return {
            "format": FORMAT,
            "leafEncoding": list(self.leaf_encoding),
            "tree": [_hex(h) for h in self._tree],
            "values": [{"value": _json_value(self.leaf_encoding, v), "treeIndex": index} for v, index in self._values],
        }

    def validate(self) -> None:
        """Every value sits at its leaf and every internal node hashes its children."""
        n = len(self._tree)
        for i, (value, index) in enumerate(self._values):
            if not 0 <= index < n or 2 * index + 1 < n:
                raise InvalidInput(f"values[{i}].treeIndex {index} is not a leaf of the tree")
            if self._tree[index] != self._leaf(value):
                raise InvalidInput(f"values[{i}] is not the leaf at tree[{index}]")
        for i in range(n):
            left, right = 2 * i + 1, 2 * i + 2
            if right >= n:
                if left < n:
                    raise InvalidInput("the Merkle tree is invalid: a node has one child")
            elif self._tree[i] != node_hash(self._tree[left], self._tree[right]):
                raise InvalidInput(f"the Merkle tree is invalid: tree[{i}] is not the hash of its children")

    # reading ------------------------------------------------------------------------------

    @property
    def root(self) -> str:
        return _hex(self._tree[0])

    @property
    def root_bytes(self) -> bytes:
        return self._tree[0]

    def __len__(self) -> int:
        return len(self._values)

    def at(self, index: int) -> list[Any]:
        return list(self._check_index(index)[0])

    def entries(self) -> Iterator[tuple[int, list[Any]]]:
        for i, (value, _) in enumerate(self._values):
            yield i, list(value)

    def leaf_hash(self, value: Sequence[Any]) -> bytes:
        return self._leaf(_normalise_value(self.leaf_encoding, value, "value"))

    def leaf_lookup(self, value: Sequence[Any]) -> int:
        """The index of ``value``; ``InvalidInput`` when the tree does not hold it."""
        index = self._lookup.get(self.leaf_hash(value))
        if index is None:
            raise InvalidInput(f"{_describe(value)} is not in the tree")
        return index

    # proofs -------------------------------------------------------------------------------

    def proof(self, index: int) -> list[str]:
        """``getProof(index)``: the siblings from the leaf of value ``index`` up to the root."""
        return [_hex(h) for h in self.proof_bytes(index)]

    def proof_bytes(self, index: int) -> list[bytes]:
        node = self._check_index(index)[1]
        out = []
        while node > 0:
            out.append(self._tree[node - 1 if node % 2 == 0 else node + 1])
            node = (node - 1) // 2
        return out

    def proof_for(self, value: Sequence[Any]) -> list[str]:
        """``getProof(value)``."""
        return self.proof(self.leaf_lookup(value))

    def multi_proof(self, items: Sequence[int | Sequence[Any]]) -> MultiProof:
        """``getMultiProof``: one proof of several values (indices or values), for ``multiProofVerify``."""
        nodes = [self._check_index(x if isinstance(x, int) else self.leaf_lookup(x))[1] for x in items]
        nodes.sort(reverse=True)
        if len(set(nodes)) != len(nodes):
            raise InvalidInput("a multiproof can not prove the same value twice")
        stack = list(nodes)
        proof: list[bytes] = []
        flags: list[bool] = []
        while stack and stack[0] > 0:
            j = stack.pop(0)
            sibling = j - 1 if j % 2 == 0 else j + 1
            if stack and stack[0] == sibling:
                flags.append(True)
                stack.pop(0)
            else:
                flags.append(False)
                proof.append(self._tree[sibling])
            stack.append((j - 1) // 2)
        if not nodes:
            proof.append(self._tree[0])
        by_node = {index: value for value, index in self._values}
        leaves = [_json_value(self.leaf_encoding, by_node[n]) for n in nodes]
        return MultiProof(leaves, [_hex(h) for h in proof], flags)

    @staticmethod
    def verify(
        root: str | bytes, leaf_encoding: Sequence[str], value: Sequence[Any], proof: Sequence[str | bytes]
    ) -> bool:
        """``StandardMerkleTree.verify``: does ``proof`` lead from ``value``'s leaf to ``root``?"""
        return process_proof(leaf_hash(leaf_encoding, value), proof) == _node(root, "root")

    @staticmethod
    def verify_multi_proof(root: str | bytes, leaf_encoding: Sequence[str], multiproof: MultiProof) -> bool:
        leaves = [leaf_hash(leaf_encoding, v) for v in multiproof.leaves]
        return process_multi_proof(leaves, multiproof.proof, multiproof.proof_flags) == _node(root, "root")

    def render(self) -> str:
        """The tree as text, as ``tree.render()`` prints it."""
        lines: list[str] = []
        stack: list[tuple[int, list[int]]] = [(0, [])]
        while stack:
            i, path = stack.pop()
            prefix = "".join(["   ", "│  "][p] for p in path[:-1]) + "".join(["└─ ", "├─ "][p] for p in path[-1:])
            lines.append(f"{prefix}{i}) {_hex(self._tree[i])}")
            if 2 * i + 2 < len(self._tree):
                stack.append((2 * i + 2, [*path, 0]))
                stack.append((2 * i + 1, [*path, 1]))
        return "\n".join(lines)

    # internals ----------------------------------------------------------------------------

    def _leaf(self, value: list[Any]) -> bytes:
        return keccak(keccak(abi_encode(self.leaf_encoding, value)))

    def _check_index(self, index: int) -> tuple[list[Any], int]:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self._values):
            raise InvalidInput(f"index {index!r} is out of bounds: the tree holds {len(self._values)} values")
        return self._values[index]


# -- values: checked, normalised for eth-abi, rendered as the JS library's JSON ------------------


def _check_encoding(leaf_encoding: Any) -> list[str]:
    if isinstance(leaf_encoding, str) or not isinstance(leaf_encoding, Sequence) or not leaf_encoding:
        raise InvalidInput("leafEncoding must be a non-empty list of Solidity types, e.g. ['address']")
    types = [str(t).strip() for t in leaf_encoding]
    for t in types:
        _base_type(t)
    return types


def _base_type(t: str) -> str:
    """The element type of ``t`` after checking it is one this module encodes."""
    m = _ARRAY.match(t)
    if m:
        return _base_type(m.group(1))
    if t in ("address", "bool", "string", "bytes"):
        return t
    m = _SIZED.match(t)
    if m:
        kind, bits = m.group(1), m.group(2)
        size = int(bits or (32 if kind == "bytes" else 256))
        if (kind == "bytes" and 1 <= size <= 32) or (kind != "bytes" and size % 8 == 0 and 8 <= size <= 256):
            return t
    raise InvalidInput(f"unsupported leaf type {t!r} (address, bool, string, bytes, bytesN, uintN, intN, T[])")


def _normalise_value(types: Sequence[str], value: Any, where: str) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise InvalidInput(f"{where} must be a list of {len(types)} item(s) ({', '.join(types)})")
    if len(value) != len(types):
        raise InvalidInput(f"{where} has {len(value)} item(s) but the leaf encoding has {len(types)}: {list(types)}")
    return [_normalise(t, v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(types, value, strict=True))]


def _normalise(t: str, v: Any, where: str) -> Any:
    m = _ARRAY.match(t)
    if m:
        if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
            raise InvalidInput(f"{where} must be a list ({t})")
        if m.group(2) and len(v) != int(m.group(2)):
            raise InvalidInput(f"{where} must have {m.group(2)} items ({t}), got {len(v)}")
        return [_normalise(m.group(1), x, f"{where}[{i}]") for i, x in enumerate(v)]
    if t == "address":
        if isinstance(v, bytes) and len(v) == 20:
            return to_checksum_address(v)
        if not isinstance(v, str) or not is_address(v.lower()):
            raise InvalidInput(f"{where}: {v!r} is not an address")
        return to_checksum_address(v.lower())
    if t == "bool":
        if not isinstance(v, bool):
            raise InvalidInput(f"{where}: {v!r} is not a bool")
        return v
    if t == "string":
        if not isinstance(v, str):
            raise InvalidInput(f"{where}: {v!r} is not a string")
        return v
    if t.startswith("bytes"):
        raw = _bytes(v, where)
        size = int(t[5:]) if t != "bytes" else None
        if size is not None and len(raw) != size:
            raise InvalidInput(f"{where}: expected {size} bytes ({t}), got {len(raw)}")
        return raw
    signed = t.startswith("int")
    bits = int(t[4 - signed :] or 256)
    n = _integer(v, where)
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not low <= n <= high:
        raise InvalidInput(f"{where}: {n} is out of range for {t}")
    return n


def _integer(v: Any, where: str) -> int:
    if isinstance(v, bool):
        raise InvalidInput(f"{where}: {v!r} is not an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        s = v.strip()
        try:
            return int(s, 16) if s.lower().startswith(("0x", "-0x")) else int(s, 10)
        except ValueError:
            pass
    raise InvalidInput(f"{where}: {v!r} is not an integer (a number or a decimal or 0x string)")


def _bytes(v: Any, where: str) -> bytes:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, str) and v.startswith(("0x", "0X")) and len(v) % 2 == 0:
        try:
            return bytes.fromhex(v[2:])
        except ValueError:
            pass
    raise InvalidInput(f"{where}: {v!r} is not 0x-prefixed hex bytes")


def _json_value(types: Sequence[str], value: Sequence[Any]) -> list[Any]:
    return [_json(t, v) for t, v in zip(types, value, strict=True)]


def _json(t: str, v: Any) -> Any:
    m = _ARRAY.match(t)
    if m:
        return [_json(m.group(1), x) for x in v]
    if isinstance(v, bytes):
        return _hex(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)  # JSON numbers lose precision past 2**53: the JS library's dumps use strings
    return v


def _node(h: str | bytes, where: str) -> bytes:
    raw = _bytes(h, where)
    if len(raw) != 32:
        raise InvalidInput(f"{where} must be 32 bytes, got {len(raw)}")
    return raw


def _hex(h: bytes) -> str:
    return "0x" + h.hex()


def _describe(value: Any) -> str:
    try:
        return repr(list(value))
    except TypeError:
        return repr(value)
