// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IMessageRecipient
/// @notice Implemented by contracts that receive DistPOS messages. Only the local Inbox calls it.
interface IMessageRecipient {
    /// @notice Handles a message from `sender` on chain `origin`.
    /// @param origin the origin chain code
    /// @param sender the origin account (left-padded EVM address for EVM chains). For a value
    /// transfer it is the user who sent it, not the origin's CorrespondentBank.
    /// @param amount settlement tokens already paid to this contract (18 decimals); 0 for a call
    /// @param body the application payload
    function handle(uint64 origin, bytes32 sender, uint256 amount, bytes calldata body) external;
}
