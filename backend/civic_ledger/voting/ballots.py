"""M-Voting encodings shared by the service, the CLI and the recount (no platform, no HTTP).

- EIP-712 types of ``CreatePoll`` and ``Ballot`` (they hash to the contract's typehashes);
- enum names of the contract (ballot type, secrecy, eligibility, rejection reason);
- choice encodings (single index, approval bitmask, ranked bytes) and the Borda tally;
- sealed-poll commitments and the census Merkle tree (the platform's OpenZeppelin ``StandardMerkleTree``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import is_address, keccak, to_checksum_address

from civic_ledger.errors import InvalidInput
from civic_ledger.platform import merkle
from civic_ledger.platform.merkle import StandardMerkleTree

CONTRACT = "MVoting"
MAX_OPTIONS = 32

BALLOT_TYPES = ("single", "approval", "ranked")
SECRECY = ("public", "sealed", "encrypted")
ELIGIBILITY = ("all_citizens", "districts", "age_band", "census")

BALLOT_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "Ballot": [
        {"name": "pollId", "type": "uint256"},
        {"name": "voter", "type": "address"},
        {"name": "choice", "type": "uint256"},
        {"name": "commitment", "type": "bytes32"},
        {"name": "version", "type": "uint32"},
        {"name": "deadline", "type": "uint256"},
    ]
}

CREATE_POLL_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "CreatePoll": [
        {"name": "question", "type": "string"},
        {"name": "options", "type": "string[]"},
        {"name": "ballotType", "type": "uint8"},
        {"name": "maxChoices", "type": "uint8"},
        {"name": "secrecy", "type": "uint8"},
        {"name": "opensAt", "type": "uint64"},
        {"name": "closesAt", "type": "uint64"},
        {"name": "revealEndsAt", "type": "uint64"},
        {"name": "eligibility", "type": "uint8"},
        {"name": "districtMask", "type": "uint32"},
        {"name": "minBirthYear", "type": "uint16"},
        {"name": "maxBirthYear", "type": "uint16"},
        {"name": "censusRoot", "type": "bytes32"},
        {"name": "eligibleCount", "type": "uint32"},
        {"name": "creator", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class Rejection:
    """One value of the contract's ``Reason`` enum and the error ``cast`` reverts with (whose
    ``@custom:http`` tag in IMVoting.sol is the HTTP status of a ballot rejected so)."""

    code: int
    name: str
    error: str
    text: str


#: IMVoting.Reason, in enum order.
REASONS: tuple[Rejection, ...] = (
    Rejection(0, "none", "", "accepted"),
    Rejection(1, "unknown_poll", "MVotingUnknownPoll", "the poll does not exist"),
    Rejection(2, "not_open", "MVotingPollNotOpen", "the poll is not open yet"),
    Rejection(3, "closed", "MVotingPollClosed", "the poll is closed"),
    Rejection(4, "expired", "MVotingSignatureExpired", "the ballot's deadline has passed"),
    Rejection(
        5, "bad_signature", "MVotingInvalidSignature", "the signature is not the voter's signature of this ballot"
    ),
    Rejection(6, "not_citizen", "MVotingNotCitizen", "the voter is not the current key of a registered citizen"),
    Rejection(7, "suspended", "MVotingSuspended", "the citizen is suspended"),
    Rejection(
        8,
        "not_eligible",
        "MVotingNotEligible",
        "the voter is outside the poll's districts, birth-year band or census",
    ),
    Rejection(
        9,
        "replayed",
        "MVotingReplayed",
        "the ballot's version is not above the voter's current ballot (replayed or stale)",
    ),
    Rejection(10, "invalid_choice", "MVotingInvalidChoice", "the choice is not a valid encoded choice for this poll"),
    Rejection(
        11,
        "invalid_commitment",
        "MVotingInvalidCommitment",
        "public ballots carry no commitment; sealed and encrypted ballots carry a commitment and choice 0 "
        "(encrypted: keccak256 of the packed ciphertexts and proofs)",
    ),
    Rejection(12, "not_revealable", "MVotingNotRevealable", "the poll is not sealed or is outside its reveal window"),
    Rejection(13, "no_ballot", "MVotingNoBallot", "no ballot is stored for this voter"),
    Rejection(14, "already_revealed", "MVotingAlreadyRevealed", "the ballot was already revealed"),
    Rejection(
        15,
        "commitment_mismatch",
        "MVotingCommitmentMismatch",
        "voter, choice and salt do not open the stored commitment",
    ),
    Rejection(
        16,
        "invalid_proof",
        "MVotingInvalidProof",
        "the encrypted ballot's proofs do not verify (each option must encrypt 0 or 1 and their sum fit the "
        "ballot type), or it is not an encrypted poll's ballot",
    ),
    Rejection(17, "no_election_key", "MVotingNoElectionKey", "the trustees have not fixed the poll's election key"),
)


def reason(code: int) -> Rejection:
    if 0 <= code < len(REASONS):
        return REASONS[code]
    return Rejection(code, f"reason_{code}", f"MVotingReason{code}", f"rejected with unknown reason {code}")


# -- choices -------------------------------------------------------------------------------


def encode_choice(ballot_type: str, options: Sequence[int], num_options: int, max_choices: int) -> int:
    """The contract's ``choice`` for 0-based option ``options`` (one for single, a set for
    approval, an ordered list for ranked); raises InvalidInput naming what is wrong."""
    opts = [int(o) for o in options]
    for o in opts:
        if not 0 <= o < num_options:
            raise InvalidInput(f"option {o} does not exist: options are 0..{num_options - 1}")
    if len(set(opts)) != len(opts):
        raise InvalidInput("an option is listed twice")
    if not opts:
        raise InvalidInput("choose at least one option")
    if ballot_type == "single":
        if len(opts) != 1:
            raise InvalidInput("a single-choice ballot chooses exactly one option")
        return opts[0]
    if len(opts) > max_choices:
        raise InvalidInput(
            f"at most {max_choices} options may be {'approved' if ballot_type == 'approval' else 'ranked'}"
        )
    if ballot_type == "approval":
        return sum(1 << o for o in opts)
    if ballot_type == "ranked":
        return sum((o + 1) << (8 * rank) for rank, o in enumerate(opts))
    raise InvalidInput(f"unknown ballot type {ballot_type!r}")


def decode_choice(ballot_type: str, choice: int) -> list[int]:
    """The 0-based options of an encoded choice (ranked: in rank order)."""
    if ballot_type == "single":
        return [choice]
    if ballot_type == "approval":
        return [i for i in range(256) if choice >> i & 1]
    ranks = []
    while choice:
        ranks.append((choice & 0xFF) - 1)
        choice >>= 8
    return ranks


def valid_choice(ballot_type: str, choice: int, num_options: int, max_choices: int) -> bool:
    """Mirror of the contract's ``_validChoice``."""
    if choice < 0:
        return False
    if ballot_type == "single":
        return choice < num_options
    if ballot_type == "approval":
        return choice != 0 and choice >> num_options == 0 and bin(choice).count("1") <= max_choices
    seen: set[int] = set()
    ranks = 0
    while ranks < max_choices:
        entry = (choice >> (ranks * 8)) & 0xFF
        if entry == 0:
            break
        if entry > num_options or entry in seen:
            return False
        seen.add(entry)
        ranks += 1
    return ranks != 0 and choice >> (ranks * 8) == 0


