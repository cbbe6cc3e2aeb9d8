"""M-Voting domain rules: polls signed by agencies, ballots signed by voters, batched relay,
results, receipts. No HTTP here; every failure is a CivicLedgerError naming what is wrong."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address
from pydantic import ValidationError
from web3.contract import Contract

from civic_ledger.api.types import UINT64_MAX
from civic_ledger.errors import (
    ChainUnavailable,
    CivicLedgerError,
    Conflict,
    ContractError,
    Forbidden,
    InvalidInput,
    NotFound,
)
from civic_ledger.platform import eip712
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.revert import status_of
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import ballots as enc
from civic_ledger.voting import projections, server_receipts
from civic_ledger.voting.receipts import RecentBatches, lookup
from civic_ledger.voting.recount import LogRef, VotingLogs, struct_dict
from civic_ledger.voting.relay import BALLOT_TUPLE, BallotRelay, CallBatcher, Outcome
from civic_ledger.voting.schemas import (
    BallotCreate,
    BallotDraft,
    BallotReceiptOut,
    OptionOut,
    OptionResult,
    PollCreate,
    PollDraft,
    PollFields,
    PollOut,
    ReceiptOut,
    ResultsOut,
    RevealCreate,
    RevealOut,
    TypedDataOut,
)

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
    lock: threading.Lock = field(default_factory=threading.Lock)
    receipts: RecentBatches = field(default_factory=RecentBatches)  # batch sizes of ballots relayed here


_STATE_ATTR = "_voting_state"
_state_lock = threading.Lock()


def state(platform: Platform) -> VotingState:
    """The slice's state for ``platform``, created on first use (the relay starts lazily)."""
    st: VotingState | None = getattr(platform, _STATE_ATTR, None)
    if st is not None:
        return st
    with _state_lock:
        st = getattr(platform, _STATE_ATTR, None)
        if st is None:
            contract = platform.deployment.contract("MVoting")
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
            st = VotingState(
                contract=contract,
                relay=BallotRelay(platform.relayer, contract),
                checker=CallBatcher(platform.chain.w3.provider, platform.operator.address),
                logs=VotingLogs(platform.chain.w3, contract),
                deploy_block=int(platform.deployment.entries["MVoting"].get("block", 0)),
                domain_separator=domain_separator,
            )
            setattr(platform, _STATE_ATTR, st)
    return st


def close(platform: Platform) -> None:
    """Stop the ballot relay of ``platform`` (if it was started)."""
    st: VotingState | None = getattr(platform, _STATE_ATTR, None)
    if st is not None:
        st.checker.close()
        st.relay.close()


def chain_now(platform: Platform) -> int:
    """The chain's clock: the next block's time (the later of the wall clock and the head block's
    time; an idle embedded chain mines no blocks, so the head's timestamp alone stands still)."""
    return platform.chain.now()


def _domain(platform: Platform) -> dict[str, Any]:
    return eip712.domain(enc.CONTRACT, platform.chain.chain_id, state(platform).contract.address)


# -- polls ---------------------------------------------------------------------------------


def _mask(districts: list[int]) -> int:
    return sum(1 << d for d in set(districts))


def _districts(mask: int) -> list[int]:
    return [d for d in range(32) if mask >> d & 1]


def _bytes32(value: str | None) -> bytes:
    return bytes.fromhex(value[2:]) if value else ZERO32


def _poll_message(f: PollFields) -> dict[str, Any]:
    return {
        "question": f.question,
        "options": list(f.options),
        "ballotType": enc.BALLOT_TYPES.index(f.ballot_type),
        "maxChoices": f.max_choices,
        "secrecy": enc.SECRECY.index(f.secrecy),
        "opensAt": f.opens_at,
        "closesAt": f.closes_at,
        "revealEndsAt": f.reveal_ends_at,
        "eligibility": enc.ELIGIBILITY.index(f.eligibility),
        "districtMask": _mask(f.districts),
        "minBirthYear": f.min_birth_year,
        "maxBirthYear": f.max_birth_year,
        "censusRoot": _bytes32(f.census_root),
        "eligibleCount": f.eligible_count,
        "creator": f.creator,
        "nonce": f.nonce,
        "deadline": f.deadline,
    }


def _poll_params(m: dict[str, Any]) -> tuple[Any, ...]:
    keys = (
        "question",
        "options",
        "ballotType",
        "maxChoices",
        "secrecy",
        "opensAt",
        "closesAt",
        "revealEndsAt",
        "eligibility",
        "districtMask",
        "minBirthYear",
        "maxBirthYear",
        "censusRoot",
        "eligibleCount",
    )
    return tuple(m[k] for k in keys)


