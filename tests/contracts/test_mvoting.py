"""MVoting: poll creation signed by a POLL_ADMIN_ROLE holder, public ballots signed by citizens, versions,
batches and finalize. (Sealed and encrypted polls are left to their own tests: they are being changed.)"""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tests.contracts.chain import ZERO, ZERO32, Env, fields, h, register_citizen, role
from tests.contracts.chain import citizen_action as act

CREATE_POLL = fields(
    "string question,string[] options,uint8 ballotType,uint8 maxChoices,uint8 secrecy,uint64 opensAt,"
    "uint64 closesAt,uint64 revealEndsAt,uint8 eligibility,uint32 districtMask,uint16 minBirthYear,"
    "uint16 maxBirthYear,bytes32 censusRoot,uint32 eligibleCount,address creator,uint256 nonce,uint256 deadline"
)
BALLOT = fields("uint256 pollId,address voter,uint256 choice,bytes32 commitment,uint32 version,uint256 deadline")
POLL_FIELDS = [
    "questionHash",
    "optionsHash",
    "censusRoot",
    "creator",
    "opensAt",
    "numOptions",
    "maxChoices",
    "ballotType",
    "secrecy",
    "closesAt",
    "revealEndsAt",
    "districtMask",
    "minBirthYear",
    "maxBirthYear",
    "eligibleCount",
    "eligibility",
    "finalized",
    "ballots",
    "counted",
]
SINGLE, APPROVAL, RANKED = 0, 1, 2
ALL, DISTRICTS, AGE_BAND, CENSUS = 0, 1, 2, 3


@pytest.fixture
def creator(env: Env) -> LocalAccount:
    account = env.account(2)
    env.send(env["MVoting"].functions.grantRole(role("POLL_ADMIN_ROLE"), account.address), env.admin)
    return account


def params(env: Env, **over: Any) -> dict[str, Any]:
    now = env.now()
    p = {
        "question": "Park or parking?",
        "options": ["park", "parking", "neither"],
        "ballotType": SINGLE,
        "maxChoices": 1,
        "secrecy": 0,
        "opensAt": now,
        "closesAt": now + 1000,
        "revealEndsAt": 0,
        "eligibility": ALL,
        "districtMask": 0,
        "minBirthYear": 0,
        "maxBirthYear": 0,
        "censusRoot": ZERO32,
        "eligibleCount": 100,
    }
    p.update(over)
    return p


def create(
    env: Env,
    creator: LocalAccount,
    p: dict[str, Any],
    *,
    signer: LocalAccount | None = None,
    nonce: int | None = None,
    deadline: int | None = None,
) -> Any:
    voting = env["MVoting"]
    message = {
        **p,
        "creator": creator.address,
        "nonce": voting.functions.nonces(creator.address).call() if nonce is None else nonce,
        "deadline": env.now() + 3600 if deadline is None else deadline,
    }
    sig = env.sign(signer or creator, "MVoting", "CreatePoll", CREATE_POLL, message)
    return voting.functions.createPoll(tuple(p.values()), creator.address, message["nonce"], message["deadline"], sig)


def new_poll(env: Env, creator: LocalAccount, **over: Any) -> int:
    receipt = env.send(create(env, creator, params(env, **over)), env.admin)
    return int(env.events(receipt)[0][1]["pollId"])


def ballot(
    env: Env,
    poll_id: int,
    voter: LocalAccount,
    choice: int,
    *,
    version: int = 1,
    deadline: int | None = None,
    signer: LocalAccount | None = None,
    commitment: bytes = ZERO32,
) -> tuple:
    deadline = env.now() + 3600 if deadline is None else deadline
    message = {
        "pollId": poll_id,
        "voter": voter.address,
        "choice": choice,
        "commitment": commitment,
        "version": version,
        "deadline": deadline,
    }
    sig = env.sign(signer or voter, "MVoting", "Ballot", BALLOT, message)
    return (poll_id, voter.address, choice, commitment, version, deadline, sig, [])


