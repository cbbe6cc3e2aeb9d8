"""M-Voting HTTP API: thin routes over :mod:`civic_ledger.voting.service`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from civic_ledger.api.deps import PlatformDep, get_platform
from civic_ledger.platform import routes
from civic_ledger.types import Bytes32
from civic_ledger.voting import encrypted, encrypted_schemas, schemas, service

router = APIRouter(prefix="/voting", tags=["voting"])

PollId = Annotated[int, Path(ge=1, le=2**64, description="Poll id (from 1).")]
_POLL = [("poll_id", PollId)]


# -- polls and ballots -----------------------------------------------------------------------

POLLS: list[routes.Entry] = [
    routes.Pair(
        "create_poll",
        "/polls",
        schemas.PollDraft,
        schemas.PollCreate,
        service.poll_typed_data,
        service.create_poll,
        typed_name="poll_typed_data",
        typed_response=schemas.TypedDataOut,
        typed_summary="Typed data an agency signs to create a poll",
        typed_doc="""Resolves defaults (times from chain time, the creator's nonce, a deadline) and returns the
    EIP-712 `CreatePoll` typed data plus `fields`; post `fields` + `signature` to `POST /voting/polls`.""",
        response=schemas.PollOut,
        summary="Create a poll signed by a POLL_ADMIN",
        doc="""403 when the signature is not the creator's or the creator lacks POLL_ADMIN_ROLE; 422 with the
    contract error (`MVotingInvalidSchedule`, `MVotingInvalidEligibility`, ...) for bad parameters.""",
        status_code=201,
    ),
    routes.get("/polls/{poll_id}", service.get_poll, schemas.PollOut, "One poll, with its texts", params=_POLL),
    routes.post(
        "/polls/{poll_id}/ballots/typed-data",
        service.ballot_typed_data,
        schemas.TypedDataOut,
        "Typed data a voter signs",
        params=_POLL,
        body=schemas.BallotDraft,
        doc="""Fills `version` (the voter's current version + 1: a new version replaces the old ballot until
    close) and `deadline`. Sealed polls take a `commitment` computed by the voter, never the choice.""",
    ),
    routes.post(
        "/polls/{poll_id}/reveals",
        service.reveal,
        schemas.RevealOut,
        "Reveal a sealed ballot",
        params=_POLL,
        body=schemas.RevealCreate,
        doc="""During the reveal window (from close to `reveal_ends_at`): the opening (voter, choice, salt)
    must match the commitment of the voter's last ballot.""",
    ),
    routes.post(
        "/polls/{poll_id}/finalize",
        service.finalize,
        schemas.ResultsOut,
        "Close the poll: publish its result",
        params=_POLL,
        doc="Emits `PollFinalized` with the counts; 409 before the poll (sealed: its reveal window) ended.",
    ),
    routes.post(
        "/polls/{poll_id}/close",
        service.finalize,
        schemas.ResultsOut,
        "Alias of finalize",
        name="close",
        params=_POLL,
        include_in_schema=False,
    ),
    routes.get(
        "/polls/{poll_id}/results",
        service.results,
        schemas.ResultsOut,
        "Counts per option, turnout",
        params=_POLL,
        doc="Public polls: the running tally; sealed polls: 403 `MVotingTallySealed` until close.",
    ),
    routes.get(
        "/receipts/{ballot_hash}",
        service.receipt,
        schemas.ReceiptOut,
        "Check a ballot receipt",
        name="get_receipt",
        params=[("ballot_hash", Bytes32)],
        doc="""The ballot's poll, voter, transaction, block and log index, and whether it is still the
    voter's current ballot and counted.""",
    ),
]

# -- encrypted polls: trustees, DKG, encrypted ballots --------------------------------------
# (the trustees' pair first: ``/trustees/typed-data`` must not be taken for a step)

