"""OpenZeppelin AccessControl, read from a contract's ABI."""

from __future__ import annotations

from typing import Any

#: (chain id, contract address) → the contract's role constants and their ids (constants: read once)
_ROLE_IDS: dict[tuple[int, str], list[tuple[str, bytes]]] = {}


def role_names(abi: Any) -> list[str]:
    """The contract's role constants: every ``*_ROLE`` view without inputs returning ``bytes32``
    (``DEFAULT_ADMIN_ROLE`` included), sorted."""
    return sorted(
        item["name"]
        for item in abi
        if item.get("type") == "function"
        and item["name"].endswith("_ROLE")
        and not item.get("inputs")
        and [o.get("type") for o in item.get("outputs", [])] == ["bytes32"]
    )


def role_ids(chain_id: int, contract: Any, sender: str) -> list[tuple[str, bytes]]:
    """``(name, id)`` of the web3 ``contract``'s role constants (:func:`role_names`), each read once
    per chain and address — they are constants — with ``sender`` as the view call's ``from``; empty
    for a contract without AccessControl's ``hasRole``."""
    key = (chain_id, str(contract.address))
    if key not in _ROLE_IDS:
        abi = list(contract.abi)
        with_has_role = any(item.get("name") == "hasRole" for item in abi)
        _ROLE_IDS[key] = (
            [(r, bytes(getattr(contract.functions, r)().call({"from": sender}))) for r in role_names(abi)]
            if with_has_role
            else []
        )
    return _ROLE_IDS[key]
