// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BankMessages} from "../libraries/BankMessages.sol";

/// @title BankMessagesHarness
/// @notice Test-only: exposes the BankMessages codec so tests can check it against the TypeScript
/// twin in relayer/protocol/message.ts.
contract BankMessagesHarness {
    /// @notice BankMessages.encodeTransfer.
    function encodeTransfer(
        bytes32 originalSender,
        bytes calldata userBody
    ) external pure returns (bytes memory) {
        return BankMessages.encodeTransfer(originalSender, userBody);
    }

    /// @notice BankMessages.decodeTransfer.
    function decodeTransfer(
        bytes calldata body
    ) external pure returns (bytes32 originalSender, bytes memory userBody) {
        return BankMessages.decodeTransfer(body);
    }

    /// @notice BankMessages.encodeReserveReport.
    function encodeReserveReport(
        BankMessages.ReserveReport calldata report
    ) external pure returns (bytes memory) {
        return BankMessages.encodeReserveReport(report);
    }

    /// @notice BankMessages.decodeReserveReport.
    function decodeReserveReport(
        bytes calldata body
    ) external pure returns (BankMessages.ReserveReport memory) {
        return BankMessages.decodeReserveReport(body);
    }

    /// @notice BankMessages.encodeNettingRequest.
    function encodeNettingRequest(uint256 amount) external pure returns (bytes memory) {
        return BankMessages.encodeNettingRequest(amount);
    }

    /// @notice BankMessages.encodeNettingReply.
    function encodeNettingReply(uint256 amount) external pure returns (bytes memory) {
        return BankMessages.encodeNettingReply(amount);
    }

    /// @notice BankMessages.decodeNetting.
    function decodeNetting(bytes calldata body, uint8 expected) external pure returns (uint256) {
        return BankMessages.decodeNetting(body, expected);
    }
}
