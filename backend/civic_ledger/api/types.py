"""Reusable pydantic field types for addresses, hashes and signatures."""

from __future__ import annotations

from typing import Annotated

from eth_utils import is_address, to_checksum_address
from pydantic import AfterValidator, Field


def _address(value: str) -> str:
    if not is_address(value):
        raise ValueError(f"{value!r} is not an Ethereum address (0x followed by 40 hex digits)")
    return to_checksum_address(value)


def _hex(length: int | None) -> AfterValidator:
    def check(value: str) -> str:
        text = value[2:] if value.startswith("0x") else None
        if text is None:
            raise ValueError("must start with 0x")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise ValueError("is not hexadecimal") from None
        if length is not None and len(raw) != length:
            raise ValueError(f"must be {length} bytes (0x followed by {2 * length} hex digits), got {len(raw)}")
        return "0x" + text.lower()

    return AfterValidator(check)


Address = Annotated[str, AfterValidator(_address), Field(examples=["0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"])]
Bytes32 = Annotated[str, _hex(32), Field(examples=["0x" + "ab" * 32])]
Signature = Annotated[str, _hex(65), Field(examples=["0x" + "11" * 65])]
HexBytes = Annotated[str, _hex(None), Field(examples=["0x"])]
