"""M-Voting HTTP API: thin routes over :mod:`civic_ledger.voting.service`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from civic_ledger.api.deps import PlatformDep, get_platform
from civic_ledger.api.types import Bytes32
from civic_ledger.voting import service
from civic_ledger.voting.schemas import (
    BallotCreate,
    BallotDraft,
    BallotReceiptOut,
    PollCreate,
    PollDraft,
    PollOut,
    ReceiptOut,
    ResultsOut,
    RevealCreate,
    RevealOut,
    TypedDataOut,
)

router = APIRouter(prefix="/voting", tags=["voting"])

PollId = Annotated[int, Path(ge=1, le=2**64, description="Poll id (from 1).")]


@router.post("/polls/typed-data", response_model=TypedDataOut, summary="Typed data an agency signs to create a poll")
def poll_typed_data(body: PollDraft, platform: PlatformDep) -> TypedDataOut:
    """Resolves defaults (times from chain time, the creator's nonce, a deadline) and returns the
    EIP-712 `CreatePoll` typed data plus `fields`; post `fields` + `signature` to `POST /voting/polls`."""
    return service.poll_typed_data(platform, body)


@router.post("/polls", response_model=PollOut, status_code=201, summary="Create a poll signed by a POLL_ADMIN")
def create_poll(body: PollCreate, platform: PlatformDep) -> PollOut:
    """403 when the signature is not the creator's or the creator lacks POLL_ADMIN_ROLE; 422 with the
    contract error (`MVotingInvalidSchedule`, `MVotingInvalidEligibility`, ...) for bad parameters."""
    return service.create_poll(platform, body)


@router.get("/polls", response_model=list[PollOut], summary="List polls, newest first")
def list_polls(
    platform: PlatformDep,
    status: Annotated[Literal["scheduled", "open", "revealing", "closed", "finalized"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[PollOut]:
    return service.list_polls(platform, status=status, limit=limit, offset=offset)


@router.get("/polls/{poll_id}", response_model=PollOut, summary="One poll, with its texts")
def get_poll(poll_id: PollId, platform: PlatformDep) -> PollOut:
    return service.get_poll(platform, poll_id)


@router.post("/polls/{poll_id}/ballots/typed-data", response_model=TypedDataOut, summary="Typed data a voter signs")
def ballot_typed_data(poll_id: PollId, body: BallotDraft, platform: PlatformDep) -> TypedDataOut:
    """Fills `version` (the voter's current version + 1: a new version replaces the old ballot until
    close) and `deadline`. Sealed polls take a `commitment` computed by the voter, never the choice."""
    return service.ballot_typed_data(platform, poll_id, body)


@router.post(
    "/polls/{poll_id}/ballots", response_model=BallotReceiptOut, status_code=201, summary="Cast a signed ballot"
)
async def cast_ballot(poll_id: PollId, body: BallotCreate, request: Request) -> BallotReceiptOut:
    """Pre-checked (signature, then the contract's `checkBallot`): a bad ballot gets its 4xx at once,
    named by the contract error (403 signature / not a citizen / suspended / not eligible; 409 closed,
    not open, replayed; 422 invalid choice, expired). Good ballots are relayed in the next
    `castBatch` together with other voters' ballots; the answer is the receipt, with `server_receipt`:
    the operator's EIP-191 signature over the ballot hash, the acceptance time and the promised
    inclusion deadline (a ballot missing on chain after it can be sent to `MVoting.cast` by anyone).

    (`async`: the request awaits the batching threads instead of holding a worker thread.)"""
    return await service.cast_ballot_async(get_platform(request), poll_id, body)


@router.post("/polls/{poll_id}/reveals", response_model=RevealOut, summary="Reveal a sealed ballot")
def reveal(poll_id: PollId, body: RevealCreate, platform: PlatformDep) -> RevealOut:
    """During the reveal window (from close to `reveal_ends_at`): the opening (voter, choice, salt)
    must match the commitment of the voter's last ballot."""
    return service.reveal(platform, poll_id, body)


@router.post("/polls/{poll_id}/finalize", response_model=ResultsOut, summary="Close the poll: publish its result")
def finalize(poll_id: PollId, platform: PlatformDep) -> ResultsOut:
    """Emits `PollFinalized` with the counts; 409 before the poll (sealed: its reveal window) ended."""
    return service.finalize(platform, poll_id)


@router.post("/polls/{poll_id}/close", response_model=ResultsOut, summary="Alias of finalize", include_in_schema=False)
def close(poll_id: PollId, platform: PlatformDep) -> ResultsOut:
    return service.finalize(platform, poll_id)


@router.get("/polls/{poll_id}/results", response_model=ResultsOut, summary="Counts per option, turnout")
def results(poll_id: PollId, platform: PlatformDep) -> ResultsOut:
    """Public polls: the running tally; sealed polls: 403 `MVotingTallySealed` until close."""
    return service.results(platform, poll_id)


@router.get(
    "/polls/{poll_id}/results.svg",
    response_class=Response,
    summary="Results as an SVG bar chart",
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def results_svg(poll_id: PollId, platform: PlatformDep) -> Response:
    return Response(service.results_svg(platform, poll_id), media_type="image/svg+xml")


@router.get("/receipts/{ballot_hash}", response_model=ReceiptOut, summary="Check a ballot receipt")
def get_receipt(ballot_hash: Bytes32, platform: PlatformDep) -> ReceiptOut:
    """The ballot's poll, voter, transaction, block and log index, and whether it is still the
    voter's current ballot and counted."""
    return service.receipt(platform, ballot_hash)
