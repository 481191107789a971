// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title BankQuirkToken
/// @notice Test-only settlement token with the quirks a bank must survive: a fee burnt on every
/// transfer (fee-on-transfer) and recipients it refuses (as blacklisting stablecoins do).
contract BankQuirkToken is ERC20 {
    uint8 private immutable _decimals;

    /// @notice Fee in basis points burnt from every transfer between two accounts.
    uint256 public feeBps;
    /// @notice Recipients this token refuses.
    mapping(address account => bool) public blocked;

    /// @notice The recipient is refused.
    error RecipientBlocked(address account);

    /// @param decimals_ token decimals
    constructor(uint8 decimals_) ERC20("Quirk", "QRK") {
        _decimals = decimals_;
    }

    /// @notice Mints `amount` to `to`.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Sets the transfer fee.
    function setFeeBps(uint256 bps) external {
        feeBps = bps;
    }

    /// @notice Refuses (or accepts again) transfers to `account`.
    function setBlocked(address account, bool isBlocked) external {
        blocked[account] = isBlocked;
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[to]) revert RecipientBlocked(to);
        if (from != address(0) && to != address(0) && feeBps != 0) {
            uint256 fee = (value * feeBps) / 10_000;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}
