// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IMessageRecipient} from "../interfaces/IMessageRecipient.sol";

/// @title BenchRecipient
/// @notice Benchmark-only recipient whose handler does nothing, so that delivery gas measures the
/// protocol and not the application (Hyperlane's side uses its own published `LightTestRecipient`,
/// whose handler is empty too).
contract BenchRecipient is IMessageRecipient {
    /// @notice Accepts the message and does nothing.
    function handle(uint64, bytes32, uint256, bytes calldata) external {}
}
