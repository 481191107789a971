// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken
/// @notice A settlement token for local chains and tests: anyone may mint, decimals are chosen at
/// deployment (the protocol must handle any ERC20 decimals up to 18).
contract TestToken is ERC20 {
    /// @notice Marks a token anyone may mint: `distpos mint` mints only a token that answers true
    /// here (devnets and tests), and refuses any other settlement token.
    bool public constant DEVNET_MINTABLE = true;

    uint8 private immutable _decimals;

    /// @param name_ token name
    /// @param symbol_ token symbol
    /// @param decimals_ token decimals
    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        _decimals = decimals_;
    }

    /// @notice Mints `amount` to `to`. Test use only: never deploy this as a real settlement token.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
