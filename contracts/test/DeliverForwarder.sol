// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IInbox} from "../interfaces/IInbox.sol";

/// @title DeliverForwarder
/// @notice Test-only: an attacker's own contract that delivers a batch to an Inbox on its caller's
/// behalf (issue 13, mechanism 8). A watcher that reads only the calldata of transactions sent
/// straight to the Inbox never sees a checkpoint delivered this way; the Inbox's own log must carry
/// what proves it false.
contract DeliverForwarder {
    /// @notice Delivers `messages` under `checkpoint` to `inbox` (the calldata of the transaction is
    /// this contract's, not the Inbox's).
    function forward(
        IInbox inbox,
        IInbox.Checkpoint calldata checkpoint,
        bytes calldata signatures,
        bytes calldata messages,
        bytes32[] calldata proof
    ) external {
        inbox.deliver(checkpoint, signatures, messages, proof);
    }
}
