"""OpenZeppelin AccessControl, read from a contract's ABI."""

from __future__ import annotations

from typing import Any


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
