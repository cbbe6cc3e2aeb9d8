// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEncryptedTally} from "./IEncryptedTally.sol";

/// @title M-Voting (엠보팅): polls, gasless signed ballots, on-chain tally
/// @notice Agencies (POLL_ADMIN_ROLE) create polls by EIP-712 signature; citizens sign ballots
/// with their own key; a relayer submits them in batches and pays the gas. The contract enforces
/// eligibility, one ballot per person (later versions replace earlier ones until close) and keeps
/// the tally. Anyone can recount from the logs: `PollCreated`, `BallotCast`, `BallotRevealed`,
/// `PollFinalized`.
///
/// Encodings (all option indices are 0-based, at most `MAX_OPTIONS` = 32 options):
/// - `Single`: `choice` is the option index, `choice < numOptions`.
/// - `Approval`: `choice` is a bitmask, bit `i` approves option `i`; at least one bit, no bit at
///   or above `numOptions`, at most `maxChoices` bits.
/// - `Ranked`: `choice` packs the ranking one byte per rank, first rank in the lowest byte; each
///   byte holds `optionIndex + 1` (so a zero byte ends the list and every byte above it must be
///   zero); 1..`maxChoices` ranks, no option twice. Example: options 2, then 0, then 5 is
///   `0x060103`. The on-chain tally of a ranked poll is a Borda count: the option at rank `r`
///   (0-based) of a ballot gets `maxChoices - r` points. Other rules (e.g. instant run-off) can be
///   computed off-chain from the `BallotCast` / `BallotRevealed` logs.
///
/// Voter key: ballots of registry polls (`AllCitizens`, `Districts`, `AgeBand`) are keyed by the
/// stable citizen id from the registry, so a rotated key cannot vote twice. `Census` polls do
/// not consult the registry: the key is the voter address, `uint256(uint160(voter))`, and the
/// census is a Merkle root over voter addresses with OpenZeppelin's standard leaf
/// `keccak256(bytes.concat(keccak256(abi.encode(voter))))`: the root of
/// `StandardMerkleTree.of(voters.map(v => [v]), ["address"])` of OpenZeppelin's npm merkle-tree
/// (sorted-pair hashing, checked with `MerkleProof`). Everywhere below, `citizenId` means this voter key.
///
/// Time windows (half-open): voting `opensAt <= now < closesAt`; reveal (sealed polls)
/// `closesAt <= now < revealEndsAt`; `finalize` from `closesAt` (public) or `revealEndsAt`
/// (sealed); an `Encrypted` poll is finalized by {IEncryptedTally-publishResult} from `closesAt`.
///
/// Encrypted polls (`Secrecy.Encrypted`, single choice or approval): the ballot's `choice` is 0
/// and its `commitment` is `keccak256(abi.encodePacked(ciphertexts, proofs))` of the
/// {IEncryptedTally-EncryptedBallot} relayed beside it with {castEncrypted}; the proofs are
/// checked by the EncryptedTally contract, which also keeps the encrypted running tally.
interface IMVoting {
    /// @notice How a ballot expresses preferences (see the encodings above).
    enum BallotType {
        Single,
        Approval,
        Ranked
    }

    /// @notice Who may vote.
    /// @dev Registry modes require the voter to be the current key of an active citizen; the
    /// district and birth-year filters apply whenever they are set (`districtMask != 0`,
    /// `minBirthYear != 0`, `maxBirthYear != 0`), so `Districts` and `AgeBand` may combine both.
    /// `AllCitizens` sets no filter, `Districts` needs a mask, `AgeBand` needs a bound, `Census`
    /// needs a root and no filter.
    enum Eligibility {
        AllCitizens,
        Districts,
        AgeBand,
        Census
    }

    /// @notice `Public`: choices are in the ballots and counted on cast. `Sealed`: ballots carry
    /// only a commitment, choices are revealed and counted after close. `Encrypted`: ballots are
    /// threshold-ElGamal ciphertexts with validity proofs; only their sum is ever decrypted.
    enum Secrecy {
        Public,
        Sealed,
        Encrypted
    }

