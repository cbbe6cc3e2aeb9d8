"""M-Voting per-platform state: the contract, the ballot relay and checker, the EIP-712 domain,
the contract's rejection reasons as an error. Owned by ``Platform`` (``Platform.area_state``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3.contract import Contract

from civic_ledger.errors import (
    CivicLedgerError,
)
from civic_ledger.platform import eip712
from civic_ledger.platform.revert import status_of
from civic_ledger.platform.runtime import Platform
from civic_ledger.platform.views import Views
from civic_ledger.voting import ballots as enc
from civic_ledger.voting.receipts import RecentBatches
from civic_ledger.voting.recount import LogRef, VotingLogs
from civic_ledger.voting.relay import BallotRelay, BlockClock, CallBatcher, EncryptedBallotRelay

ZERO32 = b"\0" * 32
_DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
BALLOT_TYPEHASH = eip712.typehash("Ballot", enc.BALLOT_EIP712_TYPES)
CREATE_POLL_TYPEHASH = eip712.typehash("CreatePoll", enc.CREATE_POLL_EIP712_TYPES)


class BallotRejected(CivicLedgerError):
    """A ballot (or a reveal) the contract would not accept, with the contract's reason."""

    def __init__(self, reason_code: int, message: str, *, ballot_hash: bytes | None = None, **details: Any) -> None:
        r = enc.reason(reason_code)
        self.reason = r
        info = {"reason": r.name, "reason_code": r.code, "contract_error": r.error, **details}
        if ballot_hash is not None:
            info["ballot_hash"] = enc.hex0x(ballot_hash)
        super().__init__(message, details=info, code=r.error)
        self.status = status_of(r.error)  # the error's @custom:http tag in IMVoting.sol


# -- per-platform state --------------------------------------------------------------------


@dataclass
class PollMeta:
    question: str
    options: list[str]
    created: LogRef


@dataclass
class ReceiptEntry:
    poll_id: int
    voter: str
    citizen_id: int
    ballot_hash: bytes
    version: int
    choice: int
    commitment: bytes
    tx_hash: str
    block_number: int
    log_index: int
    batch_size: int | None = None


@dataclass
class VotingState:
    """What the voting slice keeps per running platform: the relay and log-derived caches."""

    contract: Contract
    relay: BallotRelay
    checker: CallBatcher
    logs: VotingLogs
    deploy_block: int
    domain_separator: bytes
    views: Views
    encrypted_relay: BallotRelay | None = None  # castEncryptedBatch (encrypted polls)
    lock: threading.Lock = field(default_factory=threading.Lock)
    receipts: RecentBatches = field(default_factory=RecentBatches)  # batch sizes of ballots relayed here

    def close(self) -> None:
        self.checker.close()
        self.relay.close()
        if self.encrypted_relay is not None:
            self.encrypted_relay.close()


def _wire_encrypted_tally(platform: Platform, contract: Contract) -> None:
    """Point MVoting at the deployed EncryptedTally once (the admin's one-time setEncryptedTally)."""
    if "EncryptedTally" not in platform.deployment.contracts:
        return
    if int(str(contract.functions.encryptedTally().call()), 16) != 0:
        return
    tally = platform.deployment.address("EncryptedTally")
    try:
        platform.relayer.transact(contract.functions.setEncryptedTally(tally))
    except CivicLedgerError:  # the operator is not MVoting's admin: the admin must do it
        return


def _open(platform: Platform) -> VotingState:
    contract = platform.deployment.contract("MVoting")
    _wire_encrypted_tally(platform, contract)
    domain_separator = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                _DOMAIN_TYPEHASH,
                keccak(text=enc.CONTRACT),
                keccak(text=eip712.DOMAIN_VERSION),
                platform.chain.chain_id,
                contract.address,
            ],
        )
    )
    clock = BlockClock.of(platform.chain, platform.settings.block_time_s)
    return VotingState(
        contract=contract,
        relay=BallotRelay(platform.relayer, contract, clock=clock),
        encrypted_relay=EncryptedBallotRelay(platform.relayer, contract, clock=clock),
        checker=CallBatcher(platform.chain.w3.provider, platform.operator.address),
        logs=VotingLogs(platform.chain.w3, contract),
        deploy_block=int(platform.deployment.entries["MVoting"].get("block", 0)),
        domain_separator=domain_separator,
        views=Views(
            platform.chain.w3.provider,
            contract.address,
            contract.abi,
            platform.relayer.decoder,
            platform.operator.address,
        ),
    )


def state(platform: Platform) -> VotingState:
    """The slice's state for ``platform``, created on first use (the relay starts lazily) and
    closed by ``Platform.close``."""
    return platform.area_state("voting", _open)


def close(platform: Platform) -> None:
    """Stop the ballot relay of ``platform`` now (``Platform.close`` does it too)."""
    platform.close_area("voting")


def chain_now(platform: Platform) -> int:
    """The chain's clock: the next block's time (the later of the wall clock and the head block's
    time; an idle embedded chain mines no blocks, so the head's timestamp alone stands still)."""
    return platform.chain.now()


def _domain(platform: Platform) -> dict[str, Any]:
    return eip712.domain(enc.CONTRACT, platform.chain.chain_id, state(platform).contract.address)


def _bytes32(value: str | None) -> bytes:
    return bytes.fromhex(value[2:]) if value else ZERO32
