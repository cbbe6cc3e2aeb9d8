"""CivicMileage messages: constants, the EIP-712 types every signer signs, packing, signature checks.

Pure helpers shared by the actions (:mod:`.service`) and the reads (:mod:`.reads`); the only chain
access is the contract handle, the chain's clock and O(1) view calls (:func:`read`).
"""

from __future__ import annotations

from typing import Any

from eth_utils import keccak
from web3.contract import Contract

from civic_ledger.errors import InvalidInput
from civic_ledger.mileage.schemas import TypedDataOut
from civic_ledger.platform import eip712
from civic_ledger.platform.runtime import Platform

CONTRACT = "CivicMileage"
BUCKETS = 7
EPOCH_LENGTH = 30 * 86400
MAX_BATCH = 256
SKIP_REASONS = {0: "None", 1: "Duplicate", 2: "NotActiveCitizen", 3: "AlreadyImported", 4: "ZeroAmount"}

M32 = 2**32 - 1
M64 = 2**64 - 1


def _fields(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "type": t} for n, t in pairs]


#: EIP-712 types of every CivicMileage message (checked against the contract's *_TYPEHASH).
TYPES: dict[str, dict[str, list[dict[str, str]]]] = {
    "Award": {
        "Award": _fields(
            ("programId", "uint32"),
            ("account", "address"),
            ("amount", "uint32"),
            ("ref", "uint64"),
            ("deadline", "uint256"),
        )
    },
    "AwardBatch": {"AwardBatch": _fields(("programId", "uint32"), ("awards", "uint256[]"), ("deadline", "uint256"))},
    "ImportLegacy": {
        "ImportLegacy": _fields(("programId", "uint32"), ("entries", "uint256[]"), ("deadline", "uint256"))
    },
    "Redeem": {
        "Redeem": _fields(
            ("citizen", "address"),
            ("merchantId", "uint32"),
            ("amount", "uint256"),
            ("orderRef", "bytes32"),
            ("nonce", "uint256"),
            ("deadline", "uint256"),
        )
    },
}
TYPEHASH_CONSTANTS = {primary: eip712.typehash_constant(primary) for primary in TYPES}

# -- contract, clock, packing -------------------------------------------------------------------------------


def mileage(platform: Platform) -> Contract:
    return platform.deployment.contract(CONTRACT)


def read(platform: Platform, fn: Any, block: int | str = "latest") -> Any:
    """An O(1) view call as the operator (at ``block``: a report checks the chain at its index block)."""
    return fn.call({"from": platform.operator.address}, block_identifier=block)


def chain_time(platform: Platform) -> int:
    """The chain's clock: the later of the head block's time and the wall clock."""
    return platform.chain.now()


def deadline_in(platform: Platform, ttl_s: int) -> int:
    """A deadline ``ttl_s`` after the chain's clock (not the wall clock: a dev chain may run ahead)."""
    return max(chain_time(platform), eip712.deadline(0)) + ttl_s


def typed_message(platform: Platform, primary: str, message: dict[str, Any]) -> eip712.TypedMessage:
    domain = eip712.domain(CONTRACT, platform.chain.chain_id, platform.deployment.address(CONTRACT))
    return eip712.TypedMessage(domain, primary, TYPES[primary], message)


def pack_award(account: str, amount: int, ref: int) -> int:
    """One ``awardBatch`` word: ``account << 96 | amount << 64 | ref``."""
    return (int(account, 16) << 96) | (amount << 64) | ref


def pack_legacy(account: str, amount: int) -> int:
    return (int(account, 16) << 96) | (amount << 64)


def order_ref_of(order_id: str) -> str:
    """The on-chain order reference of a merchant's order id: keccak256 of its UTF-8 text."""
    return "0x" + keccak(text=order_id).hex()


def business_number_hash(business_number: str, salt: bytes) -> str:
    """keccak256(salt || digits) of a business registration number (e.g. 123-45-67890)."""
    digits = "".join(ch for ch in business_number if ch.isdigit())
    if len(digits) != 10:
        raise InvalidInput(f"business number {business_number!r} must have 10 digits (e.g. 123-45-67890)")
    if len(salt) != 32:
        raise InvalidInput("business number salt must be 32 bytes")
    return "0x" + keccak(salt + digits.encode()).hex()


def typed_out(typed: eip712.TypedMessage, signer: str, nonce: int | None = None) -> TypedDataOut:
    return TypedDataOut(
        typed_data=typed.to_dict(),
        signer=signer,
        deadline=int(typed.message["deadline"]),
        nonce=nonce,
        digest="0x" + typed.digest().hex(),
    )


def sig_bytes(signature: str) -> bytes:
    return bytes.fromhex(signature[2:])