    /// @notice Why a ballot or reveal was not accepted (`BallotRejected` / `RevealRejected`,
    /// `checkBallot`, `checkReveal`). `cast` and `reveal` revert with the matching custom error.
    enum Reason {
        None, // 0 accepted
        UnknownPoll, // 1 MVotingUnknownPoll
        NotOpen, // 2 MVotingPollNotOpen
        Closed, // 3 MVotingPollClosed
        Expired, // 4 MVotingSignatureExpired
        BadSignature, // 5 MVotingInvalidSignature
        NotCitizen, // 6 MVotingNotCitizen (no identity, or a key rotated away)
        Suspended, // 7 MVotingSuspended (identity not active)
        NotEligible, // 8 MVotingNotEligible (district, birth year or census proof)
        Replayed, // 9 MVotingReplayed (version not above the stored one)
        InvalidChoice, // 10 MVotingInvalidChoice
        InvalidCommitment, // 11 MVotingInvalidCommitment (commitment set on a public poll, or
        // missing / choice != 0 on a sealed poll)
        NotRevealable, // 12 MVotingNotRevealable (public poll, or outside the reveal window)
        NoBallot, // 13 MVotingNoBallot
        AlreadyRevealed, // 14 MVotingAlreadyRevealed
        CommitmentMismatch, // 15 MVotingCommitmentMismatch
        InvalidProof, // 16 MVotingInvalidProof (an encrypted poll's ballot without valid ciphertexts
        // and proofs, a wrong predecessor, or an encrypted ballot for another kind of poll)
        NoElectionKey // 17 MVotingNoElectionKey (the trustees' DKG has not fixed the key)
    }

    /// @notice What an agency signs to create a poll (texts are hashed into the signed message,
    /// stored as hashes and published in full in `PollCreated`).
    /// @param question question text
    /// @param options option texts, 2..32
    /// @param ballotType Single, Approval or Ranked
    /// @param maxChoices Single: 1; Approval: most options one ballot may approve (1..numOptions);
    /// Ranked: most ranks one ballot may fill (1..numOptions)
    /// @param secrecy Public or Sealed
    /// @param opensAt first second of voting (may be in the past: opens at once)
    /// @param closesAt end of voting (exclusive), in the future
    /// @param revealEndsAt end of the reveal window (exclusive): > closesAt for Sealed, 0 for Public
    /// and Encrypted
    /// @param eligibility who may vote
    /// @param districtMask bit `d` set = district code `d` (1..25) may vote; 0 = no district filter
    /// @param minBirthYear earliest birth year allowed (inclusive), 0 = no lower bound
    /// @param maxBirthYear latest birth year allowed (inclusive), 0 = no upper bound
    /// @param censusRoot Merkle root of the census (Census only, else 0)
    /// @param eligibleCount size of the electorate if known (informational), 0 = unknown
    struct PollParams {
        string question;
        string[] options;
        BallotType ballotType;
        uint8 maxChoices;
        Secrecy secrecy;
        uint64 opensAt;
        uint64 closesAt;
        uint64 revealEndsAt;
        Eligibility eligibility;
        uint32 districtMask;
        uint16 minBirthYear;
        uint16 maxBirthYear;
        bytes32 censusRoot;
        uint32 eligibleCount;
    }

    /// @notice A poll as stored.
    /// @param questionHash keccak256 of the question text (UTF-8)
    /// @param optionsHash keccak256 of the concatenated keccak256 of each option text (the EIP-712
    /// encoding of `string[]`)
    /// @param ballots voters holding a ballot (replacements not counted twice)
    /// @param counted ballots in the tally: = ballots for public polls, revealed ones for sealed
    /// @param finalized whether `finalize` has published the result
    struct Poll {
        bytes32 questionHash;
        bytes32 optionsHash;
        bytes32 censusRoot;
        address creator;
        uint64 opensAt;
        uint8 numOptions;
        uint8 maxChoices;
        BallotType ballotType;
        Secrecy secrecy;
        uint64 closesAt;
        uint64 revealEndsAt;
        uint32 districtMask;
        uint16 minBirthYear;
        uint16 maxBirthYear;
        uint32 eligibleCount;
        Eligibility eligibility;
        bool finalized;
        uint32 ballots;
        uint32 counted;
    }

    /// @notice A ballot as relayed: the signed fields, the voter's signature and a census proof.
    /// @param pollId poll
    /// @param voter signing address (the citizen's current key, or a census address)
    /// @param choice encoded choice (see above); 0 in sealed polls
    /// @param commitment 0 in public polls; in sealed polls
    /// `keccak256(abi.encode(pollId, voter, choice, salt))` (uint256 pollId, address voter,
    /// uint256 choice, bytes32 salt)
    /// @param version per-voter counter, starts at 1; a higher version replaces the stored ballot
    /// until close
    /// @param deadline last second (inclusive) the signature may be relayed
    /// @param signature 65-byte ECDSA signature (r, s, v) of the `Ballot` EIP-712 message by `voter`
    /// @param proof census Merkle proof (empty unless the poll is a Census poll)
    struct BallotInput {
        uint256 pollId;
        address voter;
        uint256 choice;
        bytes32 commitment;
        uint32 version;
        uint256 deadline;
        bytes signature;
        bytes32[] proof;
    }

