// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {INotary} from "./interfaces/INotary.sol";

/// @title Notary
/// @notice Anchors document hashes with the block time; see {INotary}.
contract Notary is INotary, AccessControl {
    bytes32 public constant NOTARY_ROLE = keccak256("NOTARY_ROLE");

    struct Anchor {
        uint64 anchoredAt;
        uint64 blockNumber;
        uint128 sequence;
    }

    mapping(bytes32 documentHash => Anchor) private _anchors;
    uint256 private _count;

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(NOTARY_ROLE, admin);
    }

    /// @inheritdoc INotary
    function anchor(bytes32 documentHash, bytes32 kind) external onlyRole(NOTARY_ROLE) returns (uint256 sequence) {
        return _anchor(documentHash, kind);
    }

    /// @inheritdoc INotary
    function anchorOf(bytes32 documentHash) external view returns (uint64, uint64, uint128) {
        Anchor memory a = _anchors[documentHash];
        return (a.anchoredAt, a.blockNumber, a.sequence);
    }

    /// @inheritdoc INotary
    function anchorCount() external view returns (uint256) {
        return _count;
    }

    function _anchor(bytes32 documentHash, bytes32 kind) internal returns (uint256 sequence) {
        if (documentHash == bytes32(0)) revert NotaryEmptyHash();
        Anchor storage existing = _anchors[documentHash];
        if (existing.sequence != 0) revert NotaryAlreadyAnchored(documentHash, existing.sequence);
        sequence = ++_count;
        _anchors[documentHash] = Anchor(uint64(block.timestamp), uint64(block.number), uint128(sequence));
        emit DocumentAnchored(documentHash, msg.sender, sequence, kind);
    }
}
