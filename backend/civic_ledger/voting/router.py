"""M-Voting HTTP API: thin routes over :mod:`civic_ledger.voting.service`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from civic_ledger.api.deps import PlatformDep, get_platform
from civic_ledger.platform import actions
from civic_ledger.types import Bytes32
from civic_ledger.voting import encrypted, service
from civic_ledger.voting.encrypted_schemas import (
    ActionOut,
    ElectionOut,
    EncryptedBallotCreate,
    EncryptedBallotDraft,
    EncryptedReceiptOut,
    StepCreate,
    StepDraft,
    StepName,
    TrusteesCreate,
    TrusteesDraft,
)
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


actions.add_route_pair(
    router,
    PlatformDep,
    "/polls",
    actions.Route(
        "poll_typed_data",
        PollDraft,
        TypedDataOut,
        """Resolves defaults (times from chain time, the creator's nonce, a deadline) and returns the
    EIP-712 `CreatePoll` typed data plus `fields`; post `fields` + `signature` to `POST /voting/polls`.""",
        summary="Typed data an agency signs to create a poll",
    ),
    actions.Route(
        "create_poll",
        PollCreate,
        PollOut,
        """403 when the signature is not the creator's or the creator lacks POLL_ADMIN_ROLE; 422 with the
    contract error (`MVotingInvalidSchedule`, `MVotingInvalidEligibility`, ...) for bad parameters.""",
        status_code=201,
        summary="Create a poll signed by a POLL_ADMIN",
    ),
    lambda platform, body: service.poll_typed_data(platform, body),
    lambda platform, body: service.create_poll(platform, body),
)


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


# -- encrypted polls: trustees, DKG, encrypted ballots --------------------------------------


actions.add_route_pair(
    router,
    PlatformDep,
    "/polls/{poll_id}/trustees",
    actions.Route(
        "trustees_typed_data",
        TrusteesDraft,
        TypedDataOut,
        """`NameTrustees` typed data for the poll's creator (before the poll opens).""",
        summary="Typed data to name the trustees",
    ),
    actions.Route(
        "name_trustees",
        TrusteesCreate,
        ActionOut,
        """403 `EncryptedTallyNotPollCreator` unless signed by the poll's creator; 409 once the poll opened.""",
        status_code=201,
        summary="Name the trustees",
    ),
    lambda platform, body, poll_id: encrypted.trustees_typed_data(
        platform, poll_id, body.trustees, body.threshold, body.ttl_s
    ),
    lambda platform, body, poll_id: ActionOut(
        **encrypted.name_trustees(platform, poll_id, body.trustees, body.threshold, body.deadline, body.signature)
    ),
    params=[("poll_id", PollId)],
)


@router.get("/polls/{poll_id}/election", summary="Trustees, DKG progress, election key, encrypted tally")
def get_election(poll_id: PollId, platform: PlatformDep) -> ElectionOut:
    e = encrypted.election(platform, poll_id)
    out = e.to_dict()
    out["commitments"] = {str(i): [str(w) for w in c] for i, c in e.commitments.items()}
    out["encryption_keys"] = {str(i): [str(w) for w in k] for i, k in e.encryption_keys.items()}
    out["dealt_shares"] = {
        str(i): {"ephemeral": [str(w) for w in r], "encrypted_shares": [str(w) for w in s]}
        for i, (r, s) in e.dealt.items()
    }
    out["decryptions"] = {
        str(i): {"shares": [str(w) for w in s], "proofs": [str(w) for w in p]} for i, (s, p) in e.decryptions.items()
    }
    return out


actions.add_route_pair(
    router,
    PlatformDep,
    "/polls/{poll_id}/trustees/{step}",
    actions.Route(
        "step_typed_data",
        StepDraft,
        TypedDataOut,
        """`TrusteeAction` typed data over the step's data hash (commit, deal, decrypt).""",
        summary="Typed data of a trustee step",
    ),
    actions.Route(
        "submit_step",
        StepCreate,
        ActionOut,
        """422 `EncryptedTallyInvalidDecryption` when a partial decryption's proof fails; 409 out of its
    window (DKG before open, decryption after close) or done twice.""",
        status_code=201,
        summary="A trustee step",
    ),
    lambda platform, body, poll_id, step: encrypted.action_typed_data(
        platform, poll_id, body.trustee, step, body.words(), body.ttl_s
    ),
    lambda platform, body, poll_id, step: ActionOut(
        **encrypted.submit_action(platform, poll_id, body.trustee, step, body.words(), body.deadline, body.signature)
    ),
    params=[("poll_id", PollId), ("step", StepName)],
)


@router.post(
    "/polls/{poll_id}/encrypted-ballots/typed-data",
    response_model=TypedDataOut,
    summary="Typed data of an encrypted ballot",
)
def encrypted_ballot_typed_data(poll_id: PollId, body: EncryptedBallotDraft, platform: PlatformDep) -> TypedDataOut:
    """The `Ballot` typed data with choice 0 and commitment = keccak256 of the packed ciphertexts and proofs."""
    return encrypted.encrypted_ballot_typed_data(
        platform, poll_id, body.voter, body.ciphertexts, body.proofs, version=body.version, ttl_s=body.ttl_s
    )


@router.post(
    "/polls/{poll_id}/encrypted-ballots",
    response_model=EncryptedReceiptOut,
    status_code=201,
    summary="Cast an encrypted ballot",
)
def cast_encrypted(poll_id: PollId, body: EncryptedBallotCreate, platform: PlatformDep) -> EncryptedReceiptOut:
    """422 `MVotingInvalidProof` when a proof fails (an option not 0/1, a sum out of range);
    the other rejections as for plain ballots. A vote change subtracts the previous ciphertexts."""
    out = encrypted.cast_encrypted(
        platform,
        poll_id,
        voter=body.voter,
        version=body.version,
        deadline=body.deadline,
        ciphertexts=body.ciphertexts,
        proofs=body.proofs,
        signature=bytes.fromhex(body.signature[2:]),
        proof=[bytes.fromhex(x[2:]) for x in body.proof],
    )
    return EncryptedReceiptOut(**out)
