// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Encrypted tally of M-Voting's `Encrypted` polls
/// @notice Threshold ElGamal on alt_bn128 (BN254, the curve of the EVM precompiles ecAdd/ecMul):
/// the poll admin names n trustees and a threshold t; the trustees run a dealer-free
/// Pedersen/Feldman DKG through this contract (commitments and encrypted shares on chain); the
/// election key is fixed on chain before the poll opens. Ballots are exponential ElGamal, one
/// ciphertext per counted option, with disjunctive Chaum–Pedersen proofs checked here; MVoting
/// calls {verifyBallot} and {addBallot} for every encrypted ballot and keeps eligibility, one
/// ballot per person and versions. After close each trustee posts a partial decryption of the
/// tally with Chaum–Pedersen proofs; with t of them anyone submits the counts and this contract
/// checks `count · G` against the Lagrange combination before MVoting publishes `PollFinalized`.
///
/// Every encoding (points, ciphertexts, proofs, the Fiat–Shamir challenge words) is specified in
/// docs/encrypted-ballots.md. In short: a point is two uint256 words (x, y), infinity is (0, 0);
/// a challenge is `uint256(keccak256(w0 ‖ w1 ‖ …)) % q` over 32-byte big-endian words, q the group
/// order. Counted options: options 0..n-2 for single choice (option n-1 = ballots − the others),
/// all n options for approval; ranked polls can not be encrypted.
///
/// Trustee steps are EIP-712 messages `TrusteeAction(uint256 pollId,address trustee,uint8 step,
/// bytes32 dataHash,uint256 deadline)` (domain "EncryptedTally", "1"), step 1 = commit,
/// 2 = deal, 3 = decrypt, `dataHash` = keccak256 of the step's words packed; anyone relays them.
interface IEncryptedTally {
    /// @notice The election of one poll as stored.
    /// @param threshold t: shares needed to decrypt
    /// @param trusteeCount n
    /// @param committed trustees that posted their commitments
    /// @param dealt trustees that posted their encrypted shares
    /// @param decrypted trustees that posted a valid partial decryption
    /// @param keyFixed whether the election key is fixed (all n dealt)
    /// @param countedOptions ciphertexts per ballot: numOptions - 1 (single choice) or numOptions (approval)
    /// @param key the election public key H (x, y)
    struct Election {
        uint8 threshold;
        uint8 trusteeCount;
        uint8 committed;
        uint8 dealt;
        uint8 decrypted;
        bool keyFixed;
        uint8 countedOptions;
        uint256[2] key;
    }

    /// @notice An encrypted ballot, beside MVoting's `BallotInput` (whose `commitment` must be
    /// `keccak256(abi.encodePacked(ciphertexts, proofs))`).
    /// @param ciphertexts per counted option: A.x, A.y, B.x, B.y (A = rG, B = rH + mG)
    /// @param proofs per counted option (c0, z0, c1, z1), then the sum proof (c, z per allowed sum)
    /// @param previous a replacement's predecessor ciphertexts (as stored), empty for a first ballot
    struct EncryptedBallot {
        uint256[] ciphertexts;
        uint256[] proofs;
        uint256[] previous;
    }

    /// @notice The poll admin named the trustees (indices 1..n in this order) and the threshold.
    event TrusteesNamed(uint256 indexed pollId, address[] trustees, uint8 threshold);
    /// @notice A trustee published its Feldman commitments (t points a_k·G) and share-encryption key.
    event DkgCommitted(
        uint256 indexed pollId, address indexed trustee, uint8 index, uint256[] commitments, uint256[2] encryptionKey
    );
    /// @notice A trustee published its shares, encrypted to each trustee's encryption key.
    event DkgDealt(
        uint256 indexed pollId, address indexed trustee, uint8 index, uint256[2] ephemeral, uint256[] encryptedShares
    );
    /// @notice An encrypted ballot entered the tally (MVoting's `BallotCast` of the same voter key
    /// and transaction carries its commitment); a later one of the same key replaces it.
    event EncryptedBallotAdded(
        uint256 indexed pollId, uint256 indexed voterKey, address voter, uint256[] ciphertexts, uint256[] proofs
    );
    /// @notice All trustees dealt: the election key (sum of the constant commitments) is fixed.
    event ElectionKeyFixed(uint256 indexed pollId, uint256[2] key);
    /// @notice A partial decryption of the tally (x_i·A per counted option) with its proofs.
    event DecryptionShared(
        uint256 indexed pollId, address indexed trustee, uint8 index, uint256[] shares, uint256[] proofs
    );
    /// @notice The counts matched the combination of the first t partial decryptions.
    event TallyDecrypted(uint256 indexed pollId, uint32[] counts, uint8[] trustees);

