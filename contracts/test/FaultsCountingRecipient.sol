// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IMessageRecipient} from "../interfaces/IMessageRecipient.sol";

/// @title FaultsCountingRecipient
/// @notice Test-only recipient for the node's fault-injection suite: counts how many times the
/// Inbox ran its handler for each message body (bodies are unique per message in the suite), so a
/// message executed twice shows as a count of 2 whatever the events say.
contract FaultsCountingRecipient is IMessageRecipient {
    /// @notice The Inbox whose calls are counted.
    address public immutable inbox;
    /// @notice Handler runs per keccak256(body).
    mapping(bytes32 bodyHash => uint256) public timesHandled;
    /// @notice Handler runs in total.
    uint256 public handled;

    error NotInbox(address caller);

    constructor(address inbox_) {
        inbox = inbox_;
    }

    /// @notice Counts one run of the handler for `body` (Inbox only).
    function handle(uint64, bytes32, uint256, bytes calldata body) external {
        if (msg.sender != inbox) revert NotInbox(msg.sender);
        ++timesHandled[keccak256(body)];
        ++handled;
    }

    /// @notice Handler runs for each of `bodyHashes`, in order.
    function counts(bytes32[] calldata bodyHashes) external view returns (uint256[] memory out) {
        out = new uint256[](bodyHashes.length);
        for (uint256 i = 0; i < bodyHashes.length; ++i) out[i] = timesHandled[bodyHashes[i]];
    }
}
