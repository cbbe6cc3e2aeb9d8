// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Notary: public timestamps for off-chain artefacts
/// @notice The city anchors the hash of a document it publishes (an audit export, a report, an
/// index snapshot) so that anyone can later prove the document existed, unchanged, at that block.
interface INotary {
    /// @notice `documentHash` was anchored by `by` as the `sequence`-th anchor.
    event DocumentAnchored(bytes32 indexed documentHash, address indexed by, uint256 indexed sequence, bytes32 kind);

    /// @notice The hash was anchored before, at `sequence`.
    /// @custom:http 409
    error NotaryAlreadyAnchored(bytes32 documentHash, uint256 sequence);
    /// @notice The zero hash can not be anchored.
    /// @custom:http 422
    error NotaryEmptyHash();

    /// @notice Anchor `documentHash`, labelled with `kind` (e.g. "audit-trail"). NOTARY_ROLE only.
    /// @return sequence 1-based position of this anchor
    function anchor(bytes32 documentHash, bytes32 kind) external returns (uint256 sequence);

    /// @notice When and as which sequence `documentHash` was anchored (zeros when never).
    function anchorOf(bytes32 documentHash) external view returns (uint64 anchoredAt, uint64 blockNumber, uint128 sequence);

    /// @notice Number of anchors so far.
    function anchorCount() external view returns (uint256);
}