def poll_typed_message(platform: Platform, f: PollFields) -> eip712.TypedMessage:
    return eip712.TypedMessage(_domain(platform), "CreatePoll", enc.CREATE_POLL_EIP712_TYPES, _poll_message(f))


def poll_typed_data(platform: Platform, draft: PollDraft) -> TypedDataOut:
    """Resolve defaults (times from chain time, nonce, deadline) and build the CreatePoll typed data."""
    st = state(platform)
    now = chain_now(platform)
    # "Opens now" means open from the head block on: a node checks a ballot (eth_call at latest)
    # against the head block's time, which lags the wall clock until the next block, so a poll
    # stamped with the wall clock refused every ballot in its first second(s). The window's length
    # still counts from now.
    head_time = int(platform.chain.w3.eth.get_block("latest")["timestamp"])
    opens_at = draft.opens_at if draft.opens_at is not None else min(now, head_time)
    start = draft.opens_at if draft.opens_at is not None else now
    closes_at = draft.closes_at if draft.closes_at is not None else start + int(draft.duration_s or 0)
    reveal_ends_at = 0
    if draft.secrecy == "sealed":
        reveal_ends_at = draft.reveal_ends_at if draft.reveal_ends_at is not None else closes_at + draft.reveal_window_s
    elif draft.reveal_ends_at:
        raise InvalidInput("reveal_ends_at is only for sealed polls")
    for name, value in (("closes_at", closes_at), ("reveal_ends_at", reveal_ends_at)):
        if value > UINT64_MAX:
            raise InvalidInput(
                f"{name} would be {value}, past the largest time a poll can hold (2**64 - 1): "
                "give a shorter duration_s / reveal_window_s or an earlier time",
                details={"field": name},
            )
    max_choices = draft.max_choices or (1 if draft.ballot_type == "single" else len(draft.options))
    try:
        fields = PollFields(
            question=draft.question,
            options=draft.options,
            ballot_type=draft.ballot_type,
            max_choices=max_choices,
            secrecy=draft.secrecy,
            opens_at=opens_at,
            closes_at=closes_at,
            reveal_ends_at=reveal_ends_at,
            eligibility=draft.eligibility,
            districts=sorted(set(draft.districts)),
            min_birth_year=draft.min_birth_year,
            max_birth_year=draft.max_birth_year,
            census_root=draft.census_root,
            eligible_count=draft.eligible_count,
            creator=draft.creator,
            nonce=int(st.contract.functions.nonces(draft.creator).call()),
            deadline=now + draft.ttl_s,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"the poll can not be built: {problems}") from None
    typed = poll_typed_message(platform, fields)
    return TypedDataOut(typed_data=typed.to_dict(), fields=fields.model_dump(), digest=enc.hex0x(typed.digest()))


def create_poll(platform: Platform, body: PollCreate) -> PollOut:
    """Check the creator's signature and role, then relay ``createPoll``."""
    st = state(platform)
    typed = poll_typed_message(platform, body)
    typed.require_signer(body.signature, body.creator, "poll creator", code="MVotingInvalidSignature")
    role = st.contract.functions.POLL_ADMIN_ROLE().call()
    if not st.contract.functions.hasRole(role, body.creator).call():
        raise Forbidden(
            f"{body.creator} may not create polls: it does not hold POLL_ADMIN_ROLE", code="MVotingNotPollAdmin"
        )
    message = typed.message
    fn = st.contract.functions.createPoll(
        _poll_params(message), body.creator, body.nonce, body.deadline, bytes.fromhex(body.signature[2:])
    )
    receipt = platform.relayer.transact(fn, simulate=True)
    (event,) = st.contract.events.PollCreated().process_receipt(receipt.raw)
    return get_poll(platform, int(event["args"]["pollId"]))


def _poll_state(platform: Platform, poll_id: int) -> dict[str, Any]:
    st = state(platform)
    if poll_id < 1:
        raise NotFound(f"poll {poll_id} does not exist (ids start at 1)", code="MVotingUnknownPoll")
    fn = st.contract.get_function_by_name("getPoll")
    try:
        value = platform.relayer.call(fn(poll_id))
    except ContractError as exc:
        if exc.error_name == "MVotingUnknownPoll":
            raise NotFound(f"poll {poll_id} does not exist", code="MVotingUnknownPoll") from None
        raise
    return struct_dict(fn.abi["outputs"][0]["components"], value)


def _meta_of(conn: Any, poll_id: int) -> PollMeta | None:
    e = projections.poll_event(conn, poll_id, "PollCreated")
    if e is None:
        return None
    return PollMeta(
        str(e.args["question"]), [str(o) for o in e.args["options"]], LogRef(e.block, e.tx_hash, e.log_index)
    )