def digest(env: Env, b: tuple) -> bytes:
    return env["MVoting"].functions.ballotDigest(*b[:6]).call()


# -- roles and constants ------------------------------------------------------------------------------


def test_constants_and_roles(env: Env) -> None:
    voting = env["MVoting"]
    assert voting.functions.POLL_ADMIN_ROLE().call() == role("POLL_ADMIN_ROLE")
    assert voting.functions.MAX_OPTIONS().call() == 32
    assert voting.functions.registry().call() == env["CitizenRegistry"].address
    assert voting.functions.BALLOT_TYPEHASH().call() == keccak(
        text="Ballot(" + ",".join(f"{t} {n}" for t, n in BALLOT) + ")"
    )
    assert voting.functions.CREATE_POLL_TYPEHASH().call() == keccak(
        text="CreatePoll(" + ",".join(f"{t} {n}" for t, n in CREATE_POLL) + ")"
    )
    assert voting.functions.hasRole(role("DEFAULT_ADMIN_ROLE"), env.admin.address).call()
    assert not voting.functions.hasRole(role("POLL_ADMIN_ROLE"), env.admin.address).call()


def test_grant_poll_admin_needs_admin_role(env: Env) -> None:
    outsider = env.account(5)
    assert env.reverts(env["MVoting"].functions.grantRole(role("POLL_ADMIN_ROLE"), outsider.address), outsider) == (
        "AccessControlUnauthorizedAccount",
        outsider.address,
        role("DEFAULT_ADMIN_ROLE"),
    )


# -- createPoll ---------------------------------------------------------------------------------------


def test_create_poll_stores_hashes_and_emits_texts(env: Env, creator: LocalAccount) -> None:
    voting = env["MVoting"]
    p = params(env)
    events = env.emitted(create(env, creator, p), env.account(9))
    option_hashes = b"".join(keccak(text=o) for o in p["options"])
    stored = (
        keccak(text=p["question"]),
        keccak(option_hashes),
        ZERO32,
        creator.address,
        p["opensAt"],
        3,
        1,
        SINGLE,
        0,
        p["closesAt"],
        0,
        0,
        0,
        0,
        100,
        ALL,
        False,
        0,
        0,
    )
    assert events == [
        (
            "PollCreated",
            {
                "pollId": 1,
                "creator": creator.address,
                "poll": dict(zip(POLL_FIELDS, stored, strict=True)),
                "question": p["question"],
                "options": tuple(p["options"]),
            },
        )
    ]
    assert voting.functions.getPoll(1).call() == stored
    assert voting.functions.pollCount().call() == 1
    assert voting.functions.nonces(creator.address).call() == 1


def test_create_poll_by_non_admin_reverts(env: Env) -> None:
    outsider = env.account(5)
    assert env.reverts(create(env, outsider, params(env)), env.admin) == ("MVotingNotPollAdmin", outsider.address)


def test_create_poll_signed_by_other_key_reverts(env: Env, creator: LocalAccount) -> None:
    assert env.reverts(create(env, creator, params(env), signer=env.account(8)), env.admin) == (
        "MVotingInvalidSignature",
        creator.address,
    )


def test_create_poll_signature_does_not_cover_other_params(env: Env, creator: LocalAccount) -> None:
    fn = create(env, creator, params(env))
    tampered = params(env, question="Something else?")
    args = list(fn.args)
    args[0] = tuple(tampered.values())
    assert env.reverts(env["MVoting"].functions.createPoll(*args), env.admin) == (
        "MVotingInvalidSignature",
        creator.address,
    )


def test_create_poll_expired_deadline_reverts(env: Env, creator: LocalAccount) -> None:
    deadline = env.now() - 1
    assert env.reverts(create(env, creator, params(env), deadline=deadline), env.admin) == (
        "MVotingSignatureExpired",
        deadline,
    )


