// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IMessageRecipient} from "../interfaces/IMessageRecipient.sol";

/// @title SecurityRecipient
/// @notice Test-only recipient for the security suite: the first byte of each message body picks
/// how it behaves, so one random batch mixes honest, failing and malicious recipients. It counts
/// every handled body, so a test can see whether any message ran twice.
/// @dev Body: `mode (1 byte) ‖ anything` (the suite appends a unique tag). Modes:
/// 0 honest; 1 reverts until `repair()`; 2 burns all the gas it gets; 3 reverts with `BOMB_BYTES`
/// of return data; 4 re-enters the Inbox with the armed calldata, records the outcome, completes.
contract SecurityRecipient is IMessageRecipient {
    uint8 public constant HONEST = 0;
    uint8 public constant REVERTING = 1;
    uint8 public constant GAS_BOMB = 2;
    uint8 public constant RETURN_BOMB = 3;
    uint8 public constant REENTRANT = 4;

    /// @notice Bytes of return data a RETURN_BOMB handler reverts with.
    uint256 public constant BOMB_BYTES = 50_000;

    /// @notice The only caller whose calls count.
    address public immutable inbox;

    /// @notice How many times each body (by keccak256) was handled successfully.
    mapping(bytes32 bodyHash => uint256) public handledCount;
    /// @notice Amount passed with each body's last successful handling.
    mapping(bytes32 bodyHash => uint256) public amountOf;
    /// @notice Successful handlings in total.
    uint256 public totalHandled;
    /// @notice Once true, REVERTING handlers succeed.
    bool public repaired;
    /// @notice Calldata a REENTRANT handler sends to the Inbox.
    bytes public reentry;
    /// @notice Re-entries attempted and re-entries that succeeded.
    uint256 public reentryAttempts;
    uint256 public reentrySuccesses;

    event Handled(bytes32 indexed bodyHash, uint64 origin, bytes32 sender, uint256 amount);

    error NotInbox(address caller);
    error Broken(bytes32 bodyHash);

    constructor(address inbox_) {
        inbox = inbox_;
    }

    /// @notice Lets REVERTING handlers succeed from now on (the "fix" before a retry).
    function repair() external {
        repaired = true;
    }

    /// @notice Sets the calldata REENTRANT handlers send to the Inbox.
    function arm(bytes calldata reentry_) external {
        reentry = reentry_;
    }

    /// @inheritdoc IMessageRecipient
    function handle(uint64 origin, bytes32 sender, uint256 amount, bytes calldata body) external {
        if (msg.sender != inbox) revert NotInbox(msg.sender);
        bytes32 bodyHash = keccak256(body);
        uint8 mode = body.length == 0 ? HONEST : uint8(body[0]);
        if (mode == REVERTING && !repaired) revert Broken(bodyHash);
        if (mode == GAS_BOMB) {
            // solhint-disable-next-line no-empty-blocks
            while (true) {}
        }
        if (mode == RETURN_BOMB) {
            uint256 size = BOMB_BYTES;
            assembly ("memory-safe") {
                revert(0, size)
            }
        }
        if (mode == REENTRANT) {
            ++reentryAttempts;
            (bool ok, ) = inbox.call(reentry);
            if (ok) ++reentrySuccesses;
        }
        ++handledCount[bodyHash];
        amountOf[bodyHash] = amount;
        ++totalHandled;
        emit Handled(bodyHash, origin, sender, amount);
    }
}
