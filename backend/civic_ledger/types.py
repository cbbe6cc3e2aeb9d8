"""Reusable pydantic field types for addresses, hashes, signatures, integers and text."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from eth_utils import is_address, is_checksum_address, to_checksum_address
from pydantic import AfterValidator, ConfigDict, Field

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

# Values the OpenAPI examples share (Anvil's development accounts and contract addresses), so one
# example request's addresses and hashes match the example answer's.
EXAMPLE_TX_HASH = "0xe1b1b73e9151e6a521babc27b9c9ef33943446dff01f5261f87e3fdebec0f1d9"
EXAMPLE_BLOCK_HASH = "0x800ff7a60a25ea1dd57007d7dbe1ce8f04ca9e30a1fab46698c7335963cf987e"
EXAMPLE_HASH = "0x175c514a07fb7b84ac425e7f69113155521586df65d886b7ac446e1173a82639"
EXAMPLE_OPERATOR = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
EXAMPLE_AGENCY = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
EXAMPLE_CITIZEN = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
EXAMPLE_CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
EXAMPLE_SIGNATURE = (
    "0x8a3f5c2b9e7d41a6c0f3b8e2d5a7c9f1e4b6d8a0c2e4f6a8b0d2c4e6f8a1b3c5"
    "3d7f9b1e5c8a2d4f6b8e0a3c5d7f9b2e4a6c8d0f2b4e6a8c0d3f5b7e9a1c3e5f1b"
)


#: Real answers captured from a test run (long lists cut short), kept as the OpenAPI examples of answers
#: that are plain JSON documents; the area tests check that each keeps a real answer's keys.
EXAMPLE_DOCUMENTS = Path(__file__).with_name("examples")


def example_document(name: str) -> dict[str, Any]:
    """The captured answer ``examples/NAME.json``."""
    value: dict[str, Any] = json.loads((EXAMPLE_DOCUMENTS / f"{name}.json").read_text(encoding="utf-8"))
    return value


def examples(*values: dict[str, Any]) -> ConfigDict:
    """A ``model_config`` whose OpenAPI schema shows ``values`` as examples (each must validate as the model:
    tests/test_openapi_examples.py checks it). Subclasses inherit it: give a base class field examples instead."""
    return ConfigDict(json_schema_extra={"examples": list(values)})
