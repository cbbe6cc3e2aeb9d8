"""M-Voting ballots: typed data, the local signature pre-check and ``checkBallot``, the batched
relay (sync and async paths), receipts, reveals of sealed ballots."""

from __future__ import annotations

import asyncio
from typing import Any

from anyio import to_thread
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

from civic_ledger.errors import (
    ChainUnavailable,
    CivicLedgerError,
    InvalidInput,
    NotFound,
)
from civic_ledger.platform import eip712
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import ballots as enc
from civic_ledger.voting import projections, server_receipts
from civic_ledger.voting.polls import _poll_state
from civic_ledger.voting.receipts import lookup
from civic_ledger.voting.relay import BALLOT_TUPLE, Outcome
from civic_ledger.voting.schemas import (
    BallotCreate,
    BallotDraft,
    BallotReceiptOut,
    ReceiptOut,
    RevealCreate,
    RevealOut,
    TypedDataOut,
)
from civic_ledger.voting.state import (
    BALLOT_TYPEHASH,
    ZERO32,
    BallotRejected,
    ReceiptEntry,
    VotingState,
    _bytes32,
    _domain,
    chain_now,
    state,
)

# -- ballots -------------------------------------------------------------------------------


def ballot_digest(
    platform: Platform, poll_id: int, voter: str, choice: int, commitment: bytes, version: int, deadline: int
) -> bytes:
    """The EIP-712 digest of a ballot (= ``MVoting.ballotDigest``), computed locally."""
    struct_hash = keccak(
        abi_encode(
            ["bytes32", "uint256", "address", "uint256", "bytes32", "uint32", "uint256"],
            [BALLOT_TYPEHASH, poll_id, voter, choice, commitment, version, deadline],
        )
    )
    return keccak(b"\x19\x01" + state(platform).domain_separator + struct_hash)


def ballot_typed_message(
    platform: Platform, poll_id: int, voter: str, choice: int, commitment: bytes, version: int, deadline: int
) -> eip712.TypedMessage:
    message = {
        "pollId": poll_id,
        "voter": voter,
        "choice": choice,
        "commitment": commitment,
        "version": version,
        "deadline": deadline,
    }
    return eip712.TypedMessage(_domain(platform), "Ballot", enc.BALLOT_EIP712_TYPES, message)


def _choice_of(p: dict[str, Any], options: list[int] | None, choice: int | None) -> int:
    ballot_type = enc.BALLOT_TYPES[p["ballotType"]]
    if options is not None and choice is not None:
        raise InvalidInput("give options or choice, not both")
    if options is not None:
        return enc.encode_choice(ballot_type, options, p["numOptions"], p["maxChoices"])
    if choice is None:
        raise InvalidInput("give options (0-based option indices) or an encoded choice")
    if not enc.valid_choice(ballot_type, choice, p["numOptions"], p["maxChoices"]):
        raise InvalidInput(
            f"choice {choice} is not a valid {ballot_type} choice for a poll with {p['numOptions']} options "
            f"(max {p['maxChoices']})",
            code="MVotingInvalidChoice",
        )
    return choice


def voter_key(platform: Platform, poll_id: int, voter: str) -> int:
    return int(state(platform).views.call("voterKeyOf", poll_id, voter))


