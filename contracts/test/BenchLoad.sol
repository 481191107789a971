// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IOutbox} from "../interfaces/IOutbox.sol";

/// @title BenchLoad
/// @notice Benchmark-only load generator: dispatches many pure messages per transaction through the
/// real Outbox (each one a full `dispatch`, its own leaf and `Dispatch` event), so the relayer
/// benchmark can offer thousands of messages per second to the node.
contract BenchLoad {
    /// @notice The Outbox every message goes through.
    IOutbox public immutable outbox;

    /// @param outbox_ the chain's Outbox
    constructor(IOutbox outbox_) {
        outbox = outbox_;
    }

    /// @notice Dispatches `n` messages to `recipient` on `destination`; message `i` carries the
    /// 32-byte body `seed + i`, so every message id is distinct.
    function dispatchMany(uint64 destination, bytes32 recipient, uint256 n, uint256 seed) external {
        for (uint256 i = 0; i < n; ++i) {
            outbox.dispatch(destination, recipient, abi.encode(seed + i));
        }
    }
}
