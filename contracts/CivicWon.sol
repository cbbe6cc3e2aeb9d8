// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

import {ICivicWon} from "./interfaces/ICivicWon.sol";

/// @title Civic Won (KRW)
/// @notice See {ICivicWon}.
contract CivicWon is ICivicWon, ERC20, ERC20Permit, AccessControl {
    /// @inheritdoc ICivicWon
    bytes32 public constant TREASURY_ROLE = keccak256("TREASURY_ROLE");

    mapping(address account => bool) private _blocked;

    constructor(address admin) ERC20("Civic Won", "KRW") ERC20Permit("CivicWon") {
        if (admin == address(0)) revert CivicWonZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(TREASURY_ROLE, admin);
    }

    /// @notice Whole won: no fractional unit.
    function decimals() public pure override returns (uint8) {
        return 0;
    }

    /// @inheritdoc ICivicWon
    function mint(address to, uint256 amount) external onlyRole(TREASURY_ROLE) {
        _mint(to, amount);
        emit Minted(to, amount, msg.sender);
    }

    /// @inheritdoc ICivicWon
    function setBlocked(address account, bool blocked) external onlyRole(TREASURY_ROLE) {
        _blocked[account] = blocked;
        emit AccountBlocked(account, blocked, msg.sender);
    }

    /// @inheritdoc ICivicWon
    function isBlocked(address account) external view returns (bool) {
        return _blocked[account];
    }

    /// @inheritdoc ICivicWon
    function totalMinted() external view returns (uint256) {
        return totalSupply();
    }

    function _update(address from, address to, uint256 value) internal override {
        if (_blocked[to]) revert CivicWonBlocked(to);
        if (from != address(0) && _blocked[from]) revert CivicWonBlocked(from);
        super._update(from, to, value);
    }
}
