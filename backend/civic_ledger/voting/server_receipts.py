"""Signed server receipts of accepted ballots, and what a voter does with them.

The API answers every ballot it accepts with a receipt signed (EIP-191 ``personal_sign``) by the
operator key: the ballot hash, the time it was accepted and the time by which it promises the
ballot is on chain. A ballot that is not on chain by then was dropped, and the receipt proves the
server accepted it. The voter then sends the same signed ballot to ``MVoting.cast`` through any
node (the contract accepts a validly signed ballot from anyone), paying the gas.

The signed message is canonical text, one ``key:value`` a line::

    civic-ledger ballot receipt v1
    chain:<chain id>
    mvoting:<MVoting address, checksummed>
    ballot:<ballot hash, 0x + 64 lower-case hex>
    accepted:<unix seconds>
    include-by:<unix seconds>
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from civic_ledger.errors import InvalidInput
from civic_ledger.platform.files import read_json
from civic_ledger.platform.trust import TrustedDeployment
from civic_ledger.voting import ballots as enc

HEADER = "civic-ledger ballot receipt v1"
_KEYS = ("chain", "mvoting", "ballot", "accepted", "include-by")
FILE_VERSION = 1


def receipt_message(chain_id: int, mvoting: str, ballot_hash: bytes, accepted: int, include_by: int) -> str:
    lines = [
        HEADER,
        f"chain:{int(chain_id)}",
        f"mvoting:{to_checksum_address(mvoting)}",
        f"ballot:0x{bytes(ballot_hash).hex()}",
        f"accepted:{int(accepted)}",
        f"include-by:{int(include_by)}",
    ]
    return "\n".join(lines)


def sign_receipt(
    operator: LocalAccount, chain_id: int, mvoting: str, ballot_hash: bytes, accepted: int, inclusion_s: int
) -> dict[str, Any]:
    """The ``server_receipt`` of an accepted ballot: ``{message, signature, signer, include_by}``."""
    include_by = int(accepted) + int(inclusion_s)
    message = receipt_message(chain_id, mvoting, ballot_hash, accepted, include_by)
    signed = operator.sign_message(encode_defunct(text=message))
    return {
        "message": message,
        "signature": "0x" + bytes(signed.signature).hex(),
        "signer": operator.address,
        "include_by": include_by,
    }


def sign_for_platform(platform: Any, mvoting: str, ballot_hash: bytes, accepted: int | None = None) -> dict[str, Any]:
    """:func:`sign_receipt` with the platform's operator, chain and ``ballot_inclusion_s``."""
    if accepted is None:
        accepted = int(platform.chain.now())
    return sign_receipt(
        platform.operator,
        int(platform.chain.chain_id),
        mvoting,
        ballot_hash,
        accepted,
        int(platform.settings.ballot_inclusion_s),
    )


@dataclass(frozen=True)
class ReceiptClaim:
    """A server receipt whose signature was checked: what the server promised, and who signed."""

    chain_id: int
    mvoting: str
    ballot_hash: str
    accepted: int
    include_by: int
    signer: str


def parse_message(message: str) -> dict[str, str]:
    lines = message.split("\n")
    if not lines or lines[0] != HEADER or len(lines) != 1 + len(_KEYS):
        raise InvalidInput(f"the server receipt is not a {HEADER!r} message")
    fields: dict[str, str] = {}
    for key, line in zip(_KEYS, lines[1:], strict=True):
        name, sep, value = line.partition(":")
        if name != key or not sep or not value:
            raise InvalidInput(f"the server receipt's line {line!r} should be {key}:<value>")
        fields[key] = value
    return fields