def ballot_typed_data(platform: Platform, poll_id: int, draft: BallotDraft) -> TypedDataOut:
    """The Ballot typed data for ``draft.voter``: version = current + 1, deadline from chain time."""
    st = state(platform)
    p = _poll_state(platform, poll_id)
    if p["secrecy"] == 2:
        raise InvalidInput(
            f"poll {poll_id} is encrypted: encrypt and prove the ballot on the voter's device and use "
            f"/voting/polls/{poll_id}/encrypted-ballots/typed-data (or `civic-ledger voting vote`)",
            code="MVotingInvalidProof",
        )
    if p["secrecy"] == 1:
        if draft.commitment is None or _bytes32(draft.commitment) == ZERO32:
            raise InvalidInput(
                "this poll is sealed: give commitment = keccak256(abi.encode(pollId, voter, choice, salt)), "
                "computed by the voter (never send the choice or the salt before close)"
            )
        if draft.options is not None or draft.choice:
            raise InvalidInput("this poll is sealed: the ballot carries only the commitment (choice 0)")
        choice, commitment = 0, _bytes32(draft.commitment)
    else:
        if draft.commitment is not None and _bytes32(draft.commitment) != ZERO32:
            raise InvalidInput("this poll is public: a ballot carries no commitment")
        choice, commitment = _choice_of(p, draft.options, draft.choice), ZERO32
    version = draft.version
    if version is None:
        key = voter_key(platform, poll_id, draft.voter)
        current = int(st.views.call("ballotOf", poll_id, key)[0]) if key else 0
        version = current + 1
    deadline = chain_now(platform) + draft.ttl_s
    typed = ballot_typed_message(platform, poll_id, draft.voter, choice, commitment, version, deadline)
    fields = {
        "voter": draft.voter,
        "choice": choice,
        "commitment": enc.hex0x(commitment),
        "version": version,
        "deadline": deadline,
    }
    return TypedDataOut(typed_data=typed.to_dict(), fields=fields, digest=enc.hex0x(typed.digest()))


def _rejection(
    platform: Platform, code: int, poll_id: int, voter: str, ballot_hash: bytes, *, key: int = 0, version: int = 0
) -> BallotRejected:
    r = enc.reason(code)
    extra = ""
    if r.name in ("not_open", "closed"):
        try:
            p = _poll_state(platform, poll_id)
            extra = f" (voting window {p['opensAt']}..{p['closesAt']}, chain time {chain_now(platform)})"
        except CivicLedgerError:
            pass
    elif r.name == "replayed" and key:
        current = int(state(platform).contract.functions.ballotOf(poll_id, key).call()[0])
        extra = f" (version {version}, current version {current}: sign version {current + 1} to change the vote)"
    message = f"ballot rejected: {r.text}{extra} [poll {poll_id}, voter {voter}, {r.error}]"
    return BallotRejected(code, message, ballot_hash=ballot_hash, poll_id=poll_id, voter=voter)


def ballot_input(poll_id: int, body: BallotCreate) -> tuple[Any, ...]:
    return (
        poll_id,
        body.voter,
        body.choice,
        _bytes32(body.commitment),
        body.version,
        body.deadline,
        bytes.fromhex(body.signature[2:]),
        [bytes.fromhex(x[2:]) for x in body.proof],
    )


_CHECK_BALLOT_SELECTOR = function_signature_to_4byte_selector(f"checkBallot({BALLOT_TUPLE})")


