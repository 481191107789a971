// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title StakeReport
/// @notice The body of a stake report (docs/protocol.md 3.4): `0x01 ‖ attester (20 bytes) ‖
/// allocation uint256 (18 decimals)`, 53 bytes. The single Solidity codec of this body, used by the
/// StakingHub that sends it and the AttesterMirror that applies it; the TypeScript twin is
/// `encodeStakeReport` / `decodeStakeReport` in `relayer/protocol/message.ts`.
library StakeReport {
    /// @notice First byte of every stake report body.
    uint8 internal constant KIND = 0x01;
    /// @notice Exact length of a stake report body in bytes.
    uint256 internal constant LENGTH = 53;

    /// @notice The body is not a 53-byte stake report starting with `KIND`.
    error MalformedStakeReport();

    /// @notice Encodes a report that `attester` now allocates `allocation` (18 decimals).
    function encode(address attester, uint256 allocation) internal pure returns (bytes memory) {
        return abi.encodePacked(KIND, attester, allocation);
    }

    /// @notice Decodes `body`; `ok` is false (and the other values zero) when it is malformed.
    function tryDecode(
        bytes calldata body
    ) internal pure returns (bool ok, address attester, uint256 allocation) {
        if (body.length != LENGTH || uint8(body[0]) != KIND) return (false, address(0), 0);
        attester = address(bytes20(body[1:21]));
        allocation = uint256(bytes32(body[21:53]));
        ok = true;
    }

    /// @notice Decodes `body`; reverts `MalformedStakeReport` when it is malformed.
    function decode(bytes calldata body) internal pure returns (address attester, uint256 allocation) {
        bool ok;
        (ok, attester, allocation) = tryDecode(body);
        if (!ok) revert MalformedStakeReport();
    }
}
