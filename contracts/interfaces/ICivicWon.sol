// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Civic Won (KRW, 0 decimals)
/// @notice A KRW-denominated ERC-20 that stands in for the bank accounts a real deployment
/// settles through: 1 token = 1 won. Only `TREASURY_ROLE` mints (a deposit of budget money into
/// the system) and maintains the blocked list. A blocked account (an account under seizure, a
/// closed bank account) can neither send nor receive: transfers to or from it revert with
/// {CivicWonBlocked}, which is how "a payee that can not receive" is modelled.
/// @dev Also ERC-2612 `permit` (EIP-712 domain name "CivicWon", version "1"), so a department
/// that holds budget money can approve the escrow without paying gas.
interface ICivicWon {
    /// @notice The treasury minted `amount` won to `to`.
    event Minted(address indexed to, uint256 amount, address indexed treasury);
    /// @notice `account` was blocked (`blocked` true) or unblocked.
    event AccountBlocked(address indexed account, bool blocked, address indexed treasury);

    /// @notice `account` is blocked: it can neither send nor receive.
    /// @custom:http 403
    error CivicWonBlocked(address account);
    /// @notice The admin argument was the zero address.
    /// @custom:http 422
    error CivicWonZeroAddress();

    /// @notice Role that mints and blocks; its admin is `DEFAULT_ADMIN_ROLE`.
    function TREASURY_ROLE() external view returns (bytes32);

    /// @notice Mints `amount` won to `to`. Only `TREASURY_ROLE`.
    function mint(address to, uint256 amount) external;

    /// @notice Blocks or unblocks `account`. Only `TREASURY_ROLE`.
    function setBlocked(address account, bool blocked) external;

    /// @notice Whether `account` is blocked.
    function isBlocked(address account) external view returns (bool);

    /// @notice Total ever minted (equals `totalSupply()`: nothing burns).
    function totalMinted() external view returns (uint256);
}