def check_ballot(platform: Platform, ballot: tuple[Any, ...]) -> tuple[int, int, bytes]:
    """``MVoting.checkBallot`` as a raw ``eth_call``, batched with the other requests' checks into
    one JSON-RPC batch (web3's contract-call path costs three RPC requests and milliseconds of
    encoding per ballot). Falls back to web3's path, which decodes reverts, on any failure."""
    st = state(platform)
    data = "0x" + (_CHECK_BALLOT_SELECTOR + abi_encode([BALLOT_TUPLE], [ballot])).hex()
    try:
        raw = st.checker.call(st.contract.address, data).result(platform.relayer.receipt_timeout)
    except Exception:  # noqa: BLE001
        raw = b""
    if len(raw) != 96:
        code, key, digest = platform.relayer.call(st.contract.functions.checkBallot(ballot))
        return int(code), int(key), bytes(digest)
    return int.from_bytes(raw[0:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64:96]


def precheck_ballot(platform: Platform, poll_id: int, body: BallotCreate) -> tuple[tuple[Any, ...], bytes, int]:
    """Local signature check, then ``checkBallot``; raises BallotRejected; returns (input, digest, key)."""
    digest = ballot_digest(
        platform, poll_id, body.voter, body.choice, _bytes32(body.commitment), body.version, body.deadline
    )
    try:
        signer = eip712.recover_digest(digest, body.signature)
    except Exception:  # noqa: BLE001 - malformed r/s/v
        signer = None
    if signer != body.voter:
        raise BallotRejected(
            5,
            f"ballot rejected: the signature is not {body.voter}'s signature of this ballot"
            + (f" (it recovers to {signer})" if signer else " (malformed signature)")
            + f" [poll {poll_id}, MVotingInvalidSignature]",
            ballot_hash=digest,
            poll_id=poll_id,
            voter=body.voter,
        )
    ballot = ballot_input(poll_id, body)
    code, key, contract_digest = check_ballot(platform, ballot)
    if bytes(contract_digest) != digest:  # would mean our domain or typehash is wrong
        raise InvalidInput("ballot digest mismatch between the service and the contract", code="digest_mismatch")
    if code != 0:
        raise _rejection(platform, int(code), poll_id, body.voter, digest, key=int(key), version=body.version)
    return ballot, digest, int(key)


def cast_ballot(platform: Platform, poll_id: int, body: BallotCreate) -> BallotReceiptOut:
    """Pre-check, queue for the next castBatch, wait for its receipt (or its BallotRejected reason)."""
    st = state(platform)
    ballot, digest, _key = precheck_ballot(platform, poll_id, body)
    signed = server_receipts.sign_for_platform(platform, st.contract.address, digest)
    outcome: Outcome = st.relay.cast(ballot)
    if not outcome.accepted:
        raise _rejection(
            platform, outcome.reason, poll_id, body.voter, outcome.ballot_hash, key=_key, version=body.version
        )
    return _accepted(st, poll_id, body, digest, outcome, signed)


async def cast_ballot_async(platform: Platform, poll_id: int, body: BallotCreate) -> BallotReceiptOut:
    """:func:`cast_ballot` for the event loop: the signature check is local CPU work, the
    ``checkBallot`` call and the ``castBatch`` are awaited as futures of the batching threads, so
    a request holds no worker thread while it waits (thousands can wait for the same batch).
    Anything unusual (a rejection, a fallback) is handed to the synchronous path in a thread."""
    st = state(platform)
    commitment = _bytes32(body.commitment)
    digest = ballot_digest(platform, poll_id, body.voter, body.choice, commitment, body.version, body.deadline)
    try:
        signer = eip712.recover_digest(digest, body.signature)
    except Exception:  # noqa: BLE001 - malformed r/s/v
        signer = None
    if signer != body.voter:
        return await to_thread.run_sync(cast_ballot, platform, poll_id, body)  # raises the 403
    ballot = ballot_input(poll_id, body)
    data = "0x" + (_CHECK_BALLOT_SELECTOR + abi_encode([BALLOT_TUPLE], [ballot])).hex()
    timeout = platform.relayer.receipt_timeout + 30
    try:
        raw = await asyncio.wait_for(asyncio.wrap_future(st.checker.call(st.contract.address, data)), timeout)
    except Exception:  # noqa: BLE001 - the synchronous path falls back to web3 and explains
        raw = b""
    if len(raw) != 96 or int.from_bytes(raw[0:32], "big") != 0 or raw[64:96] != digest:
        return await to_thread.run_sync(cast_ballot, platform, poll_id, body)  # raises the 4xx
    signed = await to_thread.run_sync(server_receipts.sign_for_platform, platform, st.contract.address, digest)
    try:
        outcome: Outcome = await asyncio.wait_for(asyncio.wrap_future(st.relay.submit(ballot)), timeout)
    except TimeoutError:
        raise ChainUnavailable(f"the ballot was not relayed within {timeout:.0f} s") from None
    if not outcome.accepted:
        key = int.from_bytes(raw[32:64], "big")
        raise await to_thread.run_sync(
            lambda: _rejection(
                platform, outcome.reason, poll_id, body.voter, outcome.ballot_hash, key=key, version=body.version
            )
        )
    return _accepted(st, poll_id, body, digest, outcome, signed)


def _accepted(
    st: VotingState, poll_id: int, body: BallotCreate, digest: bytes, outcome: Outcome, signed: dict[str, Any]
) -> BallotReceiptOut:
    """The receipt of an accepted ballot (its batch size remembered for later lookups)."""
    entry = ReceiptEntry(
        poll_id,
        body.voter,
        outcome.citizen_id,
        digest,
        body.version,
        body.choice,
        _bytes32(body.commitment),
        outcome.tx_hash,
        outcome.block_number,
        outcome.log_index,
        outcome.batch_size,
    )
    with st.lock:
        st.receipts[digest] = entry.batch_size
    return BallotReceiptOut(**{**_receipt_base(entry).model_dump(), "server_receipt": signed})


def _receipt_base(e: ReceiptEntry) -> BallotReceiptOut:
    return BallotReceiptOut(
        poll_id=e.poll_id,
        voter=e.voter,
        citizen_id=str(e.citizen_id),
        ballot_hash=enc.hex0x(e.ballot_hash),
        version=e.version,
        tx_hash=e.tx_hash,
        block_number=e.block_number,
        log_index=e.log_index,
        batch_size=e.batch_size,
    )


def receipt(platform: Platform, ballot_hash: str) -> ReceiptOut:
    """The BallotCast of ``ballot_hash`` from the indexer's receipts (one key read) and its status now."""
    st = state(platform)
    key = bytes.fromhex(ballot_hash[2:])
    row = lookup(platform, st.logs, "0x" + key.hex())
    if row is None:
        raise NotFound(f"no accepted ballot has hash {ballot_hash}", code="receipt_not_found")
    with st.lock:
        batch_size = st.receipts.get(key)
    entry = ReceiptEntry(
        int(row["poll_id"]),
        to_checksum_address(row["voter"]),
        int(row["citizen_id"]),
        key,
        int(row["version"]),
        int(row["choice"]),
        bytes.fromhex(str(row["commitment"])[2:]),
        str(row["tx_hash"]),
        int(row["block"]),
        int(row["log_index"]),
        batch_size,
    )
    p = _poll_state(platform, entry.poll_id)
    version, counted = st.contract.functions.ballotOf(entry.poll_id, entry.citizen_id).call()
    current = int(version) == entry.version
    sealed = p["secrecy"] != 0
    return ReceiptOut(
        **_receipt_base(entry).model_dump(),
        choice=None if sealed else str(entry.choice),
        commitment=enc.hex0x(entry.commitment) if sealed else None,
        current=current,
        counted=current and bool(counted),
        current_version=int(version),
    )


# -- reveal, finalize, results -------------------------------------------------------------


def _ballot_key_of(platform: Platform, poll_id: int, voter: str) -> int:
    """Voter key of ``voter``'s ballot: the registry (current key) or its last BallotCast log."""
    key = voter_key(platform, poll_id, voter)
    if key:
        return key
    with fresh_read(platform, "the ballot index") as (conn, _):
        found = projections.latest_voter_key(conn, poll_id, voter)
    if found is None:
        raise NotFound(f"{voter} holds no ballot in poll {poll_id}", code="MVotingNoBallot")
    return found


def reveal(platform: Platform, poll_id: int, body: RevealCreate) -> RevealOut:
    """Open a sealed ballot during the reveal window (anyone may relay it; the salt is the key)."""
    st = state(platform)
    p = _poll_state(platform, poll_id)
    if p["secrecy"] != 1:
        raise BallotRejected(
            12, f"poll {poll_id} is public: there is nothing to reveal [MVotingNotRevealable]", poll_id=poll_id
        )
    choice = _choice_of(p, body.options, body.choice)
    key = body.citizen_id or _ballot_key_of(platform, poll_id, body.voter)
    opening = (poll_id, key, body.voter, choice, _bytes32(body.salt))
    code = int(platform.relayer.call(st.contract.functions.checkReveal(opening)))
    if code != 0:
        r = enc.reason(code)
        extra = ""
        if r.name == "not_revealable":
            extra = f" (reveal window {p['closesAt']}..{p['revealEndsAt']}, chain time {chain_now(platform)})"
        raise BallotRejected(
            code,
            f"reveal rejected: {r.text}{extra} [poll {poll_id}, voter {body.voter}, {r.error}]",
            poll_id=poll_id,
            voter=body.voter,
        )
    tx = platform.relayer.transact(st.contract.functions.reveal(opening), simulate=True)
    return RevealOut(
        poll_id=poll_id,
        voter=body.voter,
        citizen_id=str(key),
        choice=str(choice),
        tx_hash=tx.tx_hash,
        block_number=tx.block_number,
    )