    /// @notice The constructor got the zero address.
    /// @custom:http 422
    error EncryptedTallyZeroAddress();
    /// @notice Only MVoting may call this.
    /// @custom:http 403
    error EncryptedTallyNotVoting(address caller);
    /// @notice The poll is not an encrypted poll (or does not exist).
    /// @custom:http 409
    error EncryptedTallyNotEncrypted(uint256 pollId);
    /// @notice `signer` is not the poll's creator.
    /// @custom:http 403
    error EncryptedTallyNotPollCreator(uint256 pollId, address signer);
    /// @notice The trustees are already named.
    /// @custom:http 409
    error EncryptedTallyTrusteesNamed(uint256 pollId);
    /// @notice Needs 1 <= threshold <= trustees <= 16, distinct non-zero trustees.
    /// @custom:http 422
    error EncryptedTallyInvalidTrustees(uint256 count, uint8 threshold);
    /// @notice The DKG (naming trustees, commit, deal) must end before the poll opens at `opensAt`.
    /// @custom:http 409
    error EncryptedTallyDkgClosed(uint256 pollId, uint64 opensAt);
    /// @notice `trustee` is not a trustee of the poll.
    /// @custom:http 403
    error EncryptedTallyNotTrustee(uint256 pollId, address trustee);
    /// @notice The signed message's deadline has passed.
    /// @custom:http 422
    error EncryptedTallySignatureExpired(uint256 deadline);
    /// @notice The signature is not `signer`'s signature of the message.
    /// @custom:http 403
    error EncryptedTallyInvalidSignature(address signer);
    /// @notice The trustee already did this step.
    /// @custom:http 409
    error EncryptedTallyStepDone(uint256 pollId, address trustee, uint8 step);
    /// @notice The step's data has the wrong number of words, or a word is not a point / scalar.
    /// @custom:http 422
    error EncryptedTallyMalformed(uint256 pollId, uint8 step, uint256 length);
    /// @notice Dealing needs every trustee's commitments first (`committed` of `trustees`).
    /// @custom:http 409
    error EncryptedTallyNotAllCommitted(uint256 pollId, uint8 committed, uint8 trustees);
    /// @notice The election key is not fixed (the DKG has not finished).
    /// @custom:http 409
    error EncryptedTallyNoKey(uint256 pollId);
    /// @notice Partial decryptions are accepted from `closesAt`.
    /// @custom:http 409
    error EncryptedTallyNotClosed(uint256 pollId, uint64 closesAt);
    /// @notice The Chaum–Pedersen proof of a partial decryption of `option` does not verify.
    /// @custom:http 422
    error EncryptedTallyInvalidDecryption(uint256 pollId, address trustee, uint256 option);
    /// @notice Only `decrypted` of the `threshold` partial decryptions needed are in.
    /// @custom:http 409
    error EncryptedTallyNotEnoughShares(uint256 pollId, uint8 decrypted, uint8 threshold);
    /// @notice `count` for `option` does not match the decrypted tally.
    /// @custom:http 422
    error EncryptedTallyWrongCount(uint256 pollId, uint256 option, uint256 count);

    /// @notice Names the trustees and the threshold; signed by the poll's creator (EIP-712
    /// `NameTrustees(uint256 pollId,address[] trustees,uint8 threshold,uint256 deadline)`), before
    /// the poll opens. Anyone may relay.
    function nameTrustees(
        uint256 pollId,
        address[] calldata trustees,
        uint8 threshold,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice DKG step 1: the trustee's t Feldman commitments (2t words) and its encryption key.
    function commit(
        uint256 pollId,
        address trustee,
        uint256[] calldata commitments,
        uint256[2] calldata encryptionKey,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice DKG step 2: the ephemeral key R = rG and n encrypted shares (one word per trustee,
    /// in trustee order); the last dealer fixes the election key.
    function deal(
        uint256 pollId,
        address trustee,
        uint256[2] calldata ephemeral,
        uint256[] calldata encryptedShares,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice After close: the trustee's partial decryption D = x_i·A of each counted option's
    /// tally (2 words each) and a Chaum–Pedersen proof per option (c, z); reverts
    /// EncryptedTallyInvalidDecryption when a proof fails.
    function decrypt(
        uint256 pollId,
        address trustee,
        uint256[] calldata shares,
        uint256[] calldata proofs,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Checks `counts` (one per option) against the first t partial decryptions and has
    /// MVoting publish them with `PollFinalized`. Anyone may call.
    function publishResult(uint256 pollId, uint32[] calldata counts) external;

    /// @notice MVoting's check of an encrypted ballot: 0 = valid, else an IMVoting.Reason code
    /// (16 InvalidProof, 17 NoElectionKey). Writes nothing.
    function verifyBallot(
        uint256 pollId,
        address voter,
        uint256 voterKey,
        uint8 ballotType,
        uint8 numOptions,
        uint8 maxChoices,
        EncryptedBallot calldata ballot
    ) external view returns (uint8 reason);

    /// @notice Adds a verified ballot to the encrypted tally (subtracting `ballot.previous`) and
    /// publishes it with `EncryptedBallotAdded`. MVoting only.
    function addBallot(uint256 pollId, uint256 voterKey, address voter, EncryptedBallot calldata ballot) external;

    /// @notice The election of `pollId` (all zero when no trustees are named).
    function electionOf(uint256 pollId) external view returns (Election memory);

    /// @notice The trustees of `pollId`, index i+1 at position i.
    function trusteesOf(uint256 pollId) external view returns (address[] memory);

    /// @notice The public verification key x_i·G of trustee `index` (1-based), once the key is fixed.
    function verificationKeyOf(uint256 pollId, uint256 index) external view returns (uint256[2] memory);

    /// @notice The encrypted running tally: A.x, A.y, B.x, B.y per counted option. It is public;
    /// only t trustees together can decrypt it, and they do so only after close.
    function encryptedTallyOf(uint256 pollId) external view returns (uint256[] memory);

    /// @notice keccak256 of the packed ciphertexts of the voter key's current ballot (0 = none).
    function ballotHashOf(uint256 pollId, uint256 voterKey) external view returns (bytes32);

    /// @notice EIP-712 digest of a trustee step (what the trustee signs).
    function actionDigest(uint256 pollId, address trustee, uint8 step, bytes32 dataHash, uint256 deadline)
        external
        view
        returns (bytes32);

    /// @notice The MVoting contract this tally serves.
    function voting() external view returns (address);
}