    /// @notice Opening of a sealed ballot; needs no signature (the commitment binds it).
    /// @param pollId poll
    /// @param citizenId voter key the ballot is stored under (indexed in its `BallotCast`)
    /// @param voter address that cast the ballot (part of the commitment)
    /// @param choice encoded choice
    /// @param salt the voter's secret salt
    struct RevealInput {
        uint256 pollId;
        uint256 citizenId;
        address voter;
        uint256 choice;
        bytes32 salt;
    }

    /// @notice A poll was created; `question` and `options` are the texts (only hashes are stored).
    event PollCreated(
        uint256 indexed pollId, address indexed creator, Poll poll, string question, string[] options
    );

    /// @notice A ballot was accepted (first ballot or a replacement with a higher version).
    /// @param ballotHash the EIP-712 digest the voter signed (`_hashTypedDataV4` of the `Ballot`
    /// struct): the voter's receipt
    /// @param choice encoded choice (0 in sealed polls)
    /// @param commitment sealed-poll commitment (0 in public polls)
    event BallotCast(
        uint256 indexed pollId,
        address indexed voter,
        uint256 indexed citizenId,
        bytes32 ballotHash,
        uint32 version,
        uint256 choice,
        bytes32 commitment
    );

    /// @notice `castBatch` skipped a ballot; `ballotHash` is its EIP-712 digest, `reason` a `Reason`.
    event BallotRejected(uint256 indexed pollId, address indexed voter, bytes32 ballotHash, uint8 reason);

    /// @notice A sealed ballot was opened and counted.
    event BallotRevealed(
        uint256 indexed pollId, address indexed voter, uint256 indexed citizenId, uint256 choice, bytes32 salt
    );

    /// @notice `revealBatch` skipped a reveal; `reason` is a `Reason`.
    event RevealRejected(uint256 indexed pollId, uint256 indexed citizenId, address voter, uint8 reason);

    /// @notice The encrypted-tally contract was set (once) by the admin.
    event EncryptedTallySet(address indexed tally);

    /// @notice The result was published: per-option counts (Borda points for ranked polls),
    /// voters holding a ballot and ballots counted.
    event PollFinalized(uint256 indexed pollId, uint32[] counts, uint32 ballots, uint32 counted);

