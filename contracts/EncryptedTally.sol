// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IEncryptedTally} from "./interfaces/IEncryptedTally.sol";
import {IMVoting} from "./interfaces/IMVoting.sol";

/// @title Encrypted tally of M-Voting's `Encrypted` polls
/// @notice See {IEncryptedTally} and docs/encrypted-ballots.md.
/// @dev Points are uint256[2] (x, y) in memory, (0, 0) = infinity; arithmetic through the
/// precompiles ecAdd (0x06) and ecMul (0x07). Every point read from calldata is checked to be on
/// the curve first, so a precompile call can only fail by running out of gas.
/// Trustee info word: bits 0..7 index (1-based), bit 8 committed, bit 9 dealt, bit 10 decrypted.
contract EncryptedTally is IEncryptedTally, EIP712 {
    /// @notice Group order q of alt_bn128 (scalars, challenges, shares are mod q).
    uint256 public constant Q = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Field modulus p of alt_bn128 (coordinates are mod p).
    uint256 public constant P = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// @notice First challenge word of a ballot proof (per-option 0/1 proof and sum proof).
    uint256 public constant TAG_BALLOT = 1;
    /// @notice First challenge word of a partial-decryption proof.
    uint256 public constant TAG_DECRYPT = 2;
    /// @notice First word of a single-choice ballot's combination weights β_o.
    uint256 public constant TAG_WEIGHT = 4;
    /// @notice Most trustees a poll may name.
    uint8 public constant MAX_TRUSTEES = 16;

    /// @notice EIP-712 type of a trustee step (1 commit, 2 deal, 3 decrypt).
    bytes32 public constant TRUSTEE_ACTION_TYPEHASH =
        keccak256("TrusteeAction(uint256 pollId,address trustee,uint8 step,bytes32 dataHash,uint256 deadline)");
    /// @notice EIP-712 type of naming the trustees, signed by the poll's creator.
    bytes32 public constant NAME_TRUSTEES_TYPEHASH =
        keccak256("NameTrustees(uint256 pollId,address[] trustees,uint8 threshold,uint256 deadline)");

    uint8 private constant _STEP_COMMIT = 1;
    uint8 private constant _STEP_DEAL = 2;
    uint8 private constant _STEP_DECRYPT = 3;

    IMVoting private immutable _voting;

    mapping(uint256 pollId => Election) private _elections;
    mapping(uint256 pollId => address[]) private _trustees;
    mapping(uint256 pollId => mapping(address trustee => uint256 info)) private _info;
    mapping(uint256 pollId => mapping(uint256 word => uint256)) private _commitSums;
    mapping(uint256 pollId => mapping(uint256 index => uint256[2])) private _verificationKeys;
    mapping(uint256 pollId => mapping(uint256 word => uint256)) private _tally;
    mapping(uint256 pollId => mapping(uint256 voterKey => bytes32)) private _ballotHashes;
    mapping(uint256 pollId => uint8[]) private _decrypters;
    mapping(uint256 pollId => mapping(uint256 index => uint256[])) private _shares;

    constructor(IMVoting voting_) EIP712("EncryptedTally", "1") {
        if (address(voting_) == address(0)) revert EncryptedTallyZeroAddress();
        _voting = voting_;
    }

    // ------------------------------------------------------------------ DKG

    /// @inheritdoc IEncryptedTally
    function nameTrustees(
        uint256 pollId,
        address[] calldata trustees,
        uint8 threshold,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert EncryptedTallySignatureExpired(deadline);
        IMVoting.Poll memory poll = _encryptedPoll(pollId);
        if (block.timestamp >= poll.opensAt) revert EncryptedTallyDkgClosed(pollId, poll.opensAt);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(NAME_TRUSTEES_TYPEHASH, pollId, keccak256(abi.encodePacked(trustees)), threshold, deadline)
            )
        );
        if (_recover(digest, signature) != poll.creator) revert EncryptedTallyNotPollCreator(pollId, poll.creator);
        if (_trustees[pollId].length != 0) revert EncryptedTallyTrusteesNamed(pollId);
        uint256 n = trustees.length;
        if (n == 0 || n > MAX_TRUSTEES || threshold == 0 || threshold > n) {
            revert EncryptedTallyInvalidTrustees(n, threshold);
        }
        for (uint256 i; i < n; ++i) {
            address t = trustees[i];
            if (t == address(0) || _info[pollId][t] != 0) revert EncryptedTallyInvalidTrustees(n, threshold);
            _info[pollId][t] = i + 1;
        }
        _trustees[pollId] = trustees;
        Election storage e = _elections[pollId];
        e.threshold = threshold;
        e.trusteeCount = uint8(n);
        e.countedOptions = poll.ballotType == IMVoting.BallotType.Single ? poll.numOptions - 1 : poll.numOptions;
        emit TrusteesNamed(pollId, trustees, threshold);
    }

    /// @inheritdoc IEncryptedTally
    function commit(
        uint256 pollId,
        address trustee,
        uint256[] calldata commitments,
        uint256[2] calldata encryptionKey,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 dataHash = keccak256(abi.encodePacked(commitments, encryptionKey));
        (Election storage e, uint256 info) = _step(pollId, trustee, _STEP_COMMIT, dataHash, deadline, signature);
        _addCommitments(pollId, uint256(e.threshold) * 2, commitments, encryptionKey);
        _info[pollId][trustee] = info | (1 << 8);
        ++e.committed;
        emit DkgCommitted(pollId, trustee, uint8(info), commitments, encryptionKey);
    }

    /// @dev Checks the commitments and the key, adds the commitments into Ĉ_k = Σ_j C_{j,k}.
    function _addCommitments(
        uint256 pollId,
        uint256 words,
        uint256[] calldata commitments,
        uint256[2] calldata encryptionKey
    ) internal {
        if (commitments.length != words) revert EncryptedTallyMalformed(pollId, _STEP_COMMIT, commitments.length);
        if (!_onCurve(encryptionKey[0], encryptionKey[1]) || encryptionKey[0] == 0) {
            revert EncryptedTallyMalformed(pollId, _STEP_COMMIT, words);
        }
        mapping(uint256 word => uint256) storage sums = _commitSums[pollId];
        for (uint256 i; i < words; i += 2) {
            uint256[2] memory c = [commitments[i], commitments[i + 1]];
            if (!_onCurve(c[0], c[1]) || c[0] == 0) revert EncryptedTallyMalformed(pollId, _STEP_COMMIT, i);
            uint256[2] memory s = _add([sums[i], sums[i + 1]], c);
            sums[i] = s[0];
            sums[i + 1] = s[1];
        }
    }

    /// @inheritdoc IEncryptedTally
    function deal(
        uint256 pollId,
        address trustee,
        uint256[2] calldata ephemeral,
        uint256[] calldata encryptedShares,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 dataHash = keccak256(abi.encodePacked(ephemeral, encryptedShares));
        (Election storage e, uint256 info) = _step(pollId, trustee, _STEP_DEAL, dataHash, deadline, signature);
        if (e.committed != e.trusteeCount) revert EncryptedTallyNotAllCommitted(pollId, e.committed, e.trusteeCount);
        uint256 n = e.trusteeCount;
        if (encryptedShares.length != n) revert EncryptedTallyMalformed(pollId, _STEP_DEAL, encryptedShares.length);
        for (uint256 i; i < n; ++i) {
            if (encryptedShares[i] >= Q) revert EncryptedTallyMalformed(pollId, _STEP_DEAL, i);
        }
        if (!_onCurve(ephemeral[0], ephemeral[1]) || ephemeral[0] == 0) {
            revert EncryptedTallyMalformed(pollId, _STEP_DEAL, n);
        }
        _info[pollId][trustee] = info | (1 << 9);
        ++e.dealt;
        emit DkgDealt(pollId, trustee, uint8(info), ephemeral, encryptedShares);
        if (e.dealt == n) _fixKey(pollId, e);
    }

    /// @dev The election key H = Σ_j C_{j,0}; trustee i's verification key X_i = Σ_k i^k Ĉ_k with
    /// Ĉ_k = Σ_j C_{j,k} (Horner's rule).
    function _fixKey(uint256 pollId, Election storage e) internal {
        mapping(uint256 word => uint256) storage sums = _commitSums[pollId];
        uint256 t = e.threshold;
        uint256 n = e.trusteeCount;
        for (uint256 i = 1; i <= n; ++i) {
            uint256[2] memory x = [sums[2 * (t - 1)], sums[2 * (t - 1) + 1]];
            for (uint256 k = t - 1; k > 0; --k) {
                x = _add(_mul(x, i), [sums[2 * (k - 1)], sums[2 * (k - 1) + 1]]);
            }
            _verificationKeys[pollId][i] = x;
        }
        e.key = [sums[0], sums[1]];
        e.keyFixed = true;
        emit ElectionKeyFixed(pollId, e.key);
    }

    // ------------------------------------------------------------- decryption

    /// @inheritdoc IEncryptedTally
    function decrypt(
        uint256 pollId,
        address trustee,
        uint256[] calldata shares,
        uint256[] calldata proofs,
        uint256 deadline,
        bytes calldata signature
    ) external {
        (Election storage e, uint256 info) =
            _step(pollId, trustee, _STEP_DECRYPT, keccak256(abi.encodePacked(shares, proofs)), deadline, signature);
        _recordDecryption(pollId, trustee, e, info, shares, proofs);
    }

    function _recordDecryption(
        uint256 pollId,
        address trustee,
        Election storage e,
        uint256 info,
        uint256[] calldata shares,
        uint256[] calldata proofs
    ) internal {
        if (!e.keyFixed) revert EncryptedTallyNoKey(pollId);
        uint256 index = uint8(info);
        _verifyDecryption(pollId, trustee, index, e.countedOptions, shares, proofs);
        _shares[pollId][index] = shares;
        _decrypters[pollId].push(uint8(index));
        _info[pollId][trustee] = info | (1 << 10);
        ++e.decrypted;
        emit DecryptionShared(pollId, trustee, uint8(index), shares, proofs);
    }

    function _verifyDecryption(
        uint256 pollId,
        address trustee,
        uint256 index,
        uint256 m,
        uint256[] calldata shares,
        uint256[] calldata proofs
    ) internal view {
        if (shares.length != 2 * m || proofs.length != 2 * m) {
            revert EncryptedTallyMalformed(pollId, _STEP_DECRYPT, shares.length);
        }
        uint256[2] memory vk = _verificationKeys[pollId][index];
        for (uint256 o; o < m; ++o) {
            uint256[4] memory dcz = [shares[2 * o], shares[2 * o + 1], proofs[2 * o], proofs[2 * o + 1]];
            if (!_decryptionProofOk(pollId, index, o, vk, dcz)) {
                revert EncryptedTallyInvalidDecryption(pollId, trustee, o);
            }
        }
    }

    /// @dev Chaum–Pedersen: log_G X = log_A D, proof (c, z): a = zG − cX, b = zA − cD,
    /// c = H(TAG_DECRYPT, this, pollId, index, option, X, A, D, a, b).
    function _decryptionProofOk(uint256 pollId, uint256 index, uint256 o, uint256[2] memory vk, uint256[4] memory dcz)
        internal
        view
        returns (bool)
    {
        // dcz = D.x, D.y, c, z
        if (!_onCurve(dcz[0], dcz[1]) || dcz[2] >= Q || dcz[3] >= Q) return false;
        uint256[2] memory a = [_tally[pollId][4 * o], _tally[pollId][4 * o + 1]];
        uint256[] memory w = new uint256[](15);
        (w[0], w[1], w[2], w[3], w[4]) = (TAG_DECRYPT, uint256(uint160(address(this))), pollId, index, o);
        (w[5], w[6], w[7], w[8], w[9], w[10]) = (vk[0], vk[1], a[0], a[1], dcz[0], dcz[1]);
        uint256[2] memory ca = _sub(_mul([uint256(1), 2], dcz[3]), _mul(vk, dcz[2]));
        uint256[2] memory cb = _sub(_mul(a, dcz[3]), _mul([dcz[0], dcz[1]], dcz[2]));
        (w[11], w[12], w[13], w[14]) = (ca[0], ca[1], cb[0], cb[1]);
        return _challenge(w) == dcz[2];
    }

    /// @inheritdoc IEncryptedTally
    function publishResult(uint256 pollId, uint32[] calldata counts) external {
        IMVoting.Poll memory poll = _encryptedPoll(pollId);
        if (block.timestamp < poll.closesAt) revert EncryptedTallyNotClosed(pollId, poll.closesAt);
        Election storage e = _elections[pollId];
        if (!e.keyFixed) revert EncryptedTallyNoKey(pollId);
        if (counts.length != poll.numOptions) revert EncryptedTallyMalformed(pollId, 4, counts.length);
        uint256 t = e.threshold;
        if (e.decrypted < t) revert EncryptedTallyNotEnoughShares(pollId, e.decrypted, e.threshold);
        uint8[] memory used = new uint8[](t);
        uint256[] memory lambda = new uint256[](t);
        uint8[] storage decrypters = _decrypters[pollId];
        for (uint256 i; i < t; ++i) {
            used[i] = decrypters[i];
        }
        for (uint256 i; i < t; ++i) {
            lambda[i] = _lagrangeAtZero(used, i);
        }
        uint256 m = e.countedOptions;
        uint256 sum;
        for (uint256 o; o < m; ++o) {
            if (!_countOk(pollId, o, used, lambda, counts[o])) revert EncryptedTallyWrongCount(pollId, o, counts[o]);
            sum += counts[o];
        }
        if (m < poll.numOptions) {
            // Single choice: the last option holds every ballot that chose none of the others.
            uint256 last = poll.numOptions - 1;
            if (sum > poll.ballots || counts[last] != poll.ballots - sum) {
                revert EncryptedTallyWrongCount(pollId, last, counts[last]);
            }
        }
        emit TallyDecrypted(pollId, counts, used);
        _voting.finalizeEncrypted(pollId, counts);
    }

    /// @dev B_o − Σ λ_i·D_{i,o} == count·G for counted option `o`.
    function _countOk(uint256 pollId, uint256 o, uint8[] memory used, uint256[] memory lambda, uint256 count)
        internal
        view
        returns (bool)
    {
        uint256[2] memory combined;
        for (uint256 i; i < used.length; ++i) {
            uint256[] storage s = _shares[pollId][used[i]];
            combined = _add(combined, _mul([s[2 * o], s[2 * o + 1]], lambda[i]));
        }
        uint256[2] memory plain = _sub([_tally[pollId][4 * o + 2], _tally[pollId][4 * o + 3]], combined);
        uint256[2] memory expected = _mul([uint256(1), 2], count);
        return plain[0] == expected[0] && plain[1] == expected[1];
    }

    /// @dev λ_i = Π_{j≠i} x_j / (x_j − x_i) mod q over the trustee indices `xs`.
    function _lagrangeAtZero(uint8[] memory xs, uint256 i) internal view returns (uint256) {
        uint256 num = 1;
        uint256 den = 1;
        uint256 xi = xs[i];
        for (uint256 j; j < xs.length; ++j) {
            if (j == i) continue;
            uint256 xj = xs[j];
            num = mulmod(num, xj, Q);
            den = mulmod(den, xj > xi ? xj - xi : Q - (xi - xj), Q);
        }
        return mulmod(num, _modexp(den, Q - 2), Q);
    }

    // ---------------------------------------------------------------- ballots

    /// @inheritdoc IEncryptedTally
    function verifyBallot(
        uint256 pollId,
        address voter,
        uint256 voterKey,
        uint8 ballotType,
        uint8 numOptions,
        uint8 maxChoices,
        EncryptedBallot calldata ballot
    ) external view returns (uint8) {
        Election storage e = _elections[pollId];
        if (!e.keyFixed) return 17;
        uint256 m = e.countedOptions;
        bool single = ballotType == uint8(IMVoting.BallotType.Single);
        if (m != (single ? numOptions - 1 : numOptions) || ballot.ciphertexts.length != 4 * m) return 16;
        if (ballot.proofs.length != (single ? 2 * uint256(numOptions) : 4 * m + 2 * uint256(maxChoices))) return 16;
        if (!_previousOk(pollId, voterKey, ballot.previous)) return 16;
        uint256[] calldata cts = ballot.ciphertexts;
        for (uint256 i; i < 4 * m; i += 2) {
            if (!_onCurve(cts[i], cts[i + 1])) return 16;
        }
        bool ok = single
            ? _vectorOk(pollId, voter, e.key, numOptions, ballot)
            : _approvalOk(pollId, voter, e.key, m, maxChoices, ballot);
        return ok ? 0 : 16;
    }

    function _previousOk(uint256 pollId, uint256 voterKey, uint256[] calldata previous) internal view returns (bool) {
        bytes32 stored = _ballotHashes[pollId][voterKey];
        return stored == 0 ? previous.length == 0 : keccak256(abi.encodePacked(previous)) == stored;
    }

    /// @dev Single choice, n options, counted options 0..m-1 (m = n-1): one disjunctive proof that
    /// the vector of plaintexts is e_k for some k in 0..n-1 (e_{n-1} = all zero), on the
    /// combination A* = Σ β_o·A_o, B* = Σ β_o·B_o with β_0 = 1 and
    /// β_o = H(TAG_WEIGHT, this, pollId, voter, o, keccak256(ciphertexts)) for o ≥ 1. Branch k:
    /// (A*, B* − β_k·G) encrypts 0 (β_{n-1} := 0). Proof words: (c_k, z_k) for k = 0..n-1.
    function _vectorOk(uint256 pollId, address voter, uint256[2] memory h, uint256 n, EncryptedBallot calldata ballot)
        internal
        view
        returns (bool)
    {
        (uint256[4] memory star, uint256[] memory beta) = _combine(pollId, voter, n - 1, ballot.ciphertexts);
        uint256[] memory w = new uint256[](11 + 4 * n);
        (w[0], w[1], w[2], w[3], w[4]) = (TAG_BALLOT, uint256(uint160(address(this))), pollId, uint256(uint160(voter)), n - 1);
        (w[5], w[6], w[7], w[8], w[9], w[10]) = (h[0], h[1], star[0], star[1], star[2], star[3]);
        return _vectorBranches(w, h, star, beta, ballot.proofs);
    }

    function _vectorBranches(
        uint256[] memory w,
        uint256[2] memory h,
        uint256[4] memory star,
        uint256[] memory beta,
        uint256[] calldata proofs
    ) internal view returns (bool) {
        uint256 n = beta.length + 1;
        uint256 sum;
        for (uint256 k; k < n; ++k) {
            uint256 c = proofs[2 * k];
            if (c >= Q || proofs[2 * k + 1] >= Q) return false;
            uint256[4] memory ab = [star[0], star[1], star[2], star[3]];
            if (k == 0) (ab[2], ab[3]) = _add2(star[2], star[3], 1, P - 2);
            else if (k < n - 1) (ab[2], ab[3]) = _subG(star[2], star[3], beta[k]);
            _branchInto(w, 11 + 4 * k, h, ab, c, proofs[2 * k + 1]);
            sum = addmod(sum, c, Q);
        }
        return _challenge(w) == sum;
    }

    /// @dev The Fiat–Shamir weights and the combined ciphertext (A*, B*).
    function _combine(uint256 pollId, address voter, uint256 m, uint256[] calldata cts)
        internal
        view
        returns (uint256[4] memory star, uint256[] memory beta)
    {
        beta = new uint256[](m);
        bytes32 ctsHash = keccak256(abi.encodePacked(cts));
        star = [cts[0], cts[1], cts[2], cts[3]];
        beta[0] = 1;
        for (uint256 o = 1; o < m; ++o) {
            uint256 b = uint256(
                keccak256(abi.encode(TAG_WEIGHT, address(this), pollId, uint256(uint160(voter)), o, ctsHash))
            ) % Q;
            beta[o] = b;
            (uint256 x, uint256 y) = _mul2(cts[4 * o], cts[4 * o + 1], b);
            (star[0], star[1]) = _add2(star[0], star[1], x, y);
            (x, y) = _mul2(cts[4 * o + 2], cts[4 * o + 3], b);
            (star[2], star[3]) = _add2(star[2], star[3], x, y);
        }
    }

    /// @dev Approval: every counted option's 0/1 proof, then the proof that their sum is in 1..k.
    function _approvalOk(
        uint256 pollId,
        address voter,
        uint256[2] memory h,
        uint256 m,
        uint256 k,
        EncryptedBallot calldata ballot
    ) internal view returns (bool) {
        uint256[] calldata cts = ballot.ciphertexts;
        uint256[4] memory total;
        for (uint256 o; o < m; ++o) {
            uint256[4] memory ct = [cts[4 * o], cts[4 * o + 1], cts[4 * o + 2], cts[4 * o + 3]];
            if (!_member(_prefix(pollId, voter, o, h, ct), h, ct, 0, 1, ballot.proofs, 4 * o)) return false;
            (total[0], total[1]) = _add2(total[0], total[1], ct[0], ct[1]);
            (total[2], total[3]) = _add2(total[2], total[3], ct[2], ct[3]);
        }
        return _member(_prefix(pollId, voter, m, h, total), h, total, 1, k, ballot.proofs, 4 * m);
    }

    /// @dev The fixed challenge words: TAG_BALLOT, this, pollId, voter, index, H, A, B.
    function _prefix(uint256 pollId, address voter, uint256 index, uint256[2] memory h, uint256[4] memory ct)
        internal
        view
        returns (uint256[11] memory w)
    {
        w = [
            TAG_BALLOT,
            uint256(uint160(address(this))),
            pollId,
            uint256(uint160(voter)),
            index,
            h[0],
            h[1],
            ct[0],
            ct[1],
            ct[2],
            ct[3]
        ];
    }

    /// @dev Disjunctive Chaum–Pedersen: (A, B) encrypts some v in lo..hi under H. Proof words at
    /// `off`: (c_v, z_v) for v = lo..hi; a_v = z_v·G − c_v·A, b_v = z_v·H − c_v·(B − v·G);
    /// Σ c_v = H(prefix ‖ a_lo ‖ b_lo ‖ … ‖ a_hi ‖ b_hi) mod q.
    function _member(
        uint256[11] memory prefix,
        uint256[2] memory h,
        uint256[4] memory ct,
        uint256 lo,
        uint256 hi,
        uint256[] calldata proofs,
        uint256 off
    ) internal view returns (bool) {
        uint256[] memory w = new uint256[](11 + 4 * (hi - lo + 1));
        for (uint256 i; i < 11; ++i) {
            w[i] = prefix[i];
        }
        uint256 sum;
        for (uint256 v = lo; v <= hi; ++v) {
            if (proofs[off] >= Q || proofs[off + 1] >= Q) return false;
            uint256[4] memory ab = [ct[0], ct[1], ct[2], ct[3]];
            if (v == 1) (ab[2], ab[3]) = _add2(ct[2], ct[3], 1, P - 2);
            else if (v > 1) (ab[2], ab[3]) = _subG(ct[2], ct[3], v);
            _branchInto(w, 11 + 4 * (v - lo), h, ab, proofs[off], proofs[off + 1]);
            sum = addmod(sum, proofs[off], Q);
            off += 2;
        }
        return _challenge(w) == sum;
    }

    /// @dev One branch's commitments into `w[at..at+3]`: a = z·G − c·A, b = z·H − c·B'.
    function _branchInto(
        uint256[] memory w,
        uint256 at,
        uint256[2] memory h,
        uint256[4] memory ab,
        uint256 c,
        uint256 z
    ) internal view {
        (uint256 x, uint256 y) = _lin(1, 2, z, ab[0], ab[1], c);
        (w[at], w[at + 1]) = (x, y);
        (x, y) = _lin(h[0], h[1], z, ab[2], ab[3], c);
        (w[at + 2], w[at + 3]) = (x, y);
    }

    /// @dev s1·P1 − s2·P2 (two ecMul, one ecAdd) in scratch memory past the free pointer.
    function _lin(uint256 x1, uint256 y1, uint256 s1, uint256 x2, uint256 y2, uint256 s2)
        internal
        view
        returns (uint256 x, uint256 y)
    {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(add(m, 0x80), x2)
            mstore(add(m, 0xa0), y2)
            mstore(add(m, 0xc0), s2)
            ok := staticcall(gas(), 0x07, add(m, 0x80), 0x60, add(m, 0x40), 0x40)
            let ny := mload(add(m, 0x60))
            if or(mload(add(m, 0x40)), ny) { mstore(add(m, 0x60), sub(P, ny)) }
            mstore(add(m, 0x80), x1)
            mstore(add(m, 0xa0), y1)
            mstore(add(m, 0xc0), s1)
            ok := and(ok, staticcall(gas(), 0x07, add(m, 0x80), 0x60, m, 0x40))
            ok := and(ok, staticcall(gas(), 0x06, m, 0x80, m, 0x40))
            x := mload(m)
            y := mload(add(m, 0x20))
        }
        if (!ok) revert EncryptedTallyMalformed(0, 0, 0);
    }

    function _mul2(uint256 x1, uint256 y1, uint256 s) internal view returns (uint256 x, uint256 y) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, x1)
            mstore(add(m, 0x20), y1)
            mstore(add(m, 0x40), s)
            ok := staticcall(gas(), 0x07, m, 0x60, m, 0x40)
            x := mload(m)
            y := mload(add(m, 0x20))
        }
        if (!ok) revert EncryptedTallyMalformed(0, 0, 0);
    }

    /// @dev P − s·G.
    function _subG(uint256 x1, uint256 y1, uint256 s) internal view returns (uint256, uint256) {
        (uint256 x, uint256 y) = _mul2(1, 2, s);
        return _sub2(x1, y1, x, y);
    }

    function _add2(uint256 x1, uint256 y1, uint256 x2, uint256 y2) internal view returns (uint256 x, uint256 y) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, x1)
            mstore(add(m, 0x20), y1)
            mstore(add(m, 0x40), x2)
            mstore(add(m, 0x60), y2)
            ok := staticcall(gas(), 0x06, m, 0x80, m, 0x40)
            x := mload(m)
            y := mload(add(m, 0x20))
        }
        if (!ok) revert EncryptedTallyMalformed(0, 0, 0);
    }

    function _sub2(uint256 x1, uint256 y1, uint256 x2, uint256 y2) internal view returns (uint256, uint256) {
        if (x2 == 0 && y2 == 0) return (x1, y1);
        return _add2(x1, y1, x2, P - y2);
    }

    /// @inheritdoc IEncryptedTally
    function addBallot(uint256 pollId, uint256 voterKey, address voter, EncryptedBallot calldata ballot) external {
        if (msg.sender != address(_voting)) revert EncryptedTallyNotVoting(msg.sender);
        uint256 m = _elections[pollId].countedOptions;
        bool replace = ballot.previous.length != 0;
        mapping(uint256 word => uint256) storage tally = _tally[pollId];
        for (uint256 w; w < 4 * m; w += 2) {
            (uint256 x, uint256 y) = _add2(tally[w], tally[w + 1], ballot.ciphertexts[w], ballot.ciphertexts[w + 1]);
            if (replace) (x, y) = _sub2(x, y, ballot.previous[w], ballot.previous[w + 1]);
            tally[w] = x;
            tally[w + 1] = y;
        }
        _ballotHashes[pollId][voterKey] = keccak256(abi.encodePacked(ballot.ciphertexts));
        emit EncryptedBallotAdded(pollId, voterKey, voter, ballot.ciphertexts, ballot.proofs);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IEncryptedTally
    function electionOf(uint256 pollId) external view returns (Election memory) {
        return _elections[pollId];
    }

    /// @inheritdoc IEncryptedTally
    function trusteesOf(uint256 pollId) external view returns (address[] memory) {
        return _trustees[pollId];
    }

    /// @inheritdoc IEncryptedTally
    function verificationKeyOf(uint256 pollId, uint256 index) external view returns (uint256[2] memory) {
        return _verificationKeys[pollId][index];
    }

    /// @inheritdoc IEncryptedTally
    function encryptedTallyOf(uint256 pollId) external view returns (uint256[] memory words) {
        uint256 n = 4 * uint256(_elections[pollId].countedOptions);
        words = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            words[i] = _tally[pollId][i];
        }
    }

    /// @inheritdoc IEncryptedTally
    function ballotHashOf(uint256 pollId, uint256 voterKey) external view returns (bytes32) {
        return _ballotHashes[pollId][voterKey];
    }

    /// @inheritdoc IEncryptedTally
    function actionDigest(uint256 pollId, address trustee, uint8 step, bytes32 dataHash, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(TRUSTEE_ACTION_TYPEHASH, pollId, trustee, step, dataHash, deadline)));
    }

    /// @inheritdoc IEncryptedTally
    function voting() external view returns (address) {
        return address(_voting);
    }

    /// @notice The EIP-712 domain separator (name "EncryptedTally", version "1").
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // --------------------------------------------------------------- internal

    /// @dev The checks every trustee step shares: deadline, window, trustee, signature, once.
    function _step(uint256 pollId, address trustee, uint8 step, bytes32 dataHash, uint256 deadline, bytes calldata sig)
        internal
        view
        returns (Election storage e, uint256 info)
    {
        if (block.timestamp > deadline) revert EncryptedTallySignatureExpired(deadline);
        IMVoting.Poll memory poll = _encryptedPoll(pollId);
        if (step == _STEP_DECRYPT) {
            if (block.timestamp < poll.closesAt) revert EncryptedTallyNotClosed(pollId, poll.closesAt);
        } else if (block.timestamp >= poll.opensAt) {
            revert EncryptedTallyDkgClosed(pollId, poll.opensAt);
        }
        info = _info[pollId][trustee];
        if (info == 0) revert EncryptedTallyNotTrustee(pollId, trustee);
        if (_recover(actionDigest(pollId, trustee, step, dataHash, deadline), sig) != trustee) {
            revert EncryptedTallyInvalidSignature(trustee);
        }
        if (info & (1 << (7 + step)) != 0) revert EncryptedTallyStepDone(pollId, trustee, step);
        e = _elections[pollId];
    }

    function _encryptedPoll(uint256 pollId) internal view returns (IMVoting.Poll memory poll) {
        poll = _voting.getPoll(pollId);
        if (poll.secrecy != IMVoting.Secrecy.Encrypted) revert EncryptedTallyNotEncrypted(pollId);
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        // tryRecover returns address(0) on every error; callers compare against a non-zero address.
        // slither-disable-next-line unused-return
        (signer,,) = ECDSA.tryRecover(digest, signature);
    }

    /// @dev keccak256 over the words (32-byte big-endian each), reduced mod q.
    function _challenge(uint256[] memory w) internal pure returns (uint256 c) {
        assembly ("memory-safe") {
            c := keccak256(add(w, 0x20), mul(mload(w), 0x20))
        }
        c %= Q;
    }

    function _onCurve(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= P || y >= P) return false;
        if (x == 0 && y == 0) return true;
        return mulmod(y, y, P) == addmod(mulmod(mulmod(x, x, P), x, P), 3, P);
    }

    function _add(uint256[2] memory p1, uint256[2] memory p2) internal view returns (uint256[2] memory r) {
        uint256[4] memory input = [p1[0], p1[1], p2[0], p2[1]];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x06, input, 0x80, r, 0x40)
        }
        if (!ok) revert EncryptedTallyMalformed(0, 0, 0);
    }

    function _mul(uint256[2] memory p1, uint256 s) internal view returns (uint256[2] memory r) {
        uint256[3] memory input = [p1[0], p1[1], s];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x07, input, 0x60, r, 0x40)
        }
        if (!ok) revert EncryptedTallyMalformed(0, 0, 0);
    }

    function _sub(uint256[2] memory p1, uint256[2] memory p2) internal view returns (uint256[2] memory) {
        if (p2[0] == 0 && p2[1] == 0) return p1;
        return _add(p1, [p2[0], P - p2[1]]);
    }

    function _modexp(uint256 base, uint256 exponent) internal view returns (uint256 r) {
        uint256[6] memory input = [uint256(32), 32, 32, base, exponent, Q];
        uint256[1] memory out;
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x05, input, 0xc0, out, 0x20)
        }
        if (!ok) revert EncryptedTallyMalformed(0, 0, 0);
        r = out[0];
    }
}