ENCRYPTED: list[routes.Entry] = [
    routes.Pair(
        "name_trustees",
        "/polls/{poll_id}/trustees",
        encrypted_schemas.TrusteesDraft,
        encrypted_schemas.TrusteesCreate,
        lambda platform, poll_id, body: encrypted.trustees_typed_data(
            platform, poll_id, body.trustees, body.threshold, body.ttl_s
        ),
        lambda platform, poll_id, body: encrypted_schemas.ActionOut(
            **encrypted.name_trustees(platform, poll_id, body.trustees, body.threshold, body.deadline, body.signature)
        ),
        params=_POLL,
        typed_name="trustees_typed_data",
        typed_response=schemas.TypedDataOut,
        typed_summary="Typed data to name the trustees",
        typed_doc="`NameTrustees` typed data for the poll's creator (before the poll opens).",
        response=encrypted_schemas.ActionOut,
        summary="Name the trustees",
        doc="403 `EncryptedTallyNotPollCreator` unless signed by the poll's creator; 409 once the poll opened.",
        status_code=201,
    ),
    routes.Pair(
        "submit_step",
        "/polls/{poll_id}/trustees/{step}",
        encrypted_schemas.StepDraft,
        encrypted_schemas.StepCreate,
        lambda platform, poll_id, step, body: encrypted.action_typed_data(
            platform, poll_id, body.trustee, step, body.words(), body.ttl_s
        ),
        lambda platform, poll_id, step, body: encrypted_schemas.ActionOut(
            **encrypted.submit_action(
                platform, poll_id, body.trustee, step, body.words(), body.deadline, body.signature
            )
        ),
        params=[*_POLL, ("step", encrypted_schemas.StepName)],
        typed_name="step_typed_data",
        typed_response=schemas.TypedDataOut,
        typed_summary="Typed data of a trustee step",
        typed_doc="`TrusteeAction` typed data over the step's data hash (commit, deal, decrypt).",
        response=encrypted_schemas.ActionOut,
        summary="A trustee step",
        doc="""422 `EncryptedTallyInvalidDecryption` when a partial decryption's proof fails; 409 out of its
    window (DKG before open, decryption after close) or done twice.""",
        status_code=201,
    ),
]

routes.add_routes(router, PlatformDep, [*POLLS, *ENCRYPTED])


@router.get("/polls", response_model=list[schemas.PollOut], summary="List polls, newest first")
def list_polls(
    platform: PlatformDep,
    status: Annotated[Literal["scheduled", "open", "revealing", "closed", "finalized"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[schemas.PollOut]:
    return service.list_polls(platform, status=status, limit=limit, offset=offset)


@router.post(
    "/polls/{poll_id}/ballots", response_model=schemas.BallotReceiptOut, status_code=201, summary="Cast a signed ballot"
)
async def cast_ballot(poll_id: PollId, body: schemas.BallotCreate, request: Request) -> schemas.BallotReceiptOut:
    """Pre-checked (signature, then the contract's `checkBallot`): a bad ballot gets its 4xx at once,
    named by the contract error (403 signature / not a citizen / suspended / not eligible; 409 closed,
    not open, replayed; 422 invalid choice, expired). Good ballots are relayed in the next
    `castBatch` together with other voters' ballots; the answer is the receipt, with `server_receipt`:
    the operator's EIP-191 signature over the ballot hash, the acceptance time and the promised
    inclusion deadline (a ballot missing on chain after it can be sent to `MVoting.cast` by anyone).

    (`async`: the request awaits the batching threads instead of holding a worker thread.)"""
    return await service.cast_ballot_async(get_platform(request), poll_id, body)


@router.get(
    "/polls/{poll_id}/results.svg",
    response_class=Response,
    summary="Results as an SVG bar chart",
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def results_svg(poll_id: PollId, platform: PlatformDep) -> Response:
    return Response(service.results_svg(platform, poll_id), media_type="image/svg+xml")


@router.get("/polls/{poll_id}/election", summary="Trustees, DKG progress, election key, encrypted tally")
def get_election(poll_id: PollId, platform: PlatformDep) -> encrypted_schemas.ElectionOut:
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


@router.post(
    "/polls/{poll_id}/encrypted-ballots/typed-data",
    response_model=schemas.TypedDataOut,
    summary="Typed data of an encrypted ballot",
)
def encrypted_ballot_typed_data(
    poll_id: PollId, body: encrypted_schemas.EncryptedBallotDraft, platform: PlatformDep
) -> schemas.TypedDataOut:
    """The `Ballot` typed data with choice 0 and commitment = keccak256 of the packed ciphertexts and proofs."""
    return encrypted.encrypted_ballot_typed_data(
        platform, poll_id, body.voter, body.ciphertexts, body.proofs, version=body.version, ttl_s=body.ttl_s
    )


@router.post(
    "/polls/{poll_id}/encrypted-ballots",
    response_model=encrypted_schemas.EncryptedReceiptOut,
    status_code=201,
    summary="Cast an encrypted ballot",
)
def cast_encrypted(
    poll_id: PollId, body: encrypted_schemas.EncryptedBallotCreate, platform: PlatformDep
) -> encrypted_schemas.EncryptedReceiptOut:
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
    return encrypted_schemas.EncryptedReceiptOut(**out)