def add_to_tally(counts: list[int], ballot_type: str, choice: int, max_choices: int) -> None:
    """Add one valid choice: one point per chosen option; ranked: Borda, ``max_choices - rank``."""
    if ballot_type == "ranked":
        for rank, option in enumerate(decode_choice(ballot_type, choice)):
            counts[option] += max_choices - rank
    else:
        for option in decode_choice(ballot_type, choice):
            counts[option] += 1


# -- sealed polls --------------------------------------------------------------------------


def commitment(poll_id: int, voter: str, choice: int, salt: bytes) -> bytes:
    """``keccak256(abi.encode(pollId, voter, choice, salt))``, as ``MVoting.commitmentOf``."""
    if len(salt) != 32:
        raise InvalidInput("salt must be 32 bytes")
    return keccak(
        abi_encode(["uint256", "address", "uint256", "bytes32"], [poll_id, to_checksum_address(voter), choice, salt])
    )


# -- census --------------------------------------------------------------------------------


CENSUS_ENCODING = ["address"]


def census_tree(voters: Iterable[str]) -> StandardMerkleTree:
    """The census as OpenZeppelin's ``StandardMerkleTree.of(voters.map(v => [v]), ["address"])``.

    Each address once (a repeated one is an error, not dropped: the JS library would keep it and
    build another root).
    """
    seen: dict[str, int] = {}
    values = []
    for i, voter in enumerate(voters):
        if not isinstance(voter, str) or not is_address(voter.strip().lower()):
            raise InvalidInput(f"census entry {i + 1}: {voter!r} is not an address")
        address = to_checksum_address(voter.strip().lower())
        if address in seen:
            raise InvalidInput(f"census entry {i + 1}: {address} is already entry {seen[address] + 1}")
        seen[address] = i
        values.append([address])
    if not values:
        raise InvalidInput("a census needs at least one address")
    return StandardMerkleTree.of(values, CENSUS_ENCODING)


def census_leaf(voter: str) -> bytes:
    """OpenZeppelin StandardMerkleTree leaf of an address: ``keccak256(keccak256(abi.encode(voter)))``."""
    return merkle.leaf_hash(CENSUS_ENCODING, [voter])


def census_root(voters: Iterable[str]) -> bytes:
    """Merkle root over the census (``StandardMerkleTree``, verifiable with OpenZeppelin ``MerkleProof``)."""
    return census_tree(voters).root_bytes


def census_proof(voters: Iterable[str], voter: str) -> list[bytes]:
    """The proof that ``voter`` is in the census; raises InvalidInput when it is not."""
    tree = census_tree(voters)
    try:
        index = tree.leaf_lookup([voter])
    except InvalidInput:
        raise InvalidInput(f"{voter} is not in the census") from None
    return tree.proof_bytes(index)


def verify_census_proof(root: bytes, voter: str, proof: Sequence[bytes]) -> bool:
    return StandardMerkleTree.verify(root, CENSUS_ENCODING, [voter], proof)


def hex0x(value: Any) -> str:
    return "0x" + bytes(value).hex()
