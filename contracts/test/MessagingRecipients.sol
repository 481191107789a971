// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IInbox} from "../interfaces/IInbox.sol";
import {IMessageRecipient} from "../interfaces/IMessageRecipient.sol";

/// @title MessagingRecipient
/// @notice Test-only recipient that records what it handled and can be switched to revert.
contract MessagingRecipient is IMessageRecipient {
    uint256 public handled;
    uint64 public lastOrigin;
    bytes32 public lastSender;
    uint256 public lastAmount;
    bytes public lastBody;
    bool public failing;

    event Handled(uint64 origin, bytes32 sender, uint256 amount, bytes body);

    error Refused(uint256 code);

    function setFailing(bool failing_) external {
        failing = failing_;
    }

    function setPolicy(IInbox inbox, uint16 minSigners, uint96 requiredCoverage) external {
        inbox.setRecipientPolicy(minSigners, requiredCoverage);
    }

    function handle(uint64 origin, bytes32 sender, uint256 amount, bytes calldata body) external {
        if (failing) revert Refused(42);
        ++handled;
        (lastOrigin, lastSender, lastAmount) = (origin, sender, amount);
        lastBody = body;
        emit Handled(origin, sender, amount, body);
    }
}

/// @title MessagingGasGuzzler
/// @notice Test-only recipient that burns every unit of gas it is given.
contract MessagingGasGuzzler is IMessageRecipient {
    uint256 public handled;

    function handle(uint64, bytes32, uint256, bytes calldata) external {
        while (true) {
            ++handled;
        }
    }
}

/// @title MessagingGasHungry
/// @notice Test-only recipient that needs `need` gas to succeed: given less, it runs out and
/// reverts. Used to show that a relayer cannot starve a handler into failing.
contract MessagingGasHungry is IMessageRecipient {
    uint256 public immutable need;
    uint256 public handled;

    constructor(uint256 need_) {
        need = need_;
    }

    function handle(uint64, bytes32, uint256, bytes calldata) external {
        uint256 start = gasleft();
        while (start - gasleft() < need) {}
        ++handled;
    }
}

/// @title MessagingReturnBomb
/// @notice Test-only recipient that reverts with `size` bytes of return data.
contract MessagingReturnBomb is IMessageRecipient {
    uint256 public immutable size;

    constructor(uint256 size_) {
        size = size_;
    }

    function handle(uint64, bytes32, uint256, bytes calldata) external view {
        uint256 n = size;
        assembly ("memory-safe") {
            // Memory is not cleared: the recipient pays the expansion, the Inbox must not.
            revert(0, n)
        }
    }
}

/// @title MessagingReentrant
/// @notice Test-only recipient whose handler calls back into the Inbox (`deliver` or `retry`) with
/// calldata armed by the test, records whether that inner call succeeded, and then completes.
contract MessagingReentrant is IMessageRecipient {
    IInbox public immutable inbox;
    bytes public reentry; // calldata of the inner Inbox call; empty: no re-entry
    bool public failing;
    uint256 public handled;
    bool public innerSucceeded;
    bytes public innerError;

    error Refused();

    constructor(IInbox inbox_) {
        inbox = inbox_;
    }

    function arm(bytes calldata reentry_) external {
        reentry = reentry_;
    }

    function setFailing(bool failing_) external {
        failing = failing_;
    }

    function handle(uint64, bytes32, uint256, bytes calldata) external {
        if (failing) revert Refused();
        ++handled;
        if (reentry.length != 0) {
            (bool ok, bytes memory err) = address(inbox).call(reentry);
            innerSucceeded = ok;
            innerError = err;
        }
    }
}

/// @title MessagingSink
/// @notice Test-only recipient that only counts messages (the cheapest useful handler; gas figures).
contract MessagingSink is IMessageRecipient {
    uint256 public handled;

    function handle(uint64, bytes32, uint256, bytes calldata) external {
        ++handled;
    }
}