    /// @notice The constructor got the zero address for `admin` or the registry.
    /// @custom:http 422
    error MVotingZeroAddress();
    /// @notice The signed message's `deadline` has passed.
    /// @custom:http 422
    error MVotingSignatureExpired(uint256 deadline);
    /// @notice The signature is not a valid signature of the message by `signer`.
    /// @custom:http 403
    error MVotingInvalidSignature(address signer);
    /// @notice `creator` does not hold POLL_ADMIN_ROLE.
    /// @custom:http 403
    error MVotingNotPollAdmin(address creator);
    /// @notice A poll needs 2..32 options.
    /// @custom:http 422
    error MVotingInvalidOptions(uint256 count);
    /// @notice Needs opensAt < closesAt, closesAt in the future, revealEndsAt > closesAt (sealed) or 0 (public).
    /// @custom:http 422
    error MVotingInvalidSchedule(uint64 opensAt, uint64 closesAt, uint64 revealEndsAt);
    /// @notice `maxChoices` out of range for the ballot type (see PollParams).
    /// @custom:http 422
    error MVotingInvalidMaxChoices(BallotType ballotType, uint8 maxChoices);
    /// @notice The eligibility fields do not fit the mode (see Eligibility), a district bit outside
    /// 1..25, or minBirthYear > maxBirthYear.
    /// @custom:http 422
    error MVotingInvalidEligibility(Eligibility eligibility);
    /// @notice No poll has id `pollId`.
    /// @custom:http 404
    error MVotingUnknownPoll(uint256 pollId);
    /// @notice Voting has not started.
    /// @custom:http 409
    error MVotingPollNotOpen(uint256 pollId, uint64 opensAt);
    /// @notice Voting has ended.
    /// @custom:http 409
    error MVotingPollClosed(uint256 pollId, uint64 closesAt);
    /// @notice `voter` is not the current key of any citizen.
    /// @custom:http 403
    error MVotingNotCitizen(address voter);
    /// @notice The citizen is not active.
    /// @custom:http 403
    error MVotingSuspended(address voter, uint256 citizenId);
    /// @notice `voter` is outside the poll's districts, birth-year band or census.
    /// @custom:http 403
    error MVotingNotEligible(uint256 pollId, address voter);
    /// @notice `version` is not above the stored ballot's `currentVersion` (0 = none stored).
    /// @custom:http 409
    error MVotingReplayed(uint256 pollId, uint256 citizenId, uint32 version, uint32 currentVersion);
    /// @notice `choice` is not a valid encoded choice for the poll.
    /// @custom:http 422
    error MVotingInvalidChoice(uint256 pollId, uint256 choice);
    /// @notice A public ballot carried a commitment, or a sealed one carried a choice or no commitment.
    /// @custom:http 422
    error MVotingInvalidCommitment(uint256 pollId, bytes32 commitment);
    /// @notice Not a sealed poll, or outside its reveal window.
    /// @custom:http 409
    error MVotingNotRevealable(uint256 pollId, uint64 closesAt, uint64 revealEndsAt);
    /// @notice No ballot is stored under `citizenId`.
    /// @custom:http 404
    error MVotingNoBallot(uint256 pollId, uint256 citizenId);
    /// @notice The ballot was already revealed.
    /// @custom:http 409
    error MVotingAlreadyRevealed(uint256 pollId, uint256 citizenId);
    /// @notice (voter, choice, salt) do not open the stored commitment of `citizenId`.
    /// @custom:http 422
    error MVotingCommitmentMismatch(uint256 pollId, uint256 citizenId);
    /// @notice The poll can be finalized from `endsAt`.
    /// @custom:http 409
    error MVotingPollNotEnded(uint256 pollId, uint64 endsAt);
    /// @notice `finalize` already ran.
    /// @custom:http 409
    error MVotingAlreadyFinalized(uint256 pollId);
    /// @notice A sealed poll's tally is not readable before `closesAt`, an encrypted poll's before
    /// its result is published.
    /// @custom:http 403
    error MVotingTallySealed(uint256 pollId, uint64 closesAt);
    /// @notice The encrypted ballot's proofs do not verify (or its predecessor is not the stored one).
    /// @custom:http 422
    error MVotingInvalidProof(uint256 pollId, address voter);
    /// @notice The poll's election key is not fixed yet (the trustees' DKG has not finished).
    /// @custom:http 409
    error MVotingNoElectionKey(uint256 pollId);
    /// @notice Only the encrypted-tally contract may call this.
    /// @custom:http 403
    error MVotingNotEncryptedTally(address caller);
    /// @notice The encrypted-tally contract is already set.
    /// @custom:http 409
    error MVotingEncryptedTallyAlreadySet(address tally);
    /// @notice Encrypted polls need single-choice or approval ballots and an encrypted-tally contract.
    /// @custom:http 422
    error MVotingUnsupportedSecrecy(Secrecy secrecy, BallotType ballotType);
    /// @notice An encrypted poll is finalized by the encrypted-tally contract's `publishResult`.
    /// @custom:http 409
    error MVotingEncryptedResult(uint256 pollId, address tally);
    /// @notice `castEncryptedBatch` needs as many encrypted ballots as ballots.
    /// @custom:http 422
    error MVotingBatchMismatch(uint256 ballots, uint256 encrypted);

    /// @notice Creates a poll signed by `creator`, who must hold POLL_ADMIN_ROLE. Anyone may relay.
    /// @dev Signed message: `CreatePoll` (see CREATE_POLL_TYPEHASH), `question` and `options`
    /// encoded as EIP-712 `string` / `string[]`; `nonce` must equal `nonces(creator)`.
    /// @return pollId the new poll id (ids start at 1)
    function createPoll(
        PollParams calldata params,
        address creator,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 pollId);

    /// @notice Casts one ballot; reverts with the custom error of the first failed check.
    /// Anyone may relay.
    function cast(BallotInput calldata ballot) external;

    /// @notice Casts many ballots; an invalid ballot is skipped with `BallotRejected`, the others
    /// are accepted in order (a later, higher version of the same voter replaces an earlier one).
    /// Anyone may relay.
    /// @return accepted number of ballots accepted
    function castBatch(BallotInput[] calldata ballots) external returns (uint256 accepted);