def verify_receipt(receipt: dict[str, Any]) -> ReceiptClaim:
    """Check the signature over the message (it must recover to ``signer``) and parse the message."""
    try:
        message, signature, signer = str(receipt["message"]), str(receipt["signature"]), str(receipt["signer"])
    except (KeyError, TypeError):
        raise InvalidInput("the server receipt needs message, signature and signer") from None
    f = parse_message(message)
    try:
        recovered = Account.recover_message(encode_defunct(text=message), signature=signature)
    except Exception:  # noqa: BLE001 - malformed signature bytes
        raise InvalidInput("the server receipt's signature is malformed") from None
    if not is_address(signer) or recovered != to_checksum_address(signer):
        raise InvalidInput(f"the server receipt's signature recovers to {recovered}, not to its signer {signer}")
    try:
        claim = ReceiptClaim(
            chain_id=int(f["chain"]),
            mvoting=to_checksum_address(f["mvoting"]),
            ballot_hash=f["ballot"].lower(),
            accepted=int(f["accepted"]),
            include_by=int(f["include-by"]),
            signer=recovered,
        )
    except ValueError as exc:
        raise InvalidInput(f"the server receipt's message has a bad value ({exc})") from None
    if "include_by" in receipt and int(receipt["include_by"]) != claim.include_by:
        raise InvalidInput("the server receipt's include_by differs from its signed message")
    return claim


# -- the voter's ballot file ----------------------------------------------------------------


def ballot_file(poll_id: int, ballot: dict[str, Any], ballot_hash: str, server_receipt: dict[str, Any] | None) -> dict:
    """What ``voting vote`` saves: the signed ballot (enough to send it to MVoting.cast) and the receipt."""
    keys = ("voter", "choice", "commitment", "version", "deadline", "signature", "proof")
    return {
        "version": FILE_VERSION,
        "poll_id": int(poll_id),
        "ballot_hash": ballot_hash,
        "ballot": {k: ballot[k] for k in keys if k in ballot},
        "server_receipt": server_receipt,
    }


def read_ballot_file(path: Path) -> dict[str, Any]:
    data = read_json(path, "ballot file", InvalidInput)
    if not isinstance(data, dict) or not isinstance(data.get("ballot"), dict) or "poll_id" not in data:
        raise InvalidInput(f"ballot file {path} is not a ballot saved by `civic-ledger voting vote`")
    return data


def ballot_tuple(data: dict[str, Any]) -> tuple[Any, ...]:
    """The ``BallotInput`` of ``MVoting.cast`` from a ballot file."""
    b = data["ballot"]
    try:
        return (
            int(data["poll_id"]),
            to_checksum_address(b["voter"]),
            int(b.get("choice", 0)),
            bytes.fromhex(str(b.get("commitment", "0x" + "00" * 32))[2:]),
            int(b["version"]),
            int(b["deadline"]),
            bytes.fromhex(str(b["signature"])[2:]),
            [bytes.fromhex(str(x)[2:]) for x in b.get("proof", [])],
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"the ballot file's ballot is incomplete or malformed ({exc})") from None


# -- on chain -------------------------------------------------------------------------------


def node_now(w3: Web3) -> int:
    """The chain's clock as a verifier sees it: the later of the wall clock and the head's time."""
    return max(int(time.time()), int(w3.eth.get_block("latest")["timestamp"]))


def find_cast(w3: Web3, contract: Contract, poll_id: int, voter: str, ballot_hash: str, from_block: int) -> Any:
    """The BallotCast log of ``ballot_hash`` (None when the ballot is not on chain)."""
    event = contract.events.BallotCast()
    topic = "0x" + bytes(w3.keccak(text="BallotCast(uint256,address,uint256,bytes32,uint32,uint256,bytes32)")).hex()
    raw = w3.eth.get_logs(
        {
            "address": contract.address,
            "topics": [topic, "0x" + int(poll_id).to_bytes(32, "big").hex(), "0x" + "00" * 12 + voter[2:].lower()],
            "fromBlock": from_block,
            "toBlock": "latest",
        }  # type: ignore[typeddict-item]
    )
    for log in raw:
        decoded = event.process_log(log)
        if "0x" + bytes(decoded["args"]["ballotHash"]).hex() == ballot_hash.lower():
            return decoded
    return None


def _manifest_deployer(trusted: TrustedDeployment) -> str | None:
    try:
        deployer = json.loads(Path(trusted.manifest).read_text()).get("deployer")
    except (OSError, ValueError, AttributeError):
        return None
    return to_checksum_address(deployer) if isinstance(deployer, str) and is_address(deployer) else None