def test_create_poll_replayed_nonce_reverts(env: Env, creator: LocalAccount) -> None:
    fn = create(env, creator, params(env))
    env.send(fn, env.admin)
    assert env.reverts(fn, env.admin) == ("InvalidAccountNonce", creator.address, 1)


@pytest.mark.parametrize(
    ("over", "error"),
    [
        ({"options": ["only"]}, ("MVotingInvalidOptions", 1)),
        ({"options": [f"o{i}" for i in range(33)]}, ("MVotingInvalidOptions", 33)),
        ({"ballotType": SINGLE, "maxChoices": 2}, ("MVotingInvalidMaxChoices", SINGLE, 2)),
        ({"ballotType": APPROVAL, "maxChoices": 0}, ("MVotingInvalidMaxChoices", APPROVAL, 0)),
        ({"ballotType": RANKED, "maxChoices": 4}, ("MVotingInvalidMaxChoices", RANKED, 4)),
        ({"eligibility": DISTRICTS}, ("MVotingInvalidEligibility", DISTRICTS)),
        ({"eligibility": AGE_BAND}, ("MVotingInvalidEligibility", AGE_BAND)),
        ({"eligibility": CENSUS}, ("MVotingInvalidEligibility", CENSUS)),
        ({"districtMask": 2}, ("MVotingInvalidEligibility", ALL)),
        ({"censusRoot": h("root")}, ("MVotingInvalidEligibility", ALL)),
        (
            {"eligibility": DISTRICTS, "districtMask": 1},
            ("MVotingInvalidEligibility", DISTRICTS),
        ),  # bit 0 = no district
        ({"eligibility": DISTRICTS, "districtMask": 1 << 26}, ("MVotingInvalidEligibility", DISTRICTS)),
        (
            {"eligibility": AGE_BAND, "minBirthYear": 2000, "maxBirthYear": 1990},
            ("MVotingInvalidEligibility", AGE_BAND),
        ),
        ({"eligibility": CENSUS, "censusRoot": h("r"), "districtMask": 2}, ("MVotingInvalidEligibility", CENSUS)),
    ],
)
def test_create_poll_rejects_invalid_params(
    env: Env, creator: LocalAccount, over: dict[str, Any], error: tuple
) -> None:
    assert env.reverts(create(env, creator, params(env, **over)), env.admin) == error


def test_create_poll_rejects_invalid_schedules(env: Env, creator: LocalAccount) -> None:
    now = env.now()
    for opens, closes, reveal in [(now + 10, now + 10, 0), (now - 100, now - 1, 0), (now, now + 100, now + 200)]:
        fn = create(env, creator, params(env, opensAt=opens, closesAt=closes, revealEndsAt=reveal))
        assert env.reverts(fn, env.admin) == ("MVotingInvalidSchedule", opens, closes, reveal)
    fn = create(env, creator, params(env, secrecy=1, opensAt=now, closesAt=now + 100, revealEndsAt=now + 100))
    assert env.reverts(fn, env.admin) == ("MVotingInvalidSchedule", now, now + 100, now + 100)


def test_create_poll_accepts_boundaries(env: Env, creator: LocalAccount) -> None:
    new_poll(env, creator, options=[f"o{i}" for i in range(32)], ballotType=RANKED, maxChoices=32)
    new_poll(
        env,
        creator,
        options=["a", "b"],
        ballotType=APPROVAL,
        maxChoices=2,
        eligibility=DISTRICTS,
        districtMask=0x3FFFFFE,
    )
    assert new_poll(env, creator, eligibility=AGE_BAND, minBirthYear=1990, maxBirthYear=1990) == 3


def test_get_poll_unknown_reverts(env: Env) -> None:
    assert env.call_reverts(env["MVoting"].functions.getPoll(7)) == ("MVotingUnknownPoll", 7)
    assert env.call_reverts(env["MVoting"].functions.tallyOf(7)) == ("MVotingUnknownPoll", 7)


# -- cast ---------------------------------------------------------------------------------------------


