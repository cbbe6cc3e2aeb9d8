"""EIP-712 typed data shared by every area: domains, messages, signing, recovery.

Every contract uses OpenZeppelin ``EIP712(<ContractName>, "1")``; a message is a
:class:`TypedMessage` whose ``to_dict()`` is the standard JSON form any EIP-712 tool
(eth-account, MetaMask's ``eth_signTypedData_v4``, ethers) signs and verifies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import keys
from eth_keys.exceptions import BadSignature, ValidationError
from eth_utils import keccak, to_checksum_address

from civic_ledger.errors import Forbidden, InvalidInput

DOMAIN_VERSION = "1"
DEFAULT_TTL_S = 3600

EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def recover_digest(digest: bytes, signature: bytes | str) -> str:
    """The checksummed address whose key signed the 32-byte ``digest`` (a 65-byte ``r‖s‖v``
    signature, ``v`` 27/28 or 0/1, as bytes or 0x-hex); ``ValueError`` when it is malformed."""
    sig = (
        bytes.fromhex(signature[2:] if signature.startswith("0x") else signature)
        if isinstance(signature, str)
        else bytes(signature)
    )
    if len(sig) != 65:
        raise ValueError(f"a signature is 65 bytes (r, s, v), got {len(sig)}")
    v = sig[64] - 27 if sig[64] >= 27 else sig[64]
    try:
        public = keys.Signature(sig[:64] + bytes([v])).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValidationError) as exc:
        raise ValueError(f"the signature does not recover: {exc}") from None
    return str(public.to_checksum_address())


def domain(name: str, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    return {
        "name": name,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(verifying_contract),
    }


def deadline(ttl_s: int = DEFAULT_TTL_S, *, now: int | None = None) -> int:
    """A deadline ``ttl_s`` seconds from ``now`` (contracts compare it with ``block.timestamp``).

    Pass ``now=platform.chain.now()``: a development chain's clock may run ahead of the wall clock.
    """
    return (int(time.time()) if now is None else now) + ttl_s


def type_string(primary: str, types: dict[str, list[dict[str, str]]]) -> str:
    """``Name(type1 field1,...)`` followed by referenced struct types, as EIP-712 encodes it."""

    def fields(name: str) -> str:
        return f"{name}(" + ",".join(f"{f['type']} {f['name']}" for f in types[name]) + ")"

    deps: set[str] = set()

    def walk(name: str) -> None:
        for f in types[name]:
            base = f["type"].split("[")[0]
            if base in types and base not in deps and base != primary:
                deps.add(base)
                walk(base)

    walk(primary)
    return fields(primary) + "".join(fields(d) for d in sorted(deps))


def typehash(primary: str, types: dict[str, list[dict[str, str]]]) -> bytes:
    return keccak(text=type_string(primary, types))


def typehash_constant(primary: str) -> str:
    """The contract constant holding ``primary``'s typehash, as every contract here names it:
    ``AwardBatch`` → ``AWARD_BATCH_TYPEHASH`` (``tests/test_actions.py`` reads each one)."""
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(primary)).upper() + "_TYPEHASH"


@dataclass(frozen=True)
class TypedMessage:
    domain: dict[str, Any]
    primary_type: str
    types: dict[str, list[dict[str, str]]]
    message: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The full EIP-712 JSON (``eth_signTypedData_v4`` shape), byte strings as 0x-hex."""
        return {
            "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **self.types},
            "primaryType": self.primary_type,
            "domain": self.domain,
            "message": _jsonable(self.message),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TypedMessage:
        try:
            types = {k: v for k, v in data["types"].items() if k != "EIP712Domain"}
            return cls(domain=data["domain"], primary_type=data["primaryType"], types=types, message=data["message"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"not EIP-712 typed data: missing {exc}") from None

    def signable(self) -> Any:
        return encode_typed_data(full_message=self.to_dict())

    def digest(self) -> bytes:
        """The 32-byte hash that is signed (``\\x19\\x01 || domainSeparator || structHash``)."""
        s = self.signable()
        return keccak(b"\x19" + s.version + s.header + s.body)

    def sign(self, key: Any) -> bytes:
        """Sign with a private key (hex, bytes) or an eth-account ``LocalAccount``."""
        account = key if hasattr(key, "sign_message") else Account.from_key(key)
        return bytes(account.sign_message(self.signable()).signature)

    def recover(self, signature: bytes | str) -> str:
        try:
            return str(Account.recover_message(self.signable(), signature=signature))
        except Exception as exc:  # noqa: BLE001 - malformed signature bytes
            raise InvalidInput(f"malformed signature: {exc}") from None

    def require_signer(
        self,
        signature: bytes | str,
        expected: str,
        role: str,
        *,
        field: str = "signature",
        code: str = "invalid_signature",
    ) -> None:
        """The one off-chain signature check of every signed action: a 403 naming the ``role``
        that had to sign, its address and the address the signature recovers to (``details``:
        ``expected_signer``, ``recovered``, ``role``, ``field``), before any gas is spent."""
        recovered = self.recover(signature)
        wanted = to_checksum_address(expected)
        if recovered != wanted:
            raise Forbidden(
                f"{field} does not recover to the {role} {wanted} (it recovers to {recovered}): sign exactly "
                f"the {self.primary_type} typed data of the matching typed-data endpoint with that key",
                code=code,
                details={"expected_signer": wanted, "recovered": recovered, "role": role, "field": field},
            )


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
