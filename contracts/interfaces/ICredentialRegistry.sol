// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Online credentials (온라인 자격증명)
/// @notice A city-governed registry of credential issuers (agencies), their signing keys with
/// validity windows, and credential types; and the on-chain anchors of credentials those issuers
/// sign off chain. Only hashes go on chain: a single credential is anchored by its hash (the
/// EIP-712 signing digest of the document's `Credential` message under this registry's domain, see
/// `backend/civic_ledger/credentials/document.py`), a batch by the root of a Merkle tree over its
/// credentials. Issuers revoke (permanently) or suspend (reversibly) anchored credentials.
///
/// Identifiers:
/// - `issuerId`, `typeId`: bytes32 chosen by the city (e.g. keccak256 of a code), never zero.
/// - `anchorId`: the anchored hash itself — the credential hash for a single issuance, the Merkle
///   root for a batch. A credential is addressed by `(anchorId, position)`: position 0 for a
///   single credential, its leaf position `0 .. count-1` in a batch.
///
/// Batch trees are OpenZeppelin `MerkleProof` trees (sorted pairs, `StandardMerkleTree` with leaf
/// encoding `["bytes32", "uint256"]`): leaf = `keccak256(bytes.concat(keccak256(abi.encode(
/// credentialHash, position))))`. The position is part of the leaf so a holder can not present a
/// credential under another credential's (unrevoked) status position.
///
/// Keys: a key is valid at time `t` when `validFrom <= t < validUntil`. Issuance and status
/// changes need a key valid at `block.timestamp`; credentials anchored before a key was retired
/// keep verifying (see `verify`, `keyValidAtAnchor`).
///
/// Verifiers must also compare `issuerId` / `typeId` reported for the anchor with those stated in
/// the credential document (the anchor proves who anchored the hash, the document says who claims
/// to have issued it).
///
/// Signed actions (issue, issueBatch, revoke, suspend, reinstate) are EIP-712 messages, domain
/// `CredentialRegistry` / `"1"`, signed by the issuer key (ECDSA, 65-byte signatures) and relayed
/// by anyone. `Suspend` and `Reinstate` carry the sequential nonce of the (issuerId, key) pair
/// (`nonces`), since a state they change can be changed back. `Issue`, `IssueBatch` and `Revoke`
/// carry no nonce: each can take effect only once anyway (a hash is anchored once —
/// `CredentialRegistryAlreadyAnchored` rejects a replayed issuance — and revocation is permanent —
/// `CredentialRegistryAlreadyRevoked`), and skipping the nonce write saves ~2,900 gas per call.
/// All five carry a deadline.
interface ICredentialRegistry {
    // ---------------------------------------------------------------- structs

    /// @notice A registered issuer.
    /// @param registered whether the issuer exists
    /// @param nameHash keccak256 of the agency name (the name itself is in `IssuerRegistered`)
    /// @param keys every key ever added for the issuer, in order (retired ones included)
    struct IssuerInfo {
        bool registered;
        bytes32 nameHash;
        address[] keys;
    }

    /// @notice An issuer key's validity window (`validFrom <= t < validUntil`).
    struct KeyInfo {
        bool registered;
        uint64 validFrom;
        uint64 validUntil;
    }

    /// @notice A registered credential type.
    /// @param schemaHash hash of the credential schema (the name is in `CredentialTypeRegistered`)
    struct CredentialTypeInfo {
        bool registered;
        bytes32 schemaHash;
    }

    /// @notice What is recorded for one anchor.
    /// @param anchored whether `anchorId` is anchored (all other fields are zero when not)
    /// @param batch true for a Merkle root (`issueBatch`), false for a single credential (`issue`)
    /// @param issuerId issuer that anchored it
    /// @param typeId credential type of every credential in it
    /// @param key issuer key that signed the anchoring
    /// @param anchoredAt block timestamp of the anchoring
    /// @param count number of credentials (1 for a single credential)
    struct AnchorInfo {
        bool anchored;
        bool batch;
        bytes32 issuerId;
        bytes32 typeId;
        address key;
        uint64 anchoredAt;
        uint32 count;
    }

