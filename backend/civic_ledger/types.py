"""Reusable pydantic field types for addresses, hashes, signatures, integers and text."""

from __future__ import annotations

import re
from typing import Annotated

from eth_utils import is_address, is_checksum_address, to_checksum_address
from pydantic import AfterValidator, Field

UINT256_MAX = 2**256 - 1
UINT64_MAX = 2**64 - 1
#: The last Unix second that has an ISO-8601 date (9999-12-31T23:59:59Z): later times can not be shown.
MAX_TIMESTAMP = 253_402_300_799

_HEX_DIGITS = re.compile(r"[0-9a-fA-F]*")


def _address(value: str) -> str:
    body = value[2:] if value[:2] in ("0x", "0X") else value
    if len(body) != 40 or not _HEX_DIGITS.fullmatch(body) or not is_address("0x" + body):
        raise ValueError(f"{value[:80]!r} is not an Ethereum address (0x followed by 40 hex digits)")
    if body != body.lower() and body != body.upper() and not is_checksum_address("0x" + body):
        raise ValueError(
            f"{value!r} has mixed case but an invalid EIP-55 checksum (a typo?): write it all in lowercase or with "
            "its correct checksum"
        )
    return to_checksum_address("0x" + body)


def _hex(length: int | None) -> AfterValidator:
    def check(value: str) -> str:
        text = value[2:] if value.startswith("0x") else None
        if text is None:
            raise ValueError("must start with 0x")
        if not _HEX_DIGITS.fullmatch(text):
            raise ValueError("is not hexadecimal: after 0x only the digits 0-9 and a-f may follow")
        if len(text) % 2:
            raise ValueError(f"has an odd number of hex digits ({len(text)}): each byte is two digits")
        if length is not None and len(text) != 2 * length:
            raise ValueError(f"must be {length} bytes (0x followed by {2 * length} hex digits), got {len(text) // 2}")
        return "0x" + text.lower()

    return AfterValidator(check)


def _utf8(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"is not valid Unicode text: it holds an unpaired surrogate ({value[exc.start : exc.end]!r}) at "
            f"position {exc.start}"
        ) from None
    return value


# The patterns are documented (OpenAPI), not enforced by pydantic: the validators above give clearer messages.
Address = Annotated[
    str,
    AfterValidator(_address),
    Field(
        examples=["0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"],
        json_schema_extra={"pattern": "^(0x)?[0-9a-fA-F]{40}$"},
    ),
]
Bytes32 = Annotated[
    str, _hex(32), Field(examples=["0x" + "ab" * 32], json_schema_extra={"pattern": "^0x[0-9a-fA-F]{64}$"})
]
Signature = Annotated[
    str, _hex(65), Field(examples=["0x" + "11" * 65], json_schema_extra={"pattern": "^0x[0-9a-fA-F]{130}$"})
]
HexBytes = Annotated[str, _hex(None), Field(examples=["0x"], json_schema_extra={"pattern": "^0x([0-9a-fA-F]{2})*$"})]
#: Free text that will be UTF-8 encoded (hashed, or sent on chain): no unpaired surrogates.
Text = Annotated[str, AfterValidator(_utf8)]
#: An unsigned 256-bit integer (nonces, deadlines, ids as the contracts take them).
Uint256 = Annotated[int, Field(ge=0, le=UINT256_MAX)]