def test_cast_counts_ballot_and_emits_receipt(env: Env, creator: LocalAccount) -> None:
    voting, voter = env["MVoting"], env.account(3)
    cid = register_citizen(env, voter)
    poll = new_poll(env, creator)
    b = ballot(env, poll, voter, 2)
    assert env.emitted(voting.functions.cast(b), env.account(9)) == [
        (
            "BallotCast",
            {
                "pollId": poll,
                "voter": voter.address,
                "citizenId": cid,
                "ballotHash": digest(env, b),
                "version": 1,
                "choice": 2,
                "commitment": ZERO32,
            },
        )
    ]
    assert voting.functions.tallyOf(poll).call() == [[0, 0, 1], 1]
    assert voting.functions.ballotOf(poll, cid).call() == [1, True]
    assert voting.functions.voterKeyOf(poll, voter.address).call() == cid
    assert voting.functions.getPoll(poll).call()[17:] == (1, 1)


def test_cast_higher_version_moves_the_vote(env: Env, creator: LocalAccount) -> None:
    voting, voter = env["MVoting"], env.account(3)
    cid = register_citizen(env, voter)
    poll = new_poll(env, creator)
    env.send(voting.functions.cast(ballot(env, poll, voter, 0)), env.admin)
    env.send(voting.functions.cast(ballot(env, poll, voter, 1, version=5)), env.admin)
    assert voting.functions.tallyOf(poll).call() == [[0, 1, 0], 1]
    assert voting.functions.ballotOf(poll, cid).call() == [5, True]
    assert voting.functions.getPoll(poll).call()[17:] == (1, 1)
    for version in (5, 4):
        assert env.reverts(voting.functions.cast(ballot(env, poll, voter, 2, version=version)), env.admin) == (
            "MVotingReplayed",
            poll,
            cid,
            version,
            5,
        )


def test_cast_same_ballot_twice_reverts_replayed(env: Env, creator: LocalAccount) -> None:
    voting, voter = env["MVoting"], env.account(3)
    cid = register_citizen(env, voter)
    poll = new_poll(env, creator)
    b = ballot(env, poll, voter, 0)
    env.send(voting.functions.cast(b), env.admin)
    assert env.reverts(voting.functions.cast(b), env.admin) == ("MVotingReplayed", poll, cid, 1, 1)


def test_cast_version_zero_reverts_replayed(env: Env, creator: LocalAccount) -> None:
    voter = env.account(3)
    cid = register_citizen(env, voter)
    poll = new_poll(env, creator)
    assert env.reverts(env["MVoting"].functions.cast(ballot(env, poll, voter, 0, version=0)), env.admin) == (
        "MVotingReplayed",
        poll,
        cid,
        0,
        0,
    )


def test_cast_error_paths(env: Env, creator: LocalAccount) -> None:
    voting, voter, stranger = env["MVoting"], env.account(3), env.account(4)
    register_citizen(env, voter)
    poll = new_poll(env, creator)
    cast = voting.functions.cast
    assert env.reverts(cast(ballot(env, 99, voter, 0)), env.admin) == ("MVotingUnknownPoll", 99)
    expired = env.now() - 1
    assert env.reverts(cast(ballot(env, poll, voter, 0, deadline=expired)), env.admin) == (
        "MVotingSignatureExpired",
        expired,
    )
    assert env.reverts(cast(ballot(env, poll, voter, 0, commitment=h("c"))), env.admin) == (
        "MVotingInvalidCommitment",
        poll,
        h("c"),
    )
    assert env.reverts(cast(ballot(env, poll, voter, 3)), env.admin) == ("MVotingInvalidChoice", poll, 3)
    assert env.reverts(cast(ballot(env, poll, voter, 0, signer=stranger)), env.admin) == (
        "MVotingInvalidSignature",
        voter.address,
    )
    assert env.reverts(cast(ballot(env, poll, stranger, 0)), env.admin) == ("MVotingNotCitizen", stranger.address)
    b = list(ballot(env, poll, voter, 0))
    b[6] = b[6][:64]  # a 64-byte signature
    assert env.reverts(cast(tuple(b)), env.admin) == ("MVotingInvalidSignature", voter.address)