    /// @notice Every check of a credential, reported separately. A credential is good when
    /// `anchored && included && keyValidAtAnchor && !revoked && !suspended` (and, off chain, the
    /// document's own signature, hash and expiry check out). `keyValidNow` and `issuerAllowedNow`
    /// are informative: rotating a key or withdrawing a permission does not void earlier credentials.
    /// @param anchored `anchorId` is anchored
    /// @param included single: `credentialHash == anchorId` and position 0; batch: the Merkle proof
    /// of `(credentialHash, position)` against the root holds and `position < count`
    /// @param keyValidAtAnchor the signing key was valid at `anchoredAt` (false when the city later
    /// retired the key retroactively, e.g. after a compromise)
    /// @param keyValidNow the signing key is valid at the current block
    /// @param issuerAllowedNow the issuer is currently allowed to issue the type
    /// @param revoked the credential was revoked (permanent)
    /// @param suspended the credential is currently suspended (reported false once revoked)
    struct Verification {
        bool anchored;
        bool included;
        bool batch;
        bytes32 issuerId;
        bytes32 typeId;
        address key;
        uint64 anchoredAt;
        bool keyValidAtAnchor;
        bool keyValidNow;
        bool issuerAllowedNow;
        bool revoked;
        bool suspended;
    }

    // ---------------------------------------------------------------- events

    /// @notice The city registered an issuer (agency).
    event IssuerRegistered(bytes32 indexed issuerId, bytes32 nameHash, string name);

    /// @notice The city added a signing key to an issuer.
    event IssuerKeyAdded(bytes32 indexed issuerId, address indexed key, uint64 validFrom, uint64 validUntil);

    /// @notice The city retired an issuer key: it is not valid from `validUntil` on.
    event IssuerKeyRetired(bytes32 indexed issuerId, address indexed key, uint64 validUntil);

    /// @notice The city registered a credential type.
    event CredentialTypeRegistered(bytes32 indexed typeId, bytes32 schemaHash, string name);

    /// @notice The city allowed an issuer to issue a credential type.
    event IssuerAllowedForType(bytes32 indexed typeId, bytes32 indexed issuerId);

    /// @notice The city withdrew an issuer's permission for a credential type (earlier anchors stay).
    event IssuerDisallowedForType(bytes32 indexed typeId, bytes32 indexed issuerId);

    /// @notice A single credential was anchored (`anchorId` = its credential hash), signed by `key`.
    /// (Batches emit `CredentialBatchAnchored`; two events keep the single issuance's log small.)
    event CredentialAnchored(bytes32 indexed anchorId, bytes32 indexed issuerId, bytes32 indexed typeId, address key);

    /// @notice A batch of `count` credentials was anchored (`root` = its Merkle root, the batch's
    /// anchorId), signed by `key`.
    event CredentialBatchAnchored(
        bytes32 indexed root, bytes32 indexed issuerId, bytes32 indexed typeId, address key, uint32 count
    );

    /// @notice Credential `(anchorId, position)` was revoked (permanently) by `issuerId`, signed with
    /// the issuer's `key` (so a verifier can check the key was valid then without decoding calldata).
    event CredentialRevoked(bytes32 indexed anchorId, uint256 indexed position, bytes32 indexed issuerId, address key);

    /// @notice Credential `(anchorId, position)` was suspended by `issuerId`.
    event CredentialSuspended(bytes32 indexed anchorId, uint256 indexed position, bytes32 indexed issuerId);

    /// @notice Suspended credential `(anchorId, position)` was reinstated by `issuerId`.
    event CredentialReinstated(bytes32 indexed anchorId, uint256 indexed position, bytes32 indexed issuerId);

    // ---------------------------------------------------------------- errors

