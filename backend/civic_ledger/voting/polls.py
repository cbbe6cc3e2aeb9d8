"""M-Voting polls: CreatePoll typed data signed by a poll admin, creation, lookups from contract
state plus the index (texts), finalization, results and the results chart.

Creation is the signed action ``create_poll`` of :data:`civic_ledger.voting.actions.ACTIONS`, on the
platform's one pipeline (:mod:`civic_ledger.platform.actions`)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from civic_ledger.errors import (
    Conflict,
    ContractError,
    Forbidden,
    InvalidInput,
    NotFound,
)
from civic_ledger.platform import actions, eip712
from civic_ledger.platform.indexer import fresh_read
from civic_ledger.platform.runtime import Platform
from civic_ledger.voting import ballots as enc
from civic_ledger.voting import projections
from civic_ledger.voting.actions import ACTIONS, poll_params
from civic_ledger.voting.recount import LogRef, struct_dict
from civic_ledger.voting.schemas import (
    OptionOut,
    OptionResult,
    PollCreate,
    PollDraft,
    PollFields,
    PollOut,
    ResultsOut,
    TypedDataOut,
)
from civic_ledger.voting.state import (
    ZERO32,
    PollMeta,
    _bytes32,
    chain_now,
    state,
)

#: The largest time a poll can hold (uint64 in the contract).
UINT64_MAX = 2**64 - 1


# -- polls ---------------------------------------------------------------------------------


def _mask(districts: list[int]) -> int:
    return sum(1 << d for d in set(districts))


def _districts(mask: int) -> list[int]:
    return [d for d in range(32) if mask >> d & 1]


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


#: ``PollParams`` of a ``CreatePoll`` message (kept under its old name for the tests and the CLI)
_poll_params = poll_params


def poll_typed_message(platform: Platform, f: PollFields) -> eip712.TypedMessage:
    return actions.typed_message(platform, ACTIONS["create_poll"], _poll_message(f))


def poll_typed_data(platform: Platform, draft: PollDraft) -> TypedDataOut:
    """Resolve defaults (times from chain time, nonce, deadline) and build the CreatePoll typed data."""
    state(platform)  # the area's state (and its one-time wiring) before the first poll
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
    if draft.secrecy == "encrypted" and (draft.opens_at is None or draft.opens_at <= now):
        raise InvalidInput(
            "an encrypted poll needs opens_at in the future: the trustees are named and run their key "
            f"generation before the poll opens (chain time {now})",
            details={"field": "opens_at"},
        )
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
            nonce=actions.nonce_of(platform, ACTIONS["create_poll"], draft.creator),
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
    signed = actions.Signed(platform, ACTIONS["create_poll"], _poll_message(body), body.signature).verify()
    role = st.contract.functions.POLL_ADMIN_ROLE().call()
    if not st.contract.functions.hasRole(role, body.creator).call():
        raise Forbidden(
            f"{body.creator} may not create polls: it does not hold POLL_ADMIN_ROLE", code="MVotingNotPollAdmin"
        )
    receipt = signed.send()
    (event,) = st.contract.events.PollCreated().process_receipt(receipt.raw)
    return get_poll(platform, int(event["args"]["pollId"]))


def _poll_state(platform: Platform, poll_id: int) -> dict[str, Any]:
    st = state(platform)
    if poll_id < 1:
        raise NotFound(f"poll {poll_id} does not exist (ids start at 1)", code="MVotingUnknownPoll")
    try:
        value = st.views.call("getPoll", poll_id)
    except ContractError as exc:
        if exc.error_name == "MVotingUnknownPoll":
            raise NotFound(f"poll {poll_id} does not exist", code="MVotingUnknownPoll") from None
        raise
    return struct_dict(st.views.outputs("getPoll")[0]["components"], value)


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


def finalize(platform: Platform, poll_id: int) -> ResultsOut:
    """Publish the result (PollFinalized) once the poll (and its reveal window) has ended."""
    st = state(platform)
    p = _poll_state(platform, poll_id)
    if p["finalized"]:
        raise Conflict(f"poll {poll_id} is already finalized", code="MVotingAlreadyFinalized")
    if p["secrecy"] == 2:
        from civic_ledger.voting.encrypted import publish_result

        return publish_result(platform, poll_id)
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
        if secrecy == "encrypted":
            raise Forbidden(
                f"poll {poll_id} is encrypted: its tally is a ciphertext until t trustees decrypt it after close "
                f"at {p['closesAt']} and the result is published",
                code="MVotingTallySealed",
                details={"closes_at": p["closesAt"], "chain_time": now},
            )
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
