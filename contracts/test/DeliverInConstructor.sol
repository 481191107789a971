// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IInbox} from "../interfaces/IInbox.sol";

/// @title DeliverInConstructor
/// @notice Test helper: calls `Inbox.deliver` from its constructor, when it has no code yet and is
/// not the transaction's sender: the transaction's input is creation code, so the Inbox's record
/// must carry the signatures (docs/protocol.md 3.5).
contract DeliverInConstructor {
    /// @notice Delivers `messages` under `checkpoint` to `inbox` while being constructed.
    constructor(
        IInbox inbox,
        IInbox.Checkpoint memory checkpoint,
        bytes memory signatures,
        bytes memory messages,
        bytes32[] memory proof
    ) {
        inbox.deliver(checkpoint, signatures, messages, proof);
    }
}
