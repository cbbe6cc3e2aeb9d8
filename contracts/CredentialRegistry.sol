// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";

import {ICredentialRegistry} from "./interfaces/ICredentialRegistry.sol";

/// @title Online credentials (온라인 자격증명)
/// @notice See {ICredentialRegistry}.
/// @dev Gas layout. An anchor is one storage slot (compact 1-based indices of issuer, issuer key
/// and type, timestamp, count, flags), so anchoring costs one fresh slot. The nonce of an issuer
/// key is packed with its validity window, so checking the key and burning the nonce touch one
/// slot; issue, issueBatch and revoke take no nonce (they can take effect only once) and skip
/// that write. Single and batch anchoring emit separate events so a single issuance logs only the key. The type permission stores the type's compact index, so one read both checks the
/// permission and yields the index. Status: a single credential keeps its revoked/suspended flags
/// in its anchor slot (revoking rewrites a slot the check has already loaded); a batch keeps two
/// bitmaps keyed by position, so 256 credentials of a batch share a storage word.
contract CredentialRegistry is ICredentialRegistry, AccessControl, EIP712 {
    using BitMaps for BitMaps.BitMap;

    /// @inheritdoc ICredentialRegistry
    bytes32 public constant ISSUE_TYPEHASH =
        keccak256("Issue(bytes32 issuerId,bytes32 typeId,bytes32 credentialHash,uint256 deadline)");
    /// @inheritdoc ICredentialRegistry
    bytes32 public constant ISSUE_BATCH_TYPEHASH = keccak256(
        "IssueBatch(bytes32 issuerId,bytes32 typeId,bytes32 root,uint32 count,uint256 deadline)"
    );
    /// @inheritdoc ICredentialRegistry
    bytes32 public constant REVOKE_TYPEHASH = keccak256(
        "Revoke(bytes32 issuerId,bytes32[] anchorIds,uint256[] positions,uint256 deadline)"
    );
    /// @inheritdoc ICredentialRegistry
    bytes32 public constant SUSPEND_TYPEHASH = keccak256(
        "Suspend(bytes32 issuerId,bytes32[] anchorIds,uint256[] positions,uint256 nonce,uint256 deadline)"
    );
    /// @inheritdoc ICredentialRegistry
    bytes32 public constant REINSTATE_TYPEHASH = keccak256(
        "Reinstate(bytes32 issuerId,bytes32[] anchorIds,uint256[] positions,uint256 nonce,uint256 deadline)"
    );

    struct Issuer {
        uint32 index; // 1-based position in _issuerIds; 0 = not registered
        bytes32 nameHash;
    }

    /// One slot: validity window, nonce, and the compact indices an anchor records.
    struct Key {
        uint64 validFrom;
        uint64 validUntil;
        uint64 nonce;
        uint32 keyIndex; // 1-based position in _issuerKeys[issuerId]; 0 = not added
        uint32 issuerIndex;
    }

    struct CredentialType {
        uint32 index; // 1-based position in _typeIds; 0 = not registered
        bytes32 schemaHash;
    }

    /// One slot.
    struct Anchor {
        uint32 issuerIndex; // 0 = not anchored
        uint32 keyIndex;
        uint32 typeIndex;
        uint40 anchoredAt;
        uint32 count;
        bool batch;
        bool revoked; // single credentials only; batches use _revokedBits
        bool suspended; // single credentials only; batches use _suspendedBits
    }

    mapping(bytes32 issuerId => Issuer) private _issuers;
    bytes32[] private _issuerIds;
    // Written through the storage reference `keys` (keys.push) in _addIssuerKey, which Slither does not follow.
    // slither-disable-next-line uninitialized-state
    mapping(bytes32 issuerId => address[] keys) private _issuerKeys;
    mapping(bytes32 issuerId => mapping(address key => Key)) private _keys;

    mapping(bytes32 typeId => CredentialType) private _types;
    bytes32[] private _typeIds;
    /// The type's compact index when the issuer is allowed, 0 when not.
    mapping(bytes32 typeId => mapping(bytes32 issuerId => uint32 typeIndex)) private _allowedTypeIndex;

    mapping(bytes32 anchorId => Anchor) private _anchors;
    mapping(bytes32 anchorId => BitMaps.BitMap) private _revokedBits;
    mapping(bytes32 anchorId => BitMaps.BitMap) private _suspendedBits;

    constructor(address admin) EIP712("CredentialRegistry", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc ICredentialRegistry
    function registerIssuer(bytes32 issuerId, string calldata name) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _registerIssuer(issuerId, name);
    }

    /// @inheritdoc ICredentialRegistry
    function addIssuerKey(bytes32 issuerId, address key, uint64 validFrom, uint64 validUntil)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _addIssuerKey(issuerId, key, validFrom, validUntil);
    }

    /// @inheritdoc ICredentialRegistry
    function retireIssuerKey(bytes32 issuerId, address key, uint64 validUntil) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _retireIssuerKey(issuerId, key, validUntil);
    }

    /// @inheritdoc ICredentialRegistry
    function registerType(bytes32 typeId, string calldata name, bytes32 schemaHash)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _registerType(typeId, name, schemaHash);
    }

    /// @inheritdoc ICredentialRegistry
    function allowIssuer(bytes32 typeId, bytes32 issuerId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _allowIssuer(typeId, issuerId);
    }

    /// @inheritdoc ICredentialRegistry
    function disallowIssuer(bytes32 typeId, bytes32 issuerId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _disallowIssuer(typeId, issuerId);
    }

    // ---------------------------------------------------------------- issuance

    /// @inheritdoc ICredentialRegistry
    function issue(
        bytes32 issuerId,
        bytes32 typeId,
        bytes32 credentialHash,
        address key,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(abi.encode(ISSUE_TYPEHASH, issuerId, typeId, credentialHash, deadline));
        (uint32 issuerIndex, uint32 keyIndex) = _checkSignedKey(issuerId, key, deadline, structHash, signature);
        _anchor(issuerId, typeId, credentialHash, 1, false, key, issuerIndex, keyIndex);
    }

    /// @inheritdoc ICredentialRegistry
    function issueBatch(
        bytes32 issuerId,
        bytes32 typeId,
        bytes32 root,
        uint32 count,
        address key,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(abi.encode(ISSUE_BATCH_TYPEHASH, issuerId, typeId, root, count, deadline));
        (uint32 issuerIndex, uint32 keyIndex) = _checkSignedKey(issuerId, key, deadline, structHash, signature);
        if (count == 0) revert CredentialRegistryInvalidCount(count);
        _anchor(issuerId, typeId, root, count, true, key, issuerIndex, keyIndex);
    }

    // ---------------------------------------------------------------- status

    /// @inheritdoc ICredentialRegistry
    function revoke(
        bytes32 issuerId,
        bytes32[] calldata anchorIds,
        uint256[] calldata positions,
        address key,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = _revokeStructHash(issuerId, anchorIds, positions, deadline);
        (uint32 issuerIndex,) = _checkSignedKey(issuerId, key, deadline, structHash, signature);
        _revoke(issuerId, issuerIndex, key, anchorIds, positions);
    }

    /// @inheritdoc ICredentialRegistry
    function suspend(
        bytes32 issuerId,
        bytes32[] calldata anchorIds,
        uint256[] calldata positions,
        address key,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = _statusStructHash(SUSPEND_TYPEHASH, issuerId, anchorIds, positions, nonce, deadline);
        (uint32 issuerIndex,) = _useSignedKey(issuerId, key, nonce, deadline, structHash, signature);
        _suspend(issuerId, issuerIndex, anchorIds, positions);
    }

    /// @inheritdoc ICredentialRegistry
    function reinstate(
        bytes32 issuerId,
        bytes32[] calldata anchorIds,
        uint256[] calldata positions,
        address key,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = _statusStructHash(REINSTATE_TYPEHASH, issuerId, anchorIds, positions, nonce, deadline);
        (uint32 issuerIndex,) = _useSignedKey(issuerId, key, nonce, deadline, structHash, signature);
        _reinstate(issuerId, issuerIndex, anchorIds, positions);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ICredentialRegistry
    function issuerInfo(bytes32 issuerId) external view returns (IssuerInfo memory info) {
        Issuer storage issuer = _issuers[issuerId];
        info.registered = issuer.index != 0;
        info.nameHash = issuer.nameHash;
        info.keys = _issuerKeys[issuerId];
    }

    /// @inheritdoc ICredentialRegistry
    function keyInfo(bytes32 issuerId, address key) external view returns (KeyInfo memory info) {
        Key memory k = _keys[issuerId][key];
        info.registered = k.keyIndex != 0;
        info.validFrom = k.validFrom;
        info.validUntil = k.validUntil;
    }

    /// @inheritdoc ICredentialRegistry
    function isKeyValidAt(bytes32 issuerId, address key, uint64 timestamp) external view returns (bool) {
        return _isValidAt(_keys[issuerId][key], timestamp);
    }

    /// @inheritdoc ICredentialRegistry
    function nonces(bytes32 issuerId, address key) external view returns (uint256) {
        return _keys[issuerId][key].nonce;
    }

    /// @inheritdoc ICredentialRegistry
    function credentialType(bytes32 typeId) external view returns (CredentialTypeInfo memory info) {
        CredentialType storage t = _types[typeId];
        info.registered = t.index != 0;
        info.schemaHash = t.schemaHash;
    }

    /// @inheritdoc ICredentialRegistry
    function isIssuerAllowed(bytes32 typeId, bytes32 issuerId) external view returns (bool) {
        return _allowedTypeIndex[typeId][issuerId] != 0;
    }

    /// @inheritdoc ICredentialRegistry
    function anchorOf(bytes32 anchorId) external view returns (AnchorInfo memory info) {
        Anchor memory a = _anchors[anchorId];
        if (a.issuerIndex == 0) return info;
        info.anchored = true;
        info.batch = a.batch;
        info.issuerId = _issuerIds[a.issuerIndex - 1];
        info.typeId = _typeIds[a.typeIndex - 1];
        info.key = _issuerKeys[info.issuerId][a.keyIndex - 1];
        info.anchoredAt = a.anchoredAt;
        info.count = a.count;
    }

    /// @inheritdoc ICredentialRegistry
    function statusOf(bytes32 anchorId, uint256 position)
        external
        view
        returns (bool exists, bool revoked, bool suspended)
    {
        Anchor memory a = _anchors[anchorId];
        if (a.issuerIndex == 0 || position >= a.count) return (false, false, false);
        (revoked, suspended) = _statusOf(anchorId, a, position);
        return (true, revoked, suspended);
    }

    /// @inheritdoc ICredentialRegistry
    function verify(bytes32 anchorId, bytes32 credentialHash, bytes32[] calldata proof, uint256 position)
        external
        view
        returns (Verification memory v)
    {
        Anchor memory a = _anchors[anchorId];
        if (a.issuerIndex == 0) return v;
        v.anchored = true;
        v.batch = a.batch;
        v.issuerId = _issuerIds[a.issuerIndex - 1];
        v.typeId = _typeIds[a.typeIndex - 1];
        v.key = _issuerKeys[v.issuerId][a.keyIndex - 1];
        v.anchoredAt = a.anchoredAt;
        if (a.batch) {
            v.included = position < a.count
                && MerkleProof.verifyCalldata(proof, anchorId, batchLeaf(credentialHash, position));
        } else {
            v.included = position == 0 && credentialHash == anchorId;
        }
        Key storage k = _keys[v.issuerId][v.key];
        v.keyValidAtAnchor = _isValidAt(k, a.anchoredAt);
        v.keyValidNow = _isValidAt(k, block.timestamp);
        v.issuerAllowedNow = _allowedTypeIndex[v.typeId][v.issuerId] != 0;
        if (position < a.count) (v.revoked, v.suspended) = _statusOf(anchorId, a, position);
    }

    /// @inheritdoc ICredentialRegistry
    function batchLeaf(bytes32 credentialHash, uint256 position) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(credentialHash, position))));
    }

    // ---------------------------------------------------------------- internal: governance

    function _registerIssuer(bytes32 issuerId, string calldata name) private {
        if (issuerId == bytes32(0)) revert CredentialRegistryZeroId();
        if (bytes(name).length == 0) revert CredentialRegistryEmptyName();
        Issuer storage issuer = _issuers[issuerId];
        if (issuer.index != 0) revert CredentialRegistryIssuerAlreadyRegistered(issuerId);
        _issuerIds.push(issuerId);
        bytes32 nameHash = keccak256(bytes(name));
        issuer.index = uint32(_issuerIds.length);
        issuer.nameHash = nameHash;
        emit IssuerRegistered(issuerId, nameHash, name);
    }

    function _addIssuerKey(bytes32 issuerId, address key, uint64 validFrom, uint64 validUntil) private {
        uint32 issuerIndex = _issuers[issuerId].index;
        if (issuerIndex == 0) revert CredentialRegistryUnknownIssuer(issuerId);
        if (key == address(0)) revert CredentialRegistryZeroKey();
        Key storage k = _keys[issuerId][key];
        if (k.keyIndex != 0) revert CredentialRegistryKeyAlreadyAdded(issuerId, key);
        if (validUntil == 0) validUntil = type(uint64).max;
        if (validFrom >= validUntil) revert CredentialRegistryInvalidKeyWindow(validFrom, validUntil);
        address[] storage keys = _issuerKeys[issuerId];
        keys.push(key);
        _keys[issuerId][key] = Key({
            validFrom: validFrom,
            validUntil: validUntil,
            nonce: 0,
            keyIndex: uint32(keys.length),
            issuerIndex: issuerIndex
        });
        emit IssuerKeyAdded(issuerId, key, validFrom, validUntil);
    }

    function _retireIssuerKey(bytes32 issuerId, address key, uint64 validUntil) private {
        Key storage k = _keys[issuerId][key];
        if (k.keyIndex == 0) {
            if (_issuers[issuerId].index == 0) revert CredentialRegistryUnknownIssuer(issuerId);
            revert CredentialRegistryUnknownKey(issuerId, key);
        }
        // "Now" ends with the current second: what was anchored up to this transaction (possibly in
        // the same second) keeps verifying.
        if (validUntil == 0) validUntil = uint64(block.timestamp) + 1;
        if (validUntil < k.validFrom || validUntil >= k.validUntil) {
            revert CredentialRegistryInvalidKeyWindow(k.validFrom, validUntil);
        }
        k.validUntil = validUntil;
        emit IssuerKeyRetired(issuerId, key, validUntil);
    }

    function _registerType(bytes32 typeId, string calldata name, bytes32 schemaHash) private {
        if (typeId == bytes32(0)) revert CredentialRegistryZeroId();
        if (bytes(name).length == 0) revert CredentialRegistryEmptyName();
        CredentialType storage t = _types[typeId];
        if (t.index != 0) revert CredentialRegistryTypeAlreadyRegistered(typeId);
        _typeIds.push(typeId);
        t.index = uint32(_typeIds.length);
        t.schemaHash = schemaHash;
        emit CredentialTypeRegistered(typeId, schemaHash, name);
    }

    function _allowIssuer(bytes32 typeId, bytes32 issuerId) private {
        uint32 typeIndex = _types[typeId].index;
        if (typeIndex == 0) revert CredentialRegistryUnknownType(typeId);
        if (_issuers[issuerId].index == 0) revert CredentialRegistryUnknownIssuer(issuerId);
        if (_allowedTypeIndex[typeId][issuerId] != 0) revert CredentialRegistryIssuerAlreadyAllowed(typeId, issuerId);
        _allowedTypeIndex[typeId][issuerId] = typeIndex;
        emit IssuerAllowedForType(typeId, issuerId);
    }

    function _disallowIssuer(bytes32 typeId, bytes32 issuerId) private {
        if (_allowedTypeIndex[typeId][issuerId] == 0) revert CredentialRegistryTypeNotAllowed(typeId, issuerId);
        delete _allowedTypeIndex[typeId][issuerId];
        emit IssuerDisallowedForType(typeId, issuerId);
    }

    // ---------------------------------------------------------------- internal: signed actions

    /// @dev Checks the deadline, that `key` is a key of `issuerId` valid now, the nonce and the
    /// signature (65-byte ECDSA); burns the nonce. Used by suspend and reinstate, whose messages
    /// could otherwise be replayed after the state they change was changed back.
    function _useSignedKey(
        bytes32 issuerId,
        address key,
        uint256 nonce,
        uint256 deadline,
        bytes32 structHash,
        bytes calldata signature
    ) private returns (uint32 issuerIndex, uint32 keyIndex) {
        Key storage k = _keys[issuerId][key];
        uint256 word = _validKeyWord(k, issuerId, key, deadline);
        uint64 current = uint64(word >> 128);
        if (nonce != current) revert CredentialRegistryInvalidNonce(issuerId, key, current, nonce);
        _checkSignature(key, structHash, signature);
        // Burn the nonce: +1 in the nonce field (a uint64 nonce never overflows into keyIndex).
        assembly ("memory-safe") {
            sstore(k.slot, add(word, shl(128, 1)))
        }
        return (uint32(word >> 224), uint32(word >> 192));
    }

    /// @dev Like `_useSignedKey` without a nonce, for messages that can take effect only once
    /// anyway: an `Issue`/`IssueBatch` anchors a hash that can never be anchored again
    /// (`AlreadyAnchored`), a `Revoke` is permanent (`AlreadyRevoked`). Saves the nonce write.
    function _checkSignedKey(
        bytes32 issuerId,
        address key,
        uint256 deadline,
        bytes32 structHash,
        bytes calldata signature
    ) private view returns (uint32 issuerIndex, uint32 keyIndex) {
        uint256 word = _validKeyWord(_keys[issuerId][key], issuerId, key, deadline);
        _checkSignature(key, structHash, signature);
        return (uint32(word >> 224), uint32(word >> 192));
    }

    /// @dev The packed slot of a key of `issuerId` valid now, after checking the deadline.
    function _validKeyWord(Key storage k, bytes32 issuerId, address key, uint256 deadline)
        private
        view
        returns (uint256 word)
    {
        if (block.timestamp > deadline) revert CredentialRegistrySignatureExpired(deadline);
        // One SLOAD of the packed slot. Layout as declared in `Key`: validFrom | validUntil << 64 |
        // nonce << 128 | keyIndex << 192 | issuerIndex << 224.
        assembly ("memory-safe") {
            word := sload(k.slot)
        }
        if (uint32(word >> 192) == 0) {
            if (_issuers[issuerId].index == 0) revert CredentialRegistryUnknownIssuer(issuerId);
            revert CredentialRegistryKeyNotValid(issuerId, key, block.timestamp);
        }
        if (block.timestamp < uint64(word) || block.timestamp >= uint64(word >> 64)) {
            revert CredentialRegistryKeyNotValid(issuerId, key, block.timestamp);
        }
    }

    /// @dev Reverts unless `signature` (65-byte ECDSA) over the EIP-712 digest of `structHash` is by `key`.
    function _checkSignature(address key, bytes32 structHash, bytes calldata signature) private view {
        // address(0) (no signer) unless a 65-byte signature recovers without error.
        // slither-disable-next-line uninitialized-local
        address recovered;
        if (signature.length == 65) {
            ECDSA.RecoverError err;
            // The third value (errorArg) only details an error, and err is checked.
            // slither-disable-next-line unused-return
            (recovered, err,) = ECDSA.tryRecover(
                _hashTypedDataV4(structHash), uint8(signature[64]), bytes32(signature[0:32]), bytes32(signature[32:64])
            );
            if (err != ECDSA.RecoverError.NoError) recovered = address(0);
        }
        if (recovered != key) revert CredentialRegistryInvalidSignature(key, recovered);
    }

    function _anchor(
        bytes32 issuerId,
        bytes32 typeId,
        bytes32 anchorId,
        uint32 count,
        bool batch,
        address key,
        uint32 issuerIndex,
        uint32 keyIndex
    ) private {
        if (anchorId == bytes32(0)) revert CredentialRegistryZeroId();
        uint32 typeIndex = _allowedTypeIndex[typeId][issuerId];
        if (typeIndex == 0) {
            if (_types[typeId].index == 0) revert CredentialRegistryUnknownType(typeId);
            revert CredentialRegistryTypeNotAllowed(typeId, issuerId);
        }
        Anchor storage a = _anchors[anchorId];
        if (a.issuerIndex != 0) revert CredentialRegistryAlreadyAnchored(anchorId);
        // One SSTORE of the packed slot (a struct literal would be written member by member).
        // Layout as declared in `Anchor`: issuerIndex | keyIndex << 32 | typeIndex << 64 |
        // anchoredAt << 96 | count << 136 | batch << 168; revoked and suspended start false.
        uint256 packed = uint256(issuerIndex) | (uint256(keyIndex) << 32) | (uint256(typeIndex) << 64)
            | (uint256(uint40(block.timestamp)) << 96) | (uint256(count) << 136) | (batch ? 1 << 168 : 0);
        assembly ("memory-safe") {
            sstore(a.slot, packed)
        }
        if (batch) emit CredentialBatchAnchored(anchorId, issuerId, typeId, key, count);
        else emit CredentialAnchored(anchorId, issuerId, typeId, key);
    }

    function _revokeStructHash(
        bytes32 issuerId,
        bytes32[] calldata anchorIds,
        uint256[] calldata positions,
        uint256 deadline
    ) private pure returns (bytes32) {
        _checkLengths(anchorIds, positions);
        return keccak256(
            abi.encode(
                REVOKE_TYPEHASH,
                issuerId,
                keccak256(abi.encodePacked(anchorIds)),
                keccak256(abi.encodePacked(positions)),
                deadline
            )
        );
    }

    function _checkLengths(bytes32[] calldata anchorIds, uint256[] calldata positions) private pure {
        if (anchorIds.length != positions.length) {
            revert CredentialRegistryLengthMismatch(anchorIds.length, positions.length);
        }
        if (anchorIds.length == 0) revert CredentialRegistryEmptyBatch();
    }

    function _statusStructHash(
        bytes32 typehash,
        bytes32 issuerId,
        bytes32[] calldata anchorIds,
        uint256[] calldata positions,
        uint256 nonce,
        uint256 deadline
    ) private pure returns (bytes32) {
        _checkLengths(anchorIds, positions);
        return keccak256(
            abi.encode(
                typehash,
                issuerId,
                keccak256(abi.encodePacked(anchorIds)),
                keccak256(abi.encodePacked(positions)),
                nonce,
                deadline
            )
        );
    }

    // ---------------------------------------------------------------- internal: status

    function _revoke(
        bytes32 issuerId,
        uint32 issuerIndex,
        address key,
        bytes32[] calldata anchorIds,
        uint256[] calldata positions
    ) private {
        for (uint256 i; i < anchorIds.length; ++i) {
            bytes32 anchorId = anchorIds[i];
            uint256 position = positions[i];
            Anchor storage a = _checkedAnchor(anchorId, position, issuerId, issuerIndex);
            if (a.batch) {
                BitMaps.BitMap storage bits = _revokedBits[anchorId];
                if (bits.get(position)) revert CredentialRegistryAlreadyRevoked(anchorId, position);
                bits.set(position);
            } else {
                if (a.revoked) revert CredentialRegistryAlreadyRevoked(anchorId, position);
                a.revoked = true;
            }
            emit CredentialRevoked(anchorId, position, issuerId, key);
        }
    }

    function _suspend(
        bytes32 issuerId,
        uint32 issuerIndex,
        bytes32[] calldata anchorIds,
        uint256[] calldata positions
    ) private {
        for (uint256 i; i < anchorIds.length; ++i) {
            bytes32 anchorId = anchorIds[i];
            uint256 position = positions[i];
            Anchor storage a = _checkedAnchor(anchorId, position, issuerId, issuerIndex);
            if (a.batch) {
                if (_revokedBits[anchorId].get(position)) revert CredentialRegistryAlreadyRevoked(anchorId, position);
                BitMaps.BitMap storage bits = _suspendedBits[anchorId];
                if (bits.get(position)) revert CredentialRegistryAlreadySuspended(anchorId, position);
                bits.set(position);
            } else {
                if (a.revoked) revert CredentialRegistryAlreadyRevoked(anchorId, position);
                if (a.suspended) revert CredentialRegistryAlreadySuspended(anchorId, position);
                a.suspended = true;
            }
            emit CredentialSuspended(anchorId, position, issuerId);
        }
    }

    function _reinstate(
        bytes32 issuerId,
        uint32 issuerIndex,
        bytes32[] calldata anchorIds,
        uint256[] calldata positions
    ) private {
        for (uint256 i; i < anchorIds.length; ++i) {
            bytes32 anchorId = anchorIds[i];
            uint256 position = positions[i];
            Anchor storage a = _checkedAnchor(anchorId, position, issuerId, issuerIndex);
            if (a.batch) {
                if (_revokedBits[anchorId].get(position)) revert CredentialRegistryAlreadyRevoked(anchorId, position);
                BitMaps.BitMap storage bits = _suspendedBits[anchorId];
                if (!bits.get(position)) revert CredentialRegistryNotSuspended(anchorId, position);
                bits.unset(position);
            } else {
                if (a.revoked) revert CredentialRegistryAlreadyRevoked(anchorId, position);
                if (!a.suspended) revert CredentialRegistryNotSuspended(anchorId, position);
                a.suspended = false;
            }
            emit CredentialReinstated(anchorId, position, issuerId);
        }
    }

    /// @dev The anchor of `(anchorId, position)`, after checking it exists, belongs to the issuer
    /// and holds the position.
    function _checkedAnchor(bytes32 anchorId, uint256 position, bytes32 issuerId, uint32 issuerIndex)
        private
        view
        returns (Anchor storage a)
    {
        a = _anchors[anchorId];
        uint32 anchorIssuer = a.issuerIndex;
        if (anchorIssuer == 0) revert CredentialRegistryUnknownAnchor(anchorId);
        if (anchorIssuer != issuerIndex) revert CredentialRegistryNotAnchorIssuer(anchorId, issuerId);
        if (position >= a.count) revert CredentialRegistryPositionOutOfRange(anchorId, position, a.count);
    }

    /// @dev Status bits of an in-range position; `suspended` is reported only while not revoked.
    function _statusOf(bytes32 anchorId, Anchor memory a, uint256 position)
        private
        view
        returns (bool revoked, bool suspended)
    {
        if (a.batch) {
            revoked = _revokedBits[anchorId].get(position);
            suspended = !revoked && _suspendedBits[anchorId].get(position);
        } else {
            revoked = a.revoked;
            suspended = !revoked && a.suspended;
        }
    }

    function _isValidAt(Key storage k, uint256 timestamp) private view returns (bool) {
        return k.keyIndex != 0 && k.validFrom <= timestamp && timestamp < k.validUntil;
    }
}