def check_inclusion(trusted: TrustedDeployment, data: dict[str, Any]) -> dict[str, Any]:
    """Chain-only check of a ballot file: the server receipt's signature and promise, and whether the
    ballot's BallotCast is on chain. ``status``: ``included``, ``pending`` (not yet, before the
    promised deadline), ``dropped`` (deadline passed, not on chain) or ``not_included`` (no receipt)."""
    contract = trusted.contract("MVoting")
    ballot = ballot_tuple(data)
    poll_id, voter = ballot[0], ballot[1]
    digest = "0x" + bytes(contract.functions.ballotDigest(*ballot[:6]).call()).hex()
    ballot_hash = str(data.get("ballot_hash") or digest).lower()
    if ballot_hash != digest:
        raise InvalidInput(f"the ballot file's ballot_hash {ballot_hash} is not its ballot's digest {digest}")
    out: dict[str, Any] = {"ballot_hash": digest, "poll_id": poll_id, "voter": voter, "mvoting": contract.address}
    claim = None
    if data.get("server_receipt"):
        claim = verify_receipt(data["server_receipt"])
        if claim.chain_id != trusted.chain_id or claim.mvoting != contract.address:
            raise InvalidInput(
                f"the server receipt is for MVoting {claim.mvoting} on chain id {claim.chain_id}, the trusted "
                f"deployment has MVoting {contract.address} on chain id {trusted.chain_id}"
            )
        if claim.ballot_hash != digest:
            raise InvalidInput(f"the server receipt is for ballot {claim.ballot_hash}, not for this ballot {digest}")
        deployer = _manifest_deployer(trusted)
        out |= {
            "signer": claim.signer,
            "signer_is_operator": None if deployer is None else deployer == claim.signer,
            "accepted": claim.accepted,
            "include_by": claim.include_by,
        }
    now = node_now(trusted.w3)
    out["chain_time"] = now
    found = find_cast(trusted.w3, contract, poll_id, voter, digest, trusted.deploy_block("MVoting"))
    if found is not None:
        out |= {
            "status": "included",
            "block_number": int(found["blockNumber"]),
            "tx_hash": "0x" + bytes(found["transactionHash"]).hex(),
            "log_index": int(found["logIndex"]),
        }
    elif claim is None:
        out["status"] = "not_included"
    else:
        out["status"] = "pending" if now <= claim.include_by else "dropped"
    return out


def submit_direct(trusted: TrustedDeployment, data: dict[str, Any], account: LocalAccount) -> dict[str, Any]:
    """Send the file's signed ballot to ``MVoting.cast`` from ``account`` (which pays the gas)."""
    w3, contract = trusted.w3, trusted.contract("MVoting")
    ballot = ballot_tuple(data)
    try:
        code, _key, digest = contract.functions.checkBallot(ballot).call()
    except Exception as exc:  # noqa: BLE001 - unknown poll and the like revert
        raise InvalidInput(f"MVoting refuses to check this ballot: {exc}") from None
    digest_hex = "0x" + bytes(digest).hex()
    if data.get("ballot_hash") and str(data["ballot_hash"]).lower() != digest_hex:
        raise InvalidInput(f"the ballot file's ballot_hash is not its ballot's digest {digest_hex}")
    if int(code) != 0:
        r = enc.reason(int(code))
        raise InvalidInput(f"MVoting would not accept this ballot: {r.text} [poll {ballot[0]}, {r.error}]")
    try:
        tx = contract.functions.cast(ballot).build_transaction(
            {
                "from": account.address,
                "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                "chainId": trusted.chain_id,
            }
        )
        signed = account.sign_transaction(tx)  # type: ignore[arg-type]  # web3 TxParams vs eth-account dict
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=180)
    except Exception as exc:  # noqa: BLE001 - the node's reason (funds, gas) is the message
        raise InvalidInput(f"the node did not take the transaction from {account.address}: {exc}") from None
    if int(receipt["status"]) != 1:
        raise InvalidInput(f"MVoting.cast reverted in transaction 0x{bytes(tx_hash).hex()}")
    events = contract.events.BallotCast().process_receipt(receipt, errors=DISCARD)
    return {
        "ballot_hash": digest_hex,
        "poll_id": ballot[0],
        "voter": ballot[1],
        "sender": account.address,
        "tx_hash": "0x" + bytes(tx_hash).hex(),
        "block_number": int(receipt["blockNumber"]),
        "gas_used": int(receipt["gasUsed"]),
        "ballot_cast": len(events) == 1,
    }