def _poll_meta(platform: Platform, poll_id: int) -> PollMeta:
    """A poll's texts and creation, from the index (one point read; only hashes are in storage)."""
    with fresh_read(platform, "the poll's texts") as (conn, _):
        meta = _meta_of(conn, poll_id)
    if meta is None:
        raise NotFound(f"poll {poll_id} has no PollCreated log", code="MVotingUnknownPoll")
    return meta


def _status(p: dict[str, Any], now: int) -> str:
    if p["finalized"]:
        return "finalized"
    if now < p["opensAt"]:
        return "scheduled"
    if now < p["closesAt"]:
        return "open"
    if p["secrecy"] == 1 and now < p["revealEndsAt"]:
        return "revealing"
    return "closed"


def _poll_out(poll_id: int, p: dict[str, Any], meta: PollMeta, now: int) -> PollOut:
    root = bytes(p["censusRoot"])
    return PollOut(
        poll_id=poll_id,
        question=meta.question,
        options=[OptionOut(index=i, text=t) for i, t in enumerate(meta.options)],
        ballot_type=enc.BALLOT_TYPES[p["ballotType"]],  # type: ignore[arg-type]
        max_choices=p["maxChoices"],
        secrecy=enc.SECRECY[p["secrecy"]],  # type: ignore[arg-type]
        opens_at=p["opensAt"],
        closes_at=p["closesAt"],
        reveal_ends_at=p["revealEndsAt"],
        eligibility=enc.ELIGIBILITY[p["eligibility"]],  # type: ignore[arg-type]
        districts=_districts(p["districtMask"]),
        min_birth_year=p["minBirthYear"],
        max_birth_year=p["maxBirthYear"],
        census_root=enc.hex0x(root) if root != ZERO32 else None,
        eligible_count=p["eligibleCount"] or None,
        creator=p["creator"],
        status=_status(p, now),  # type: ignore[arg-type]
        ballots=p["ballots"],
        finalized=p["finalized"],
        created_block=meta.created.block_number,
        created_tx=meta.created.tx_hash,
    )


def get_poll(platform: Platform, poll_id: int) -> PollOut:
    p = _poll_state(platform, poll_id)
    return _poll_out(poll_id, p, _poll_meta(platform, poll_id), chain_now(platform))


def list_polls(platform: Platform, *, status: str | None = None, limit: int = 100, offset: int = 0) -> list[PollOut]:
    """Polls, newest first: state from the contract, texts from the index (O(polls looked at))."""
    st = state(platform)
    count = int(st.contract.functions.pollCount().call())
    now = chain_now(platform)
    out: list[PollOut] = []
    skipped = 0
    for poll_id in range(count, 0, -1):
        poll = _poll_out(poll_id, _poll_state(platform, poll_id), _poll_meta(platform, poll_id), now)
        if status is not None and poll.status != status:
            continue
        if skipped < offset:
            skipped += 1
            continue
        out.append(poll)
        if len(out) >= limit:
            break
    return out


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
    return int(state(platform).contract.functions.voterKeyOf(poll_id, voter).call())


def ballot_typed_data(platform: Platform, poll_id: int, draft: BallotDraft) -> TypedDataOut:
    """The Ballot typed data for ``draft.voter``: version = current + 1, deadline from chain time."""
    st = state(platform)
    p = _poll_state(platform, poll_id)
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
        current = int(st.contract.functions.ballotOf(poll_id, key).call()[0]) if key else 0
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
        signer = Account._recover_hash(digest, signature=bytes.fromhex(body.signature[2:]))
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


