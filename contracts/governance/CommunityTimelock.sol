// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title CommunityTimelock
/// @notice The owner of a community's DistPOS deployment: route enrollment, mirror seeding, pauses
/// and thresholds go through a public delay. An OpenZeppelin TimelockController, named for its job.
contract CommunityTimelock is TimelockController {
    /// @param minDelay seconds between scheduling and executing an operation
    /// @param proposers accounts that may schedule (and cancel) operations
    /// @param executors accounts that may execute ready operations (address(0) = anyone)
    /// @param admin optional bootstrap admin; address(0) leaves the timelock self-governed
    constructor(
        uint256 minDelay,
        address[] memory proposers,
        address[] memory executors,
        address admin
    ) TimelockController(minDelay, proposers, executors, admin) {}
}