    /// @notice An issuer id, type id or anchored hash was zero.
    /// @custom:http 422
    error CredentialRegistryZeroId();
    /// @notice A name was empty.
    /// @custom:http 422
    error CredentialRegistryEmptyName();
    /// @notice The issuer is already registered.
    /// @custom:http 409
    error CredentialRegistryIssuerAlreadyRegistered(bytes32 issuerId);
    /// @notice The issuer is not registered.
    /// @custom:http 404
    error CredentialRegistryUnknownIssuer(bytes32 issuerId);
    /// @notice The key is the zero address.
    /// @custom:http 422
    error CredentialRegistryZeroKey();
    /// @notice The key was already added to this issuer (keys are never re-added: add a new one).
    /// @custom:http 409
    error CredentialRegistryKeyAlreadyAdded(bytes32 issuerId, address key);
    /// @notice The key was never added to this issuer.
    /// @custom:http 404
    error CredentialRegistryUnknownKey(bytes32 issuerId, address key);
    /// @notice A validity window is empty or a retirement would not shorten it
    /// (add: `validFrom < validUntil`; retire: `validFrom <= newValidUntil < validUntil`).
    /// @custom:http 422
    error CredentialRegistryInvalidKeyWindow(uint64 validFrom, uint64 validUntil);
    /// @notice The key is not a valid key of the issuer at `timestamp`.
    /// @custom:http 422
    error CredentialRegistryKeyNotValid(bytes32 issuerId, address key, uint256 timestamp);
    /// @notice The credential type is already registered.
    /// @custom:http 409
    error CredentialRegistryTypeAlreadyRegistered(bytes32 typeId);
    /// @notice The credential type is not registered.
    /// @custom:http 404
    error CredentialRegistryUnknownType(bytes32 typeId);
    /// @notice The issuer is already allowed for the type.
    /// @custom:http 409
    error CredentialRegistryIssuerAlreadyAllowed(bytes32 typeId, bytes32 issuerId);
    /// @notice The issuer is not allowed to issue the type.
    /// @custom:http 422
    error CredentialRegistryTypeNotAllowed(bytes32 typeId, bytes32 issuerId);
    /// @notice The hash or root is already anchored (by anyone).
    /// @custom:http 409
    error CredentialRegistryAlreadyAnchored(bytes32 anchorId);
    /// @notice A batch count was zero.
    /// @custom:http 422
    error CredentialRegistryInvalidCount(uint256 count);
    /// @notice The signed message's deadline has passed.
    /// @custom:http 422
    error CredentialRegistrySignatureExpired(uint256 deadline);
    /// @notice The nonce is not the current nonce of (issuerId, key).
    /// @custom:http 409
    error CredentialRegistryInvalidNonce(bytes32 issuerId, address key, uint256 currentNonce, uint256 nonce);
    /// @notice The signature is malformed or was not made by `key` (`recovered` is 0 when malformed).
    /// @custom:http 403
    error CredentialRegistryInvalidSignature(address key, address recovered);
    /// @notice Nothing is anchored under `anchorId`.
    /// @custom:http 404
    error CredentialRegistryUnknownAnchor(bytes32 anchorId);
    /// @notice The anchor belongs to another issuer than the one changing its status.
    /// @custom:http 403
    error CredentialRegistryNotAnchorIssuer(bytes32 anchorId, bytes32 issuerId);
    /// @notice `position` is not below the anchor's `count`.
    /// @custom:http 422
    error CredentialRegistryPositionOutOfRange(bytes32 anchorId, uint256 position, uint256 count);
    /// @notice The credential is already revoked (revocation is permanent).
    /// @custom:http 409
    error CredentialRegistryAlreadyRevoked(bytes32 anchorId, uint256 position);
    /// @notice The credential is already suspended.
    /// @custom:http 409
    error CredentialRegistryAlreadySuspended(bytes32 anchorId, uint256 position);
    /// @notice The credential is not suspended.
    /// @custom:http 409
    error CredentialRegistryNotSuspended(bytes32 anchorId, uint256 position);
    /// @notice `anchorIds` and `positions` differ in length.
    /// @custom:http 422
    error CredentialRegistryLengthMismatch(uint256 anchorIds, uint256 positions);
    /// @notice A status change listed no credential.
    /// @custom:http 422
    error CredentialRegistryEmptyBatch();