    /// @notice Opens and counts one sealed ballot during the reveal window; reverts with the
    /// custom error of the first failed check. Anyone may call (the voter hands out the salt).
    function reveal(RevealInput calldata opening) external;

    /// @notice Opens many sealed ballots; an invalid opening is skipped with `RevealRejected`.
    /// @return accepted number of ballots revealed
    function revealBatch(RevealInput[] calldata openings) external returns (uint256 accepted);

    /// @notice Publishes the result with `PollFinalized`, once: from `closesAt` (public) or
    /// `revealEndsAt` (sealed). Anyone may call.
    /// @return counts per-option counts (Borda points for ranked polls)
    function finalize(uint256 pollId) external returns (uint32[] memory counts);

    /// @notice Casts one ballot of an encrypted poll with its ciphertexts and proofs (checked by the
    /// encrypted-tally contract, which adds them to the encrypted tally); reverts with the custom
    /// error of the first failed check. Anyone may relay.
    function castEncrypted(BallotInput calldata ballot, IEncryptedTally.EncryptedBallot calldata encrypted) external;

    /// @notice `castBatch` for encrypted polls: `encrypted[i]` goes with `ballots[i]`; an invalid
    /// ballot is skipped with `BallotRejected`.
    /// @return accepted number of ballots accepted
    function castEncryptedBatch(
        BallotInput[] calldata ballots,
        IEncryptedTally.EncryptedBallot[] calldata encrypted
    ) external returns (uint256 accepted);

    /// @notice Publishes an encrypted poll's verified counts with `PollFinalized`. Encrypted tally only.
    function finalizeEncrypted(uint256 pollId, uint32[] calldata counts) external;

    /// @notice Sets the encrypted-tally contract, once. DEFAULT_ADMIN_ROLE only.
    function setEncryptedTally(IEncryptedTally tally) external;

    /// @notice The encrypted-tally contract (zero until set).
    function encryptedTally() external view returns (address);

    /// @notice What `castEncrypted` would do now, without writing.
    function checkEncryptedBallot(BallotInput calldata ballot, IEncryptedTally.EncryptedBallot calldata encrypted)
        external
        view
        returns (Reason reason, uint256 citizenId, bytes32 ballotHash);

    /// @notice What `cast` would do with `ballot` now, without writing.
    /// @return reason `Reason.None` when it would be accepted
    /// @return citizenId voter key (0 when it could not be determined)
    /// @return ballotHash EIP-712 digest of the ballot
    function checkBallot(BallotInput calldata ballot)
        external
        view
        returns (Reason reason, uint256 citizenId, bytes32 ballotHash);

    /// @notice What `reveal` would do with `opening` now, without writing.
    function checkReveal(RevealInput calldata opening) external view returns (Reason reason);

    /// @notice The poll as stored; reverts MVotingUnknownPoll for an unknown id.
    function getPoll(uint256 pollId) external view returns (Poll memory);

    /// @notice Current per-option counts (Borda points for ranked polls) and ballots counted.
    /// Reverts MVotingTallySealed for a sealed poll before `closesAt` and for an encrypted poll
    /// until its result is published.
    function tallyOf(uint256 pollId) external view returns (uint32[] memory counts, uint32 counted);

    /// @notice A voter's stored ballot: `version` 0 = none; `counted` = in the tally (always for a
    /// public ballot, after reveal for a sealed one).
    function ballotOf(uint256 pollId, uint256 citizenId) external view returns (uint32 version, bool counted);

    /// @notice The key a voter's ballot is stored under in `pollId`: the citizen id (0 when the
    /// address is not a current citizen key) or, for census polls, `uint256(uint160(voter))`.
    function voterKeyOf(uint256 pollId, address voter) external view returns (uint256 citizenId);

    /// @notice EIP-712 digest of a ballot (the `ballotHash` receipt).
    function ballotDigest(
        uint256 pollId,
        address voter,
        uint256 choice,
        bytes32 commitment,
        uint32 version,
        uint256 deadline
    ) external view returns (bytes32);

    /// @notice The sealed-poll commitment `keccak256(abi.encode(pollId, voter, choice, salt))`.
    function commitmentOf(uint256 pollId, address voter, uint256 choice, bytes32 salt)
        external
        pure
        returns (bytes32);

    /// @notice Number of polls created; ids are 1..pollCount().
    function pollCount() external view returns (uint256);

    /// @notice The citizen registry eligibility is read from.
    function registry() external view returns (address);
}
