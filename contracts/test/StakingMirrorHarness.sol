// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {AttesterMirror} from "../staking/AttesterMirror.sol";
import {StakeReport} from "../libraries/StakeReport.sol";

/// @title StakingMirrorHarness
/// @notice Test-only: exposes AttesterMirror's internal functions so they can be tested before and
/// apart from the Inbox that inherits it.
contract StakingMirrorHarness is AttesterMirror {
    constructor(uint32 exposureWindow_) AttesterMirror(exposureWindow_) {}

    function initializeMirror(
        uint64 origin,
        address[] calldata attesters,
        uint256[] calldata stakes
    ) external {
        _initializeMirror(origin, attesters, stakes);
    }

    function exposureWindow() external view returns (uint32) {
        return _exposureWindow;
    }

    function isMirrorInitialized(uint64 origin) external view returns (bool) {
        return _isMirrorInitialized(origin);
    }

    function isMirroredAttester(uint64 origin, address attester) external view returns (bool) {
        return _mirroredStake(origin, attester) != 0;
    }

    function totalMirroredStake(uint64 origin) external view returns (uint256) {
        return _totalMirroredStake(origin);
    }

    function reseedMirror(
        uint64 origin,
        address[] calldata attesters,
        uint256[] calldata stakes,
        uint32 fromNonce
    ) external {
        _reseedMirror(origin, attesters, stakes, fromNonce);
    }

    function chargePolicyCoverage(uint64 origin, uint256 amount) external {
        _chargePolicyCoverage(origin, amount);
    }

    function policyCoverageAvailable(uint64 origin) external view returns (uint256) {
        return _policyCoverageAvailable(origin);
    }

    function applyStakeReport(uint64 origin, bytes calldata body, uint32 reportNonce) external {
        _applyStakeReport(origin, body, reportNonce);
    }

    /// @notice Checks the signers' majority first (as the Inbox does), then applies the report.
    function deliverStakeReport(
        uint64 origin,
        address[] calldata signers,
        bytes calldata body,
        uint32 reportNonce
    ) external {
        uint256 signerStake;
        for (uint256 i = 0; i < signers.length; ++i) signerStake += _mirroredStake(origin, signers[i]);
        _requireMirrorQuorum(origin, signerStake);
        _applyStakeReport(origin, body, reportNonce);
    }

    function chargeCoverage(uint64 origin, address[] calldata signers, uint256 valueAtRisk) external {
        _chargeCoverage(origin, signers, valueAtRisk, new uint256[](0));
    }

    function mirroredStake(uint64 origin, address attester) external view returns (uint256) {
        return _mirroredStake(origin, attester);
    }

    function exposure(uint64 origin, address attester) external view returns (uint256) {
        return _exposure(origin, attester);
    }

    function freeCapacity(uint64 origin, address attester) external view returns (uint256) {
        return _freeCapacity(origin, attester);
    }

    /// @notice The Solidity encoding of a stake report body (checked against the TypeScript twin).
    function encodeStakeReport(address attester, uint256 allocation) external pure returns (bytes memory) {
        return StakeReport.encode(attester, allocation);
    }

    /// @notice The Solidity decoding of a stake report body; reverts on a malformed one.
    function decodeStakeReport(
        bytes calldata body
    ) external pure returns (address attester, uint256 allocation) {
        return StakeReport.decode(body);
    }
}