def test_cast_zero_voter_reverts_invalid_signature(env: Env, creator: LocalAccount) -> None:
    poll = new_poll(env, creator)
    b = list(ballot(env, poll, env.account(3), 0))
    b[1] = ZERO
    assert env.reverts(env["MVoting"].functions.cast(tuple(b)), env.admin) == ("MVotingInvalidSignature", ZERO)


def test_cast_window_is_half_open(env: Env, creator: LocalAccount) -> None:
    voting, voter = env["MVoting"], env.account(3)
    register_citizen(env, voter)
    now = env.now()
    poll = new_poll(env, creator, opensAt=now + 100, closesAt=now + 200)
    env.next_timestamp(now + 99)
    assert env.reverts(voting.functions.cast(ballot(env, poll, voter, 0)), env.admin) == (
        "MVotingPollNotOpen",
        poll,
        now + 100,
    )
    env.next_timestamp(now + 100)
    env.send(voting.functions.cast(ballot(env, poll, voter, 0)), env.admin)
    env.next_timestamp(now + 199)
    env.send(voting.functions.cast(ballot(env, poll, voter, 1, version=2)), env.admin)
    env.next_timestamp(now + 200)
    assert env.reverts(voting.functions.cast(ballot(env, poll, voter, 2, version=3)), env.admin) == (
        "MVotingPollClosed",
        poll,
        now + 200,
    )


def test_cast_by_suspended_citizen_reverts(env: Env, creator: LocalAccount) -> None:
    voter = env.account(3)
    cid = register_citizen(env, voter)
    env.send(act(env, "SuspendCitizen", citizenId=cid, reason=1), env.admin)
    poll = new_poll(env, creator)
    assert env.reverts(env["MVoting"].functions.cast(ballot(env, poll, voter, 0)), env.admin) == (
        "MVotingSuspended",
        voter.address,
        cid,
    )


def test_cast_district_and_age_filters(env: Env, creator: LocalAccount) -> None:
    voting = env["MVoting"]
    inside, outside, young = env.account(3), env.account(4), env.account(5)
    register_citizen(env, inside, district=5, birth_year=1980)
    register_citizen(env, outside, district=6, birth_year=1980)
    register_citizen(env, young, district=5, birth_year=2010)
    poll = new_poll(env, creator, eligibility=DISTRICTS, districtMask=1 << 5, maxBirthYear=2000)
    env.send(voting.functions.cast(ballot(env, poll, inside, 0)), env.admin)
    for who in (outside, young):
        assert env.reverts(voting.functions.cast(ballot(env, poll, who, 0)), env.admin) == (
            "MVotingNotEligible",
            poll,
            who.address,
        )
    band = new_poll(env, creator, eligibility=AGE_BAND, minBirthYear=1981)
    assert env.reverts(voting.functions.cast(ballot(env, band, inside, 0)), env.admin) == (
        "MVotingNotEligible",
        band,
        inside.address,
    )


def test_approval_and_ranked_choices(env: Env, creator: LocalAccount) -> None:
    voting, voter = env["MVoting"], env.account(3)
    register_citizen(env, voter)
    approval = new_poll(env, creator, ballotType=APPROVAL, maxChoices=2)
    for bad in (0, 0b111, 0b1000):
        assert env.reverts(voting.functions.cast(ballot(env, approval, voter, bad)), env.admin) == (
            "MVotingInvalidChoice",
            approval,
            bad,
        )
    env.send(voting.functions.cast(ballot(env, approval, voter, 0b101)), env.admin)
    assert voting.functions.tallyOf(approval).call() == [[1, 0, 1], 1]
    ranked = new_poll(env, creator, ballotType=RANKED, maxChoices=2)
    for bad in (0, 0x0101, 0x04, 0x030201, 0x0100):
        assert env.reverts(voting.functions.cast(ballot(env, ranked, voter, bad)), env.admin) == (
            "MVotingInvalidChoice",
            ranked,
            bad,
        )
    env.send(voting.functions.cast(ballot(env, ranked, voter, 0x0103)), env.admin)  # 1st: option 3, 2nd: option 1
    assert voting.functions.tallyOf(ranked).call() == [[1, 0, 2], 1]  # Borda: 2 points, then 1
    env.send(voting.functions.cast(ballot(env, ranked, voter, 0x02, version=2)), env.admin)
    assert voting.functions.tallyOf(ranked).call() == [[0, 2, 0], 1]