async def cast_ballot_async(platform: Platform, poll_id: int, body: BallotCreate) -> BallotReceiptOut:
    """:func:`cast_ballot` for the event loop: the signature check is local CPU work, the
    ``checkBallot`` call and the ``castBatch`` are awaited as futures of the batching threads, so
    a request holds no worker thread while it waits (thousands can wait for the same batch).
    Anything unusual (a rejection, a fallback) is handed to the synchronous path in a thread."""
    st = state(platform)
    commitment = _bytes32(body.commitment)
    digest = ballot_digest(platform, poll_id, body.voter, body.choice, commitment, body.version, body.deadline)
    try:
        signer = Account._recover_hash(digest, signature=bytes.fromhex(body.signature[2:]))
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
    entry = ReceiptEntry(
        poll_id,
        body.voter,
        outcome.citizen_id,
        digest,
        body.version,
        body.choice,
        commitment,
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
    sealed = p["secrecy"] == 1
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


def finalize(platform: Platform, poll_id: int) -> ResultsOut:
    """Publish the result (PollFinalized) once the poll (and its reveal window) has ended."""
    st = state(platform)
    p = _poll_state(platform, poll_id)
    if p["finalized"]:
        raise Conflict(f"poll {poll_id} is already finalized", code="MVotingAlreadyFinalized")
    ends_at = p["revealEndsAt"] if p["secrecy"] == 1 else p["closesAt"]
    now = chain_now(platform)
    if now < ends_at:
        what = "its reveal window ends" if p["secrecy"] == 1 else "it closes"
        raise Conflict(
            f"poll {poll_id} can be finalized once {what} at {ends_at} (chain time {now}, {ends_at - now} s to go)",
            code="MVotingPollNotEnded",
        )
    platform.relayer.transact(st.contract.functions.finalize(poll_id), simulate=True)
    return results(platform, poll_id)


def results(platform: Platform, poll_id: int) -> ResultsOut:
    """Counts per option (texts included), turnout; sealed polls show nothing before close."""
    st = state(platform)
    p = _poll_state(platform, poll_id)
    meta = _poll_meta(platform, poll_id)
    now = chain_now(platform)
    secrecy = enc.SECRECY[p["secrecy"]]
    finalized_tx = None
    if p["finalized"]:
        with fresh_read(platform, "the poll's result") as (conn, _):
            final = projections.poll_event(conn, poll_id, "PollFinalized")
        if final is None:
            raise NotFound(f"poll {poll_id} is finalized but its PollFinalized log was not found", code="log_not_found")
        args, where = final.args, LogRef(final.block, final.tx_hash, final.log_index)
        counts = [int(c) for c in args["counts"]]
        ballots, counted, source, finalized_tx = (
            int(args["ballots"]),
            int(args["counted"]),
            "PollFinalized",
            where.tx_hash,
        )
    else:
        if secrecy == "sealed" and now < p["closesAt"]:
            raise Forbidden(
                f"poll {poll_id} is sealed until close at {p['closesAt']} ({p['closesAt'] - now} s from now): "
                "no counts are available before then",
                code="MVotingTallySealed",
                details={"closes_at": p["closesAt"], "chain_time": now},
            )
        tally, tally_counted = platform.relayer.call(st.contract.functions.tallyOf(poll_id))
        counts, ballots, counted, source = [int(c) for c in tally], int(p["ballots"]), int(tally_counted), "tallyOf"
    total = sum(counts)
    top = max(counts) if counts else 0
    eligible = int(p["eligibleCount"]) or None
    return ResultsOut(
        poll_id=poll_id,
        question=meta.question,
        ballot_type=enc.BALLOT_TYPES[p["ballotType"]],  # type: ignore[arg-type]
        secrecy=secrecy,  # type: ignore[arg-type]
        status=_status(p, now),
        finalized=bool(p["finalized"]),
        options=[
            OptionResult(index=i, text=t, count=counts[i], share=(counts[i] / total) if total else None)
            for i, t in enumerate(meta.options)
        ],
        ballots=ballots,
        counted=counted,
        eligible_count=eligible,
        turnout=(ballots / eligible) if eligible else None,
        winner=[i for i, c in enumerate(counts) if c == top and top > 0],
        source=source,  # type: ignore[arg-type]
        finalized_tx=finalized_tx,
    )


def results_svg(platform: Platform, poll_id: int) -> str:
    """A horizontal bar chart of the results, hand-written SVG."""
    return render_svg(results(platform, poll_id))


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def render_svg(r: ResultsOut) -> str:
    width, bar_x, bar_w, row_h, top = 720, 260, 360, 34, 70
    height = top + row_h * len(r.options) + 40
    top_count = max((o.count for o in r.options), default=0) or 1
    unit = "points" if r.ballot_type == "ranked" else "votes"
    rows = []
    for i, o in enumerate(r.options):
        y = top + i * row_h
        w = int(bar_w * o.count / top_count)
        colour = "#1f6feb" if o.index in r.winner else "#8b949e"
        label = o.text if len(o.text) <= 34 else o.text[:33] + "…"
        share = f" ({o.share:.1%})" if o.share is not None else ""
        rows.append(
            f'<text x="{bar_x - 10}" y="{y + 21}" text-anchor="end">{_esc(label)}</text>'
            f'<rect x="{bar_x}" y="{y + 6}" width="{max(w, 1)}" height="22" fill="{colour}" rx="3"/>'
            f'<text x="{bar_x + max(w, 1) + 6}" y="{y + 21}">{o.count}{share}</text>'
        )
    turnout = f" · turnout {r.turnout:.1%}" if r.turnout is not None else ""
    subtitle = f"{r.counted} counted of {r.ballots} ballots{turnout} · {unit} · {r.status} · source {r.source}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="14" role="img" aria-label="Results of poll {r.poll_id}">'
        f'<rect width="100%" height="100%" fill="#ffffff"/>'
        f'<text x="20" y="30" font-size="18" font-weight="bold">{_esc(r.question[:80])}</text>'
        f'<text x="20" y="52" fill="#57606a">{_esc(subtitle)}</text>' + "".join(rows) + "</svg>"
    )
