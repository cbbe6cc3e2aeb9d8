// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";
import {IEncryptedTally} from "./interfaces/IEncryptedTally.sol";
import {IMVoting} from "./interfaces/IMVoting.sol";

/// @title M-Voting (엠보팅)
/// @notice See {IMVoting}.
/// @dev Per-ballot record: a 64-bit lane, four per storage word, `_records[pollId][key >> 2]`,
/// bits `64 * (key % 4)`. Citizen ids are sequential, so voters with neighbouring ids share a
/// word and most ballots of a batch write an already-written slot instead of a fresh one.
/// Lane bits 0..31: version (0 = no ballot); bits 32..63: data —
/// public poll: the encoded choice (kept to undo it on replacement); for a ranked choice that
///   does not fit 32 bits (more than 4 ranks) data is 0 and the choice sits in `_wideChoices`;
/// sealed poll: 0 before reveal, 1 after; `_seals` holds `keccak256(abi.encode(commitment, voter))`
///   (binds the commitment to the casting address, so a copied commitment can not be revealed);
/// encrypted poll: 0 (the ciphertexts and the encrypted tally live in the EncryptedTally contract).
/// Tallies are uint32 lanes, eight per word: option `i` sits in word `i / 8`, bits `32 * (i % 8)`.
contract MVoting is IMVoting, AccessControl, EIP712, Nonces {
    /// @notice Agencies allowed to create polls (checked on the signer, not on msg.sender).
    bytes32 public constant POLL_ADMIN_ROLE = keccak256("POLL_ADMIN_ROLE");

    /// @notice EIP-712 type of a ballot, signed by the voter.
    bytes32 public constant BALLOT_TYPEHASH = keccak256(
        "Ballot(uint256 pollId,address voter,uint256 choice,bytes32 commitment,uint32 version,uint256 deadline)"
    );

    /// @notice EIP-712 type of a poll creation, signed by a POLL_ADMIN; enums are uint8.
    bytes32 public constant CREATE_POLL_TYPEHASH = keccak256(
        "CreatePoll(string question,string[] options,uint8 ballotType,uint8 maxChoices,uint8 secrecy,"
        "uint64 opensAt,uint64 closesAt,uint64 revealEndsAt,uint8 eligibility,uint32 districtMask,"
        "uint16 minBirthYear,uint16 maxBirthYear,bytes32 censusRoot,uint32 eligibleCount,"
        "address creator,uint256 nonce,uint256 deadline)"
    );

    /// @notice Most options a poll may have.
    uint8 public constant MAX_OPTIONS = 32;

    uint256 private constant _LANE_MASK = type(uint64).max;
    uint256 private constant _REVEALED = 1 << 32;

    ICitizenRegistry private immutable _registry;
    IEncryptedTally private _encrypted;

    uint256 private _pollCount;
    mapping(uint256 pollId => Poll) private _polls;
    // Written through the storage reference `lanes` in _tallyChoice/_bump, which Slither does not follow.
    // slither-disable-next-line uninitialized-state
    mapping(uint256 pollId => uint256[4] lanes) private _tally;
    mapping(uint256 pollId => mapping(uint256 bucket => uint256 lanes)) private _records;
    mapping(uint256 pollId => mapping(uint256 citizenId => bytes32 seal)) private _seals;
    mapping(uint256 pollId => mapping(uint256 citizenId => uint256 choice)) private _wideChoices;

    /// @dev The poll fields the ballot path reads, loaded once per poll and batch.
    struct Config {
        uint256 pollId;
        bool exists;
        uint64 opensAt;
        uint64 closesAt;
        uint64 revealEndsAt;
        uint8 numOptions;
        uint8 maxChoices;
        BallotType ballotType;
        Secrecy secrecy;
        Eligibility eligibility;
        uint32 districtMask;
        uint16 minBirthYear;
        uint16 maxBirthYear;
        bytes32 censusRoot;
    }

    constructor(address admin, ICitizenRegistry registry_) EIP712("MVoting", "1") {
        if (admin == address(0) || address(registry_) == address(0)) revert MVotingZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _registry = registry_;
    }

    // ------------------------------------------------------------------ polls

    /// @inheritdoc IMVoting
    function createPoll(
        PollParams calldata params,
        address creator,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 pollId) {
        if (block.timestamp > deadline) revert MVotingSignatureExpired(deadline);
        _validateParams(params);
        Poll memory poll = _pollFromParams(params, creator);
        bytes32 digest = _hashTypedDataV4(_createPollStructHash(params, poll, nonce, deadline));
        if (!SignatureChecker.isValidSignatureNow(creator, digest, signature)) {
            revert MVotingInvalidSignature(creator);
        }
        if (!hasRole(POLL_ADMIN_ROLE, creator)) revert MVotingNotPollAdmin(creator);
        _useCheckedNonce(creator, nonce);

        pollId = ++_pollCount;
        _polls[pollId] = poll;
        emit PollCreated(pollId, creator, poll, params.question, params.options);
    }

    /// @inheritdoc IMVoting
    function finalize(uint256 pollId) external returns (uint32[] memory counts) {
        Poll storage p = _pollOrRevert(pollId);
        if (p.secrecy == Secrecy.Encrypted) revert MVotingEncryptedResult(pollId, address(_encrypted));
        uint64 endsAt = p.secrecy == Secrecy.Sealed ? p.revealEndsAt : p.closesAt;
        if (block.timestamp < endsAt) revert MVotingPollNotEnded(pollId, endsAt);
        if (p.finalized) revert MVotingAlreadyFinalized(pollId);
        p.finalized = true;
        counts = _counts(pollId, p.numOptions);
        emit PollFinalized(pollId, counts, p.ballots, p.counted);
    }

    /// @inheritdoc IMVoting
    function finalizeEncrypted(uint256 pollId, uint32[] calldata counts) external {
        if (msg.sender != address(_encrypted)) revert MVotingNotEncryptedTally(msg.sender);
        Poll storage p = _pollOrRevert(pollId);
        if (block.timestamp < p.closesAt) revert MVotingPollNotEnded(pollId, p.closesAt);
        if (p.finalized) revert MVotingAlreadyFinalized(pollId);
        p.finalized = true;
        uint256[4] storage lanes = _tally[pollId];
        for (uint256 i; i < counts.length; ++i) {
            _bump(lanes, i, counts[i], true);
        }
        emit PollFinalized(pollId, counts, p.ballots, p.counted);
    }

    /// @inheritdoc IMVoting
    function setEncryptedTally(IEncryptedTally tally) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(_encrypted) != address(0)) revert MVotingEncryptedTallyAlreadySet(address(_encrypted));
        if (address(tally) == address(0)) revert MVotingZeroAddress();
        _encrypted = tally;
        emit EncryptedTallySet(address(tally));
    }

    /// @inheritdoc IMVoting
    function encryptedTally() external view returns (address) {
        return address(_encrypted);
    }

    // ---------------------------------------------------------------- ballots

    /// @inheritdoc IMVoting
    function castEncrypted(BallotInput calldata ballot, IEncryptedTally.EncryptedBallot calldata encrypted) external {
        Config memory c = _config(ballot.pollId);
        (Reason reason, uint256 key, uint256 record, bytes32 digest) = _checkEncrypted(ballot, encrypted, c);
        if (reason != Reason.None) _revertBallot(reason, ballot, c, key, record);
        _castEncrypted(ballot, encrypted, key, record, digest);
    }

    /// @inheritdoc IMVoting
    function castEncryptedBatch(
        BallotInput[] calldata ballots,
        IEncryptedTally.EncryptedBallot[] calldata encrypted
    ) external returns (uint256 accepted) {
        uint256 n = ballots.length;
        if (encrypted.length != n) revert MVotingBatchMismatch(n, encrypted.length);
        // Loaded by _config on the first entry (i == 0) before any read.
        // slither-disable-next-line uninitialized-local
        Config memory c;
        for (uint256 i; i < n; ++i) {
            BallotInput calldata b = ballots[i];
            if (i == 0 || b.pollId != c.pollId) c = _config(b.pollId);
            (Reason reason, uint256 key, uint256 record, bytes32 digest) = _checkEncrypted(b, encrypted[i], c);
            if (reason == Reason.None) {
                _castEncrypted(b, encrypted[i], key, record, digest);
                unchecked {
                    ++accepted;
                }
            } else {
                emit BallotRejected(b.pollId, b.voter, digest, uint8(reason));
            }
        }
    }

    /// @inheritdoc IMVoting
    function checkEncryptedBallot(BallotInput calldata ballot, IEncryptedTally.EncryptedBallot calldata encrypted)
        external
        view
        returns (Reason reason, uint256 citizenId, bytes32 ballotHash)
    {
        (reason, citizenId,, ballotHash) = _checkEncrypted(ballot, encrypted, _config(ballot.pollId));
    }

    /// @inheritdoc IMVoting
    function cast(BallotInput calldata ballot) external {
        Config memory c = _config(ballot.pollId);
        (Reason reason, uint256 key, uint256 record, bytes32 digest) = _checkPlain(ballot, c);
        if (reason != Reason.None) _revertBallot(reason, ballot, c, key, record);
        _castBallot(ballot, c, key, record, digest);
    }

    /// @inheritdoc IMVoting
    function castBatch(BallotInput[] calldata ballots) external returns (uint256 accepted) {
        // Loaded by _config on the first entry (i == 0) before any read.
        // slither-disable-next-line uninitialized-local
        Config memory c;
        uint256 n = ballots.length;
        for (uint256 i; i < n; ++i) {
            BallotInput calldata b = ballots[i];
            if (i == 0 || b.pollId != c.pollId) c = _config(b.pollId);
            (Reason reason, uint256 key, uint256 record, bytes32 digest) = _checkPlain(b, c);
            if (reason == Reason.None) {
                _castBallot(b, c, key, record, digest);
                unchecked {
                    ++accepted;
                }
            } else {
                emit BallotRejected(b.pollId, b.voter, digest, uint8(reason));
            }
        }
    }

    /// @inheritdoc IMVoting
    function reveal(RevealInput calldata opening) external {
        Config memory c = _config(opening.pollId);
        (Reason reason, uint256 record) = _checkReveal(opening, c);
        if (reason != Reason.None) _revertReveal(reason, opening, c);
        _revealBallot(opening, c, record);
    }

    /// @inheritdoc IMVoting
    function revealBatch(RevealInput[] calldata openings) external returns (uint256 accepted) {
        // Loaded by _config on the first entry (i == 0) before any read.
        // slither-disable-next-line uninitialized-local
        Config memory c;
        uint256 n = openings.length;
        for (uint256 i; i < n; ++i) {
            RevealInput calldata o = openings[i];
            if (i == 0 || o.pollId != c.pollId) c = _config(o.pollId);
            (Reason reason, uint256 record) = _checkReveal(o, c);
            if (reason == Reason.None) {
                _revealBallot(o, c, record);
                unchecked {
                    ++accepted;
                }
            } else {
                emit RevealRejected(o.pollId, o.citizenId, o.voter, uint8(reason));
            }
        }
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IMVoting
    function checkBallot(BallotInput calldata ballot)
        external
        view
        returns (Reason reason, uint256 citizenId, bytes32 ballotHash)
    {
        (reason, citizenId,, ballotHash) = _checkPlain(ballot, _config(ballot.pollId));
    }

    /// @inheritdoc IMVoting
    function checkReveal(RevealInput calldata opening) external view returns (Reason reason) {
        (reason,) = _checkReveal(opening, _config(opening.pollId));
    }

    /// @inheritdoc IMVoting
    function getPoll(uint256 pollId) external view returns (Poll memory) {
        return _pollOrRevert(pollId);
    }

    /// @inheritdoc IMVoting
    function tallyOf(uint256 pollId) external view returns (uint32[] memory counts, uint32 counted) {
        Poll storage p = _pollOrRevert(pollId);
        if (
            (p.secrecy == Secrecy.Sealed && block.timestamp < p.closesAt)
                || (p.secrecy == Secrecy.Encrypted && !p.finalized)
        ) revert MVotingTallySealed(pollId, p.closesAt);
        return (_counts(pollId, p.numOptions), p.counted);
    }

    /// @inheritdoc IMVoting
    function ballotOf(uint256 pollId, uint256 citizenId) external view returns (uint32 version, bool counted) {
        uint256 record = _recordOf(pollId, citizenId);
        version = uint32(record);
        counted = _polls[pollId].secrecy == Secrecy.Sealed ? record & _REVEALED != 0 : version != 0;
    }

    /// @inheritdoc IMVoting
    function voterKeyOf(uint256 pollId, address voter) external view returns (uint256) {
        if (_pollOrRevert(pollId).eligibility == Eligibility.Census) return uint256(uint160(voter));
        return _registry.citizenIdOf(voter);
    }

    /// @inheritdoc IMVoting
    function ballotDigest(
        uint256 pollId,
        address voter,
        uint256 choice,
        bytes32 commitment,
        uint32 version,
        uint256 deadline
    ) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(BALLOT_TYPEHASH, pollId, voter, choice, commitment, version, deadline))
        );
    }

    /// @inheritdoc IMVoting
    function commitmentOf(uint256 pollId, address voter, uint256 choice, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(pollId, voter, choice, salt));
    }

    /// @inheritdoc IMVoting
    function pollCount() external view returns (uint256) {
        return _pollCount;
    }

    /// @inheritdoc IMVoting
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @notice The EIP-712 domain separator (name "MVoting", version "1").
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------- internal: ballots

    /// @dev Every check of a ballot, cheapest first; writes nothing.
    function _checkBallot(BallotInput calldata b, Config memory c)
        internal
        view
        returns (Reason, uint256 key, uint256 record, bytes32 digest)
    {
        digest = ballotDigest(b.pollId, b.voter, b.choice, b.commitment, b.version, b.deadline);
        if (!c.exists) return (Reason.UnknownPoll, 0, 0, digest);
        if (block.timestamp < c.opensAt) return (Reason.NotOpen, 0, 0, digest);
        if (block.timestamp >= c.closesAt) return (Reason.Closed, 0, 0, digest);
        if (block.timestamp > b.deadline) return (Reason.Expired, 0, 0, digest);
        if (c.secrecy != Secrecy.Public) {
            if (b.choice != 0 || b.commitment == 0) return (Reason.InvalidCommitment, 0, 0, digest);
        } else {
            if (b.commitment != 0) return (Reason.InvalidCommitment, 0, 0, digest);
            if (!_validChoice(c, b.choice)) return (Reason.InvalidChoice, 0, 0, digest);
        }
        if (b.voter == address(0) || _recover(digest, b.signature) != b.voter) {
            return (Reason.BadSignature, 0, 0, digest);
        }
        Reason reason;
        (reason, key) = _eligibility(b, c);
        if (reason != Reason.None) return (reason, key, 0, digest);
        record = _recordOf(b.pollId, key);
        if (b.version <= uint32(record)) return (Reason.Replayed, key, record, digest);
        return (Reason.None, key, record, digest);
    }

    /// @dev `_checkBallot` for `cast`: an encrypted poll's ballot needs its ciphertexts (`castEncrypted`).
    function _checkPlain(BallotInput calldata b, Config memory c)
        internal
        view
        returns (Reason reason, uint256 key, uint256 record, bytes32 digest)
    {
        (reason, key, record, digest) = _checkBallot(b, c);
        if (reason == Reason.None && c.secrecy == Secrecy.Encrypted) reason = Reason.InvalidProof;
    }

    /// @dev `_checkBallot`, then the commitment binding the ciphertexts and the proofs (last: the
    /// dearest check).
    function _checkEncrypted(BallotInput calldata b, IEncryptedTally.EncryptedBallot calldata e, Config memory c)
        internal
        view
        returns (Reason reason, uint256 key, uint256 record, bytes32 digest)
    {
        (reason, key, record, digest) = _checkBallot(b, c);
        if (reason != Reason.None) return (reason, key, record, digest);
        if (c.secrecy != Secrecy.Encrypted) return (Reason.InvalidProof, key, record, digest);
        if (b.commitment != keccak256(abi.encodePacked(e.ciphertexts, e.proofs))) {
            return (Reason.InvalidCommitment, key, record, digest);
        }
        uint8 code = _encrypted.verifyBallot(
            b.pollId, b.voter, key, uint8(c.ballotType), c.numOptions, c.maxChoices, e
        );
        if (code != 0) reason = code == uint8(Reason.NoElectionKey) ? Reason.NoElectionKey : Reason.InvalidProof;
    }

    /// @dev Writes an accepted encrypted ballot: record, counters, the encrypted tally, event.
    function _castEncrypted(
        BallotInput calldata b,
        IEncryptedTally.EncryptedBallot calldata e,
        uint256 key,
        uint256 record,
        bytes32 digest
    ) internal {
        uint256 pollId = b.pollId;
        if (record == 0) {
            Poll storage p = _polls[pollId];
            ++p.ballots;
            ++p.counted;
        }
        _writeRecord(pollId, key, b.version);
        emit BallotCast(pollId, b.voter, key, digest, b.version, 0, b.commitment);
        _encrypted.addBallot(pollId, key, b.voter, e);
    }

    /// @dev Eligibility of `b.voter` and the key the ballot is stored under.
    function _eligibility(BallotInput calldata b, Config memory c) internal view returns (Reason, uint256) {
        if (c.eligibility == Eligibility.Census) {
            bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(b.voter))));
            if (!MerkleProof.verifyCalldata(b.proof, c.censusRoot, leaf)) return (Reason.NotEligible, 0);
            return (Reason.None, uint256(uint160(b.voter)));
        }
        (uint256 citizenId, bool active, uint8 district, uint16 birthYear) = _registry.eligibilityOf(b.voter);
        if (citizenId == 0) return (Reason.NotCitizen, 0);
        if (!active) return (Reason.Suspended, citizenId);
        if (c.districtMask != 0 && (district > 31 || (c.districtMask >> district) & 1 == 0)) {
            return (Reason.NotEligible, citizenId);
        }
        if (c.minBirthYear != 0 && birthYear < c.minBirthYear) return (Reason.NotEligible, citizenId);
        if (c.maxBirthYear != 0 && birthYear > c.maxBirthYear) return (Reason.NotEligible, citizenId);
        return (Reason.None, citizenId);
    }

    /// @dev Writes an accepted ballot: record, tally (public), counters, event.
    function _castBallot(BallotInput calldata b, Config memory c, uint256 key, uint256 record, bytes32 digest)
        internal
    {
        uint256 pollId = b.pollId;
        uint256 lane = b.version;
        if (c.secrecy == Secrecy.Sealed) {
            _seals[pollId][key] = keccak256(abi.encode(b.commitment, b.voter));
            if (record == 0) ++_polls[pollId].ballots;
        } else {
            if (record == 0) {
                Poll storage p = _polls[pollId];
                ++p.ballots;
                ++p.counted;
            } else {
                uint256 previous = record >> 32;
                if (previous == 0 && c.ballotType == BallotType.Ranked) previous = _wideChoices[pollId][key];
                _tallyChoice(pollId, c, previous, false);
            }
            uint256 choice = b.choice;
            _tallyChoice(pollId, c, choice, true);
            if (choice > type(uint32).max) _wideChoices[pollId][key] = choice;
            else lane |= choice << 32;
        }
        _writeRecord(pollId, key, lane);
        emit BallotCast(pollId, b.voter, key, digest, b.version, b.choice, b.commitment);
    }

    function _recordOf(uint256 pollId, uint256 key) internal view returns (uint256) {
        return (_records[pollId][key >> 2] >> ((key & 3) << 6)) & _LANE_MASK;
    }

    function _writeRecord(uint256 pollId, uint256 key, uint256 lane) internal {
        uint256 shift = (key & 3) << 6;
        mapping(uint256 bucket => uint256 lanes) storage records = _records[pollId];
        uint256 word = records[key >> 2];
        records[key >> 2] = (word & ~(_LANE_MASK << shift)) | (lane << shift);
    }

    function _revertBallot(Reason r, BallotInput calldata b, Config memory c, uint256 key, uint256 record)
        internal
        pure
    {
        if (r == Reason.UnknownPoll) revert MVotingUnknownPoll(b.pollId);
        if (r == Reason.NotOpen) revert MVotingPollNotOpen(b.pollId, c.opensAt);
        if (r == Reason.Closed) revert MVotingPollClosed(b.pollId, c.closesAt);
        if (r == Reason.Expired) revert MVotingSignatureExpired(b.deadline);
        if (r == Reason.InvalidCommitment) revert MVotingInvalidCommitment(b.pollId, b.commitment);
        if (r == Reason.InvalidChoice) revert MVotingInvalidChoice(b.pollId, b.choice);
        if (r == Reason.BadSignature) revert MVotingInvalidSignature(b.voter);
        if (r == Reason.NotCitizen) revert MVotingNotCitizen(b.voter);
        if (r == Reason.Suspended) revert MVotingSuspended(b.voter, key);
        if (r == Reason.NotEligible) revert MVotingNotEligible(b.pollId, b.voter);
        if (r == Reason.InvalidProof) revert MVotingInvalidProof(b.pollId, b.voter);
        if (r == Reason.NoElectionKey) revert MVotingNoElectionKey(b.pollId);
        revert MVotingReplayed(b.pollId, key, b.version, uint32(record));
    }

    // ------------------------------------------------------- internal: reveals

    function _checkReveal(RevealInput calldata o, Config memory c) internal view returns (Reason, uint256 record) {
        if (!c.exists) return (Reason.UnknownPoll, 0);
        if (c.secrecy != Secrecy.Sealed || block.timestamp < c.closesAt || block.timestamp >= c.revealEndsAt) {
            return (Reason.NotRevealable, 0);
        }
        record = _recordOf(o.pollId, o.citizenId);
        if (uint32(record) == 0) return (Reason.NoBallot, record);
        if (record & _REVEALED != 0) return (Reason.AlreadyRevealed, record);
        bytes32 commitment = commitmentOf(o.pollId, o.voter, o.choice, o.salt);
        if (keccak256(abi.encode(commitment, o.voter)) != _seals[o.pollId][o.citizenId]) {
            return (Reason.CommitmentMismatch, record);
        }
        if (!_validChoice(c, o.choice)) return (Reason.InvalidChoice, record);
        return (Reason.None, record);
    }

    function _revealBallot(RevealInput calldata o, Config memory c, uint256 record) internal {
        uint256 pollId = o.pollId;
        _writeRecord(pollId, o.citizenId, record | _REVEALED);
        ++_polls[pollId].counted;
        _tallyChoice(pollId, c, o.choice, true);
        emit BallotRevealed(pollId, o.voter, o.citizenId, o.choice, o.salt);
    }

    function _revertReveal(Reason r, RevealInput calldata o, Config memory c) internal pure {
        if (r == Reason.UnknownPoll) revert MVotingUnknownPoll(o.pollId);
        if (r == Reason.NotRevealable) revert MVotingNotRevealable(o.pollId, c.closesAt, c.revealEndsAt);
        if (r == Reason.NoBallot) revert MVotingNoBallot(o.pollId, o.citizenId);
        if (r == Reason.AlreadyRevealed) revert MVotingAlreadyRevealed(o.pollId, o.citizenId);
        if (r == Reason.CommitmentMismatch) revert MVotingCommitmentMismatch(o.pollId, o.citizenId);
        revert MVotingInvalidChoice(o.pollId, o.choice);
    }

    // -------------------------------------------------------- internal: tally

    /// @dev Whether `choice` is a well-formed choice for the poll (see {IMVoting} encodings).
    function _validChoice(Config memory c, uint256 choice) internal pure returns (bool) {
        uint256 numOptions = c.numOptions;
        if (c.ballotType == BallotType.Single) return choice < numOptions;
        if (c.ballotType == BallotType.Approval) {
            return choice != 0 && choice >> numOptions == 0 && _popcount32(choice) <= c.maxChoices;
        }
        // Both start at zero on purpose (no option seen, no rank read yet).
        // slither-disable-next-line uninitialized-local
        uint256 seen;
        // slither-disable-next-line uninitialized-local
        uint256 ranks;
        uint256 maxRanks = c.maxChoices;
        while (ranks < maxRanks) {
            uint256 entry = (choice >> (ranks * 8)) & 0xff;
            if (entry == 0) break;
            if (entry > numOptions) return false;
            uint256 bit = 1 << (entry - 1);
            if (seen & bit != 0) return false;
            seen |= bit;
            ++ranks;
        }
        return ranks != 0 && choice >> (ranks * 8) == 0;
    }

    /// @dev Adds (or removes, to undo a replaced ballot) a valid choice to the poll's tally.
    function _tallyChoice(uint256 pollId, Config memory c, uint256 choice, bool add) internal {
        uint256[4] storage lanes = _tally[pollId];
        if (c.ballotType == BallotType.Single) {
            _bump(lanes, choice, 1, add);
        } else if (c.ballotType == BallotType.Approval) {
            for (uint256 i; choice != 0; ++i) {
                if (choice & 1 != 0) _bump(lanes, i, 1, add);
                choice >>= 1;
            }
        } else {
            uint256 maxRanks = c.maxChoices;
            for (uint256 r; choice != 0; ++r) {
                _bump(lanes, (choice & 0xff) - 1, maxRanks - r, add);
                choice >>= 8;
            }
        }
    }

    function _bump(uint256[4] storage lanes, uint256 option, uint256 amount, bool add) private {
        uint256 shift = (option & 7) << 5;
        uint256 word = lanes[option >> 3];
        uint32 count = uint32(word >> shift);
        // Checked uint32 arithmetic: a lane can never spill into its neighbour.
        count = add ? count + uint32(amount) : count - uint32(amount);
        lanes[option >> 3] = (word & ~(uint256(0xffffffff) << shift)) | (uint256(count) << shift);
    }

    function _counts(uint256 pollId, uint256 numOptions) internal view returns (uint32[] memory counts) {
        counts = new uint32[](numOptions);
        uint256[4] storage lanes = _tally[pollId];
        for (uint256 i; i < numOptions; ++i) {
            counts[i] = uint32(lanes[i >> 3] >> ((i & 7) << 5));
        }
    }

    function _popcount32(uint256 x) private pure returns (uint256) {
        unchecked {
            x = x - ((x >> 1) & 0x55555555);
            x = (x & 0x33333333) + ((x >> 2) & 0x33333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f;
            return ((x * 0x01010101) >> 24) & 0xff;
        }
    }

    // --------------------------------------------------------- internal: misc

    /// @dev ECDSA recovery from a 65-byte (r, s, v) calldata signature; address(0) when invalid.
    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        if (signature.length != 65) return address(0);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 0x20))
            v := byte(0, calldataload(add(signature.offset, 0x40)))
        }
        // tryRecover returns address(0) with every error; the caller rejects address(0) and any other signer.
        // slither-disable-next-line unused-return
        (signer,,) = ECDSA.tryRecover(digest, v, r, s);
    }

    function _config(uint256 pollId) internal view returns (Config memory c) {
        c.pollId = pollId;
        Poll storage p = _polls[pollId];
        uint64 closesAt = p.closesAt;
        if (closesAt == 0) return c;
        c.exists = true;
        c.opensAt = p.opensAt;
        c.closesAt = closesAt;
        c.revealEndsAt = p.revealEndsAt;
        c.numOptions = p.numOptions;
        c.maxChoices = p.maxChoices;
        c.ballotType = p.ballotType;
        c.secrecy = p.secrecy;
        c.eligibility = p.eligibility;
        c.districtMask = p.districtMask;
        c.minBirthYear = p.minBirthYear;
        c.maxBirthYear = p.maxBirthYear;
        if (c.eligibility == Eligibility.Census) c.censusRoot = p.censusRoot;
    }

    function _pollOrRevert(uint256 pollId) internal view returns (Poll storage p) {
        p = _polls[pollId];
        if (p.closesAt == 0) revert MVotingUnknownPoll(pollId);
    }

    function _validateParams(PollParams calldata params) internal view {
        uint256 n = params.options.length;
        if (n < 2 || n > MAX_OPTIONS) revert MVotingInvalidOptions(n);

        bool sealed_ = params.secrecy == Secrecy.Sealed;
        if (
            params.secrecy == Secrecy.Encrypted
                && (params.ballotType == BallotType.Ranked || address(_encrypted) == address(0))
        ) revert MVotingUnsupportedSecrecy(params.secrecy, params.ballotType);
        if (
            params.closesAt <= params.opensAt || params.closesAt <= block.timestamp
                || (sealed_ ? params.revealEndsAt <= params.closesAt : params.revealEndsAt != 0)
        ) revert MVotingInvalidSchedule(params.opensAt, params.closesAt, params.revealEndsAt);

        uint8 k = params.maxChoices;
        BallotType t = params.ballotType;
        if (
            t == BallotType.Single ? k != 1 : (k == 0 || k > n)
        ) revert MVotingInvalidMaxChoices(t, k);

        Eligibility e = params.eligibility;
        bool hasDistricts = params.districtMask != 0;
        bool hasBand = params.minBirthYear != 0 || params.maxBirthYear != 0;
        bool bad;
        if (e == Eligibility.Census) bad = params.censusRoot == 0 || hasDistricts || hasBand;
        else if (params.censusRoot != 0) bad = true;
        else if (e == Eligibility.AllCitizens) bad = hasDistricts || hasBand;
        else if (e == Eligibility.Districts) bad = !hasDistricts;
        else bad = !hasBand;
        // District codes are 1..25: bit 0 and bits above 25 are never set.
        if (params.districtMask & ~uint32(0x3fffffe) != 0) bad = true;
        if (params.maxBirthYear != 0 && params.minBirthYear > params.maxBirthYear) bad = true;
        if (bad) revert MVotingInvalidEligibility(e);
    }

    function _pollFromParams(PollParams calldata params, address creator) internal pure returns (Poll memory poll) {
        poll.questionHash = keccak256(bytes(params.question));
        uint256 n = params.options.length;
        bytes32[] memory optionHashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            optionHashes[i] = keccak256(bytes(params.options[i]));
        }
        poll.optionsHash = keccak256(abi.encodePacked(optionHashes));
        poll.censusRoot = params.censusRoot;
        poll.creator = creator;
        poll.opensAt = params.opensAt;
        poll.numOptions = uint8(n);
        poll.maxChoices = params.maxChoices;
        poll.ballotType = params.ballotType;
        poll.secrecy = params.secrecy;
        poll.closesAt = params.closesAt;
        poll.revealEndsAt = params.revealEndsAt;
        poll.districtMask = params.districtMask;
        poll.minBirthYear = params.minBirthYear;
        poll.maxBirthYear = params.maxBirthYear;
        poll.eligibleCount = params.eligibleCount;
        poll.eligibility = params.eligibility;
    }

    /// @dev EIP-712 struct hash of `CreatePoll`, in two halves to stay within the stack.
    function _createPollStructHash(PollParams calldata params, Poll memory poll, uint256 nonce, uint256 deadline)
        internal
        pure
        returns (bytes32)
    {
        bytes memory head = abi.encode(
            CREATE_POLL_TYPEHASH,
            poll.questionHash,
            poll.optionsHash,
            uint8(params.ballotType),
            params.maxChoices,
            uint8(params.secrecy),
            params.opensAt,
            params.closesAt,
            params.revealEndsAt
        );
        bytes memory tail = abi.encode(
            uint8(params.eligibility),
            params.districtMask,
            params.minBirthYear,
            params.maxBirthYear,
            params.censusRoot,
            params.eligibleCount,
            poll.creator,
            nonce,
            deadline
        );
        return keccak256(bytes.concat(head, tail));
    }
}