# -- castBatch ----------------------------------------------------------------------------------------


def test_cast_batch_accepts_good_and_reports_bad(env: Env, creator: LocalAccount) -> None:
    voting, a, b, stranger = env["MVoting"], env.account(3), env.account(4), env.account(5)
    cid_a, cid_b = register_citizen(env, a), register_citizen(env, b)
    poll = new_poll(env, creator)
    ballots = [
        ballot(env, poll, a, 0),
        ballot(env, poll, stranger, 1),  # not a citizen
        ballot(env, poll, b, 9),  # invalid choice
        ballot(env, poll, b, 1),
        ballot(env, poll, a, 2),  # same version again: replayed
        ballot(env, 42, a, 0),  # unknown poll
    ]
    assert voting.functions.castBatch(ballots).call({"from": env.admin.address}) == 2
    events = env.emitted(voting.functions.castBatch(ballots), env.admin)
    assert events == [
        (
            "BallotCast",
            {
                "pollId": poll,
                "voter": a.address,
                "citizenId": cid_a,
                "ballotHash": digest(env, ballots[0]),
                "version": 1,
                "choice": 0,
                "commitment": ZERO32,
            },
        ),
        (
            "BallotRejected",
            {"pollId": poll, "voter": stranger.address, "ballotHash": digest(env, ballots[1]), "reason": 6},
        ),
        ("BallotRejected", {"pollId": poll, "voter": b.address, "ballotHash": digest(env, ballots[2]), "reason": 10}),
        (
            "BallotCast",
            {
                "pollId": poll,
                "voter": b.address,
                "citizenId": cid_b,
                "ballotHash": digest(env, ballots[3]),
                "version": 1,
                "choice": 1,
                "commitment": ZERO32,
            },
        ),
        ("BallotRejected", {"pollId": poll, "voter": a.address, "ballotHash": digest(env, ballots[4]), "reason": 9}),
        ("BallotRejected", {"pollId": 42, "voter": a.address, "ballotHash": digest(env, ballots[5]), "reason": 1}),
    ]
    assert voting.functions.tallyOf(poll).call() == [[1, 1, 0], 2]


def test_cast_batch_empty_accepts_nothing(env: Env) -> None:
    assert env.emitted(env["MVoting"].functions.castBatch([]), env.admin) == []


def test_check_ballot_reports_reason_without_state_change(env: Env, creator: LocalAccount) -> None:
    voting, voter = env["MVoting"], env.account(3)
    cid = register_citizen(env, voter)
    poll = new_poll(env, creator)
    b = ballot(env, poll, voter, 1)
    assert voting.functions.checkBallot(b).call() == [0, cid, digest(env, b)]
    assert voting.functions.checkBallot(ballot(env, poll, voter, 7)).call()[0] == 10


# -- finalize -----------------------------------------------------------------------------------------


def test_finalize_after_close(env: Env, creator: LocalAccount) -> None:
    voting, voter = env["MVoting"], env.account(3)
    register_citizen(env, voter)
    now = env.now()
    poll = new_poll(env, creator, closesAt=now + 100)
    env.send(voting.functions.cast(ballot(env, poll, voter, 1)), env.admin)
    env.next_timestamp(now + 99)
    assert env.reverts(voting.functions.finalize(poll), env.admin) == ("MVotingPollNotEnded", poll, now + 100)
    env.next_timestamp(now + 100)
    assert env.emitted(voting.functions.finalize(poll), env.account(9)) == [
        ("PollFinalized", {"pollId": poll, "counts": (0, 1, 0), "ballots": 1, "counted": 1})
    ]
    assert voting.functions.getPoll(poll).call()[16] is True
    assert env.reverts(voting.functions.finalize(poll), env.admin) == ("MVotingAlreadyFinalized", poll)