    // ---------------------------------------------------------------- EIP-712 type hashes

    /// @notice keccak256("Issue(bytes32 issuerId,bytes32 typeId,bytes32 credentialHash,uint256 deadline)")
    function ISSUE_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256("IssueBatch(bytes32 issuerId,bytes32 typeId,bytes32 root,uint32 count,uint256 deadline)")
    function ISSUE_BATCH_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256("Revoke(bytes32 issuerId,bytes32[] anchorIds,uint256[] positions,uint256 deadline)")
    function REVOKE_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256("Suspend(bytes32 issuerId,bytes32[] anchorIds,uint256[] positions,uint256 nonce,uint256 deadline)")
    function SUSPEND_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256("Reinstate(bytes32 issuerId,bytes32[] anchorIds,uint256[] positions,uint256 nonce,uint256 deadline)")
    function REINSTATE_TYPEHASH() external view returns (bytes32);

    // ---------------------------------------------------------------- governance (DEFAULT_ADMIN_ROLE)

    /// @notice Register an issuer (agency). Only `DEFAULT_ADMIN_ROLE`.
    /// @param issuerId non-zero id chosen by the city
    /// @param name agency name; emitted, only its hash is stored
    function registerIssuer(bytes32 issuerId, string calldata name) external;

    /// @notice Add a signing key to a registered issuer. Only `DEFAULT_ADMIN_ROLE`.
    /// @param validFrom first second the key is valid (may be in the past or the future)
    /// @param validUntil first second the key is no longer valid; 0 means open-ended
    function addIssuerKey(bytes32 issuerId, address key, uint64 validFrom, uint64 validUntil) external;

    /// @notice Retire an issuer key by moving its `validUntil` earlier. Only `DEFAULT_ADMIN_ROLE`.
    /// @param validUntil new end of validity; 0 means now, i.e. the end of the current second
    /// (`block.timestamp + 1`), so credentials anchored up to the retirement keep verifying. It may lie in the past
    /// (retroactive retirement after a compromise): anchors made after it then report
    /// `keyValidAtAnchor == false`.
    function retireIssuerKey(bytes32 issuerId, address key, uint64 validUntil) external;

    /// @notice Register a credential type. Only `DEFAULT_ADMIN_ROLE`.
    /// @param typeId non-zero id chosen by the city
    /// @param name type name; emitted only
    /// @param schemaHash hash of the credential schema
    function registerType(bytes32 typeId, string calldata name, bytes32 schemaHash) external;

    /// @notice Allow a registered issuer to issue a registered type. Only `DEFAULT_ADMIN_ROLE`.
    function allowIssuer(bytes32 typeId, bytes32 issuerId) external;

    /// @notice Withdraw an issuer's permission for a type; existing anchors are unaffected.
    /// Only `DEFAULT_ADMIN_ROLE`.
    function disallowIssuer(bytes32 typeId, bytes32 issuerId) external;

    // ---------------------------------------------------------------- issuance (signed by an issuer key, relayed by anyone)

