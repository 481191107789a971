// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ICorrespondentBank} from "../interfaces/ICorrespondentBank.sol";
import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";

/// @title BankInboxHarness
/// @notice Test-only: stands in for the local Inbox in the bank's unit tests, so a test can play
/// any delivery (including forged ones) against the real CorrespondentBank. Enough of IInbox for the
/// RouteRegistry (`exposureWindow`, `initializeMirror`, `setRoute`) and nothing else.
contract BankInboxHarness {
    /// @notice The bank calls back nothing here; the registry only reads the window at enrollment.
    function exposureWindow() external pure returns (uint32) {
        return 1;
    }

    /// @notice Accepts any seed (the harness has no mirror).
    function initializeMirror(uint64, address[] calldata, uint256[] calldata) external {}

    /// @notice Accepts any route the registry pushes (the harness delivers nothing of its own).
    function setRoute(uint64, IRouteRegistry.InboxRoute calldata) external {}

    /// @notice Delivers a value transfer to `bank` as the Inbox would.
    function payout(
        ICorrespondentBank bank,
        uint64 origin,
        bytes32 id,
        address recipient,
        uint256 amount
    ) external returns (bool) {
        return bank.payout(origin, id, recipient, amount);
    }

    /// @notice Every signer counts as mirrored (a price raise from `bankMessage` applies after 1 s).
    function mirroredStake(uint64, address) external pure returns (uint256) {
        return 1;
    }

    /// @notice Delivers a bank-to-bank message to `bank` as the Inbox would, signed by this harness.
    function bankMessage(ICorrespondentBank bank, uint64 origin, uint32 nonce, bytes calldata body) external {
        bank.onBankMessage(origin, nonce, body, address(this));
    }
}
