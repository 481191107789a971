// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title ChainAddress
/// @notice On-chain form of an account in a chain-qualified address (docs/protocol.md 2.2): a
/// `bytes32` so that non-EVM accounts fit later; an EVM account is left-padded with zeros.
library ChainAddress {
    /// @notice `account` has non-zero upper 12 bytes, so it is not an EVM address.
    error NotEvmAddress(bytes32 account);

    /// @notice The `bytes32` account of EVM address `a` (left-padded with zeros).
    function fromAddress(address a) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }

    /// @notice The EVM address in `account`; reverts `NotEvmAddress` when the upper 12 bytes are
    /// not zero (truncating would silently turn a foreign account into some unrelated address).
    function toAddress(bytes32 account) internal pure returns (address) {
        if (uint256(account) >> 160 != 0) revert NotEvmAddress(account);
        return address(uint160(uint256(account)));
    }

    /// @notice Whether `account` is a left-padded EVM address.
    function isEvmAddress(bytes32 account) internal pure returns (bool) {
        return uint256(account) >> 160 == 0;
    }
}
