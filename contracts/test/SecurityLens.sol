// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {CorrespondentBank} from "../correspondent/CorrespondentBank.sol";
import {Inbox} from "../messaging/Inbox.sol";
import {StakingHub} from "../staking/StakingHub.sol";
import {SecurityRecipient} from "./SecurityRecipients.sol";

/// @title SecurityLens
/// @notice Test-only: reads many views of the suite in one call, so the security property tests can
/// check their invariants after every step without dozens of round trips. Views only.
contract SecurityLens {
    /// @notice A bank's token balance and, per peer, its reserve, pool, netting lock and pending
    /// payouts.
    function books(
        CorrespondentBank bank,
        uint64[] calldata peers
    )
        external
        view
        returns (
            uint256 balance,
            uint256[] memory reserve,
            uint256[] memory pool,
            uint256[] memory locked,
            uint256[] memory pending
        )
    {
        balance = IERC20(address(bank.token())).balanceOf(address(bank));
        uint256 n = peers.length;
        (reserve, pool, locked, pending) = (
            new uint256[](n),
            new uint256[](n),
            new uint256[](n),
            new uint256[](n)
        );
        for (uint256 i = 0; i < n; ++i) {
            reserve[i] = bank.reserve(peers[i]);
            pool[i] = bank.pool(peers[i]);
            locked[i] = bank.nettingLocked(peers[i]);
            pending[i] = bank.pendingPayouts(peers[i]);
        }
    }

    /// @notice A hub's token balance and each attester's bonded and unbonding stake and slashed flag.
    function stakes(
        StakingHub hub,
        address[] calldata attesters
    )
        external
        view
        returns (uint256 balance, uint256[] memory bonded, uint256[] memory unbonding, bool[] memory slashed)
    {
        balance = IERC20(hub.token()).balanceOf(address(hub));
        uint256 n = attesters.length;
        (bonded, unbonding, slashed) = (new uint256[](n), new uint256[](n), new bool[](n));
        for (uint256 i = 0; i < n; ++i) {
            bonded[i] = hub.bonded(attesters[i]);
            unbonding[i] = hub.unbonding(attesters[i]);
            slashed[i] = hub.slashed(attesters[i]);
        }
    }

    /// @notice Each attester's mirrored stake and exposure for `origin` on `inbox`.
    function coverage(
        Inbox inbox,
        uint64 origin,
        address[] calldata attesters
    ) external view returns (uint256[] memory mirrored, uint256[] memory exposure) {
        uint256 n = attesters.length;
        (mirrored, exposure) = (new uint256[](n), new uint256[](n));
        for (uint256 i = 0; i < n; ++i) {
            mirrored[i] = inbox.mirroredStake(origin, attesters[i]);
            exposure[i] = inbox.exposure(origin, attesters[i]);
        }
    }

    /// @notice Whether each `(origins[i], nonces[i])` is marked delivered on `inbox`.
    function delivered(
        Inbox inbox,
        uint64[] calldata origins,
        uint32[] calldata nonces
    ) external view returns (bool[] memory out) {
        out = new bool[](origins.length);
        for (uint256 i = 0; i < origins.length; ++i) out[i] = inbox.isDelivered(origins[i], nonces[i]);
    }

    /// @notice How many times `recipient` handled each body hash.
    function handled(
        SecurityRecipient recipient,
        bytes32[] calldata bodyHashes
    ) external view returns (uint256[] memory out) {
        out = new uint256[](bodyHashes.length);
        for (uint256 i = 0; i < bodyHashes.length; ++i) out[i] = recipient.handledCount(bodyHashes[i]);
    }
}