def test_finalize_unknown_poll_reverts(env: Env) -> None:
    assert env.reverts(env["MVoting"].functions.finalize(5), env.admin) == ("MVotingUnknownPoll", 5)


def test_constructor_rejects_zero_addresses(env: Env) -> None:
    registry = env["CitizenRegistry"].address
    assert env.deploy_reverts("MVoting", ZERO, registry) == ("MVotingZeroAddress",)
    assert env.deploy_reverts("MVoting", env.admin.address, ZERO) == ("MVotingZeroAddress",)


def census(addresses: list[str]) -> tuple[bytes, dict[str, list[bytes]]]:
    """OpenZeppelin StandardMerkleTree over ``[address]`` leaves (four of them): root and each voter's proof."""
    leaves = {a: keccak(keccak(encode(["address"], [a]))) for a in addresses}
    ordered = sorted(leaves.values())
    pairs = [keccak(b"".join(sorted(ordered[i : i + 2]))) for i in (0, 2)]
    root = keccak(b"".join(sorted(pairs)))
    proofs = {}
    for a, leaf in leaves.items():
        i = ordered.index(leaf)
        proofs[a] = [ordered[i ^ 1], pairs[1 - i // 2]]
    return root, proofs


def test_census_poll_counts_members_by_address(env: Env, creator: LocalAccount) -> None:
    voting = env["MVoting"]
    members = [env.account(i) for i in (3, 4, 5, 6)]  # no identity needed: the census is the register
    root, proofs = census([m.address for m in members])
    poll = new_poll(env, creator, eligibility=CENSUS, censusRoot=root)
    voter = members[1]
    b = list(ballot(env, poll, voter, 1))
    b[7] = proofs[voter.address]
    assert env.emitted(voting.functions.cast(tuple(b)), env.admin) == [
        (
            "BallotCast",
            {
                "pollId": poll,
                "voter": voter.address,
                "citizenId": int(voter.address, 16),
                "ballotHash": digest(env, tuple(b)),
                "version": 1,
                "choice": 1,
                "commitment": ZERO32,
            },
        )
    ]
    assert voting.functions.voterKeyOf(poll, voter.address).call() == int(voter.address, 16)
    assert voting.functions.ballotOf(poll, int(voter.address, 16)).call() == [1, True]
    outsider = env.account(7)
    b = list(ballot(env, poll, outsider, 1))
    b[7] = proofs[voter.address]
    assert env.reverts(voting.functions.cast(tuple(b)), env.admin) == ("MVotingNotEligible", poll, outsider.address)
    b = list(ballot(env, poll, members[2], 1))
    b[7] = proofs[voter.address]  # another member's proof
    assert env.reverts(voting.functions.cast(tuple(b)), env.admin) == ("MVotingNotEligible", poll, members[2].address)


def test_cast_batch_across_polls(env: Env, creator: LocalAccount) -> None:
    voting, voter = env["MVoting"], env.account(3)
    register_citizen(env, voter)
    first, second = new_poll(env, creator), new_poll(env, creator, options=["yes", "no"])
    ballots = [ballot(env, first, voter, 2), ballot(env, second, voter, 1), ballot(env, first, voter, 0, version=2)]
    assert voting.functions.castBatch(ballots).call({"from": env.admin.address}) == 3
    env.send(voting.functions.castBatch(ballots), env.admin)
    assert voting.functions.tallyOf(first).call() == [[1, 0, 0], 1]
    assert voting.functions.tallyOf(second).call() == [[0, 1], 1]