    /// @notice Anchor one credential hash. Needs an EIP-712 `Issue` signature by `key`, a key of
    /// `issuerId` valid now, the issuer allowed for `typeId`, and `credentialHash` not yet anchored.
    /// No nonce: replaying the signature reverts `CredentialRegistryAlreadyAnchored`.
    /// @param credentialHash EIP-712 digest of the off-chain credential document; becomes the anchorId
    function issue(
        bytes32 issuerId,
        bytes32 typeId,
        bytes32 credentialHash,
        address key,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Anchor the Merkle root of a batch of `count` credentials. Same checks as `issue`,
    /// with an EIP-712 `IssueBatch` signature (no nonce either).
    /// @param root Merkle root (see the contract notes for the leaf encoding); becomes the anchorId
    /// @param count number of leaves, positions `0 .. count-1`; at least 1
    function issueBatch(
        bytes32 issuerId,
        bytes32 typeId,
        bytes32 root,
        uint32 count,
        address key,
        uint256 deadline,
        bytes calldata signature
    ) external;

    // ---------------------------------------------------------------- status (signed by an issuer key, relayed by anyone)

    /// @notice Revoke credentials `(anchorIds[i], positions[i])` permanently. Needs an EIP-712
    /// `Revoke` signature by `key`, a key of `issuerId` valid now (any key of the issuer, not
    /// necessarily the one that anchored), every anchor anchored by `issuerId`, every position in
    /// range and not yet revoked. All or nothing. Suspended credentials may be revoked. No nonce:
    /// replaying the signature reverts `CredentialRegistryAlreadyRevoked`.
    function revoke(
        bytes32 issuerId,
        bytes32[] calldata anchorIds,
        uint256[] calldata positions,
        address key,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Suspend credentials (reversible). Like `revoke` with an EIP-712 `Suspend` signature;
    /// every credential must be neither revoked nor suspended.
    function suspend(
        bytes32 issuerId,
        bytes32[] calldata anchorIds,
        uint256[] calldata positions,
        address key,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Lift suspensions. Like `revoke` with an EIP-712 `Reinstate` signature; every
    /// credential must be suspended and not revoked.
    function reinstate(
        bytes32 issuerId,
        bytes32[] calldata anchorIds,
        uint256[] calldata positions,
        address key,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    // ---------------------------------------------------------------- views

    /// @notice The issuer record with its keys.
    function issuerInfo(bytes32 issuerId) external view returns (IssuerInfo memory);

    /// @notice The validity window of `key` for `issuerId`.
    function keyInfo(bytes32 issuerId, address key) external view returns (KeyInfo memory);

    /// @notice Whether `key` is a key of `issuerId` valid at `timestamp` (`validFrom <= t < validUntil`).
    function isKeyValidAt(bytes32 issuerId, address key, uint64 timestamp) external view returns (bool);

    /// @notice The next nonce expected in a `Suspend` or `Reinstate` message signed by `key` for `issuerId`.
    function nonces(bytes32 issuerId, address key) external view returns (uint256);

    /// @notice The credential type record.
    function credentialType(bytes32 typeId) external view returns (CredentialTypeInfo memory);

    /// @notice Whether `issuerId` is currently allowed to issue `typeId`.
    function isIssuerAllowed(bytes32 typeId, bytes32 issuerId) external view returns (bool);

    /// @notice What was recorded for `anchorId` (a credential hash or a batch root).
    function anchorOf(bytes32 anchorId) external view returns (AnchorInfo memory);

    /// @notice Status of credential `(anchorId, position)`.
    /// @return exists the anchor exists and `position < count`
    /// @return revoked revoked (permanent)
    /// @return suspended currently suspended (reported false once revoked: revocation dominates)
    function statusOf(bytes32 anchorId, uint256 position)
        external
        view
        returns (bool exists, bool revoked, bool suspended);

    /// @notice Every on-chain check of one credential in one call.
    /// @param anchorId the credential hash (single) or the batch root
    /// @param credentialHash the credential's hash
    /// @param proof Merkle proof for a batch member; empty for a single credential
    /// @param position leaf position in the batch; 0 for a single credential
    function verify(bytes32 anchorId, bytes32 credentialHash, bytes32[] calldata proof, uint256 position)
        external
        view
        returns (Verification memory);

    /// @notice The Merkle leaf of `(credentialHash, position)`:
    /// `keccak256(bytes.concat(keccak256(abi.encode(credentialHash, position))))`.
    function batchLeaf(bytes32 credentialHash, uint256 position) external pure returns (bytes32);
}
