// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

// The layout of docs/protocol.md 2.3, at file level so that assembly elsewhere (the Inbox's batch
// check) can name them: inline assembly reads only constants defined by a number.
uint8 constant MESSAGE_VERSION = 1;
uint256 constant MESSAGE_HEADER_LENGTH = 133;
// Byte offsets of the header fields.
uint256 constant NONCE_OFFSET = 1;
uint256 constant ORIGIN_OFFSET = 5;
uint256 constant SENDER_OFFSET = 13;
uint256 constant DESTINATION_OFFSET = 45;
uint256 constant RECIPIENT_OFFSET = 53;
uint256 constant AMOUNT_OFFSET = 85;
uint256 constant FEE_OFFSET = 117;

/// @title MessageCodec
/// @notice The packed message encoding of docs/protocol.md 2.3:
/// `version uint8 | nonce uint32 | origin uint64 | sender bytes32 | destination uint64 |
/// recipient bytes32 | amount uint256 | fee uint128 | body`, a 133-byte header then the body.
/// `id = keccak256(message)` is the message's Merkle leaf.
/// @dev Accessors read fixed offsets straight from calldata. Each checks the header length (a
/// single comparison), so a short message reverts instead of reading zeros past its end.
library MessageCodec {
    /// @notice The only message version this code understands.
    uint8 internal constant VERSION = MESSAGE_VERSION;
    /// @notice Bytes before the body.
    uint256 internal constant HEADER_LENGTH = MESSAGE_HEADER_LENGTH;

    /// @notice The message is shorter than the 133-byte header.
    error MessageTooShort(uint256 length);

    /// @notice Packs a version-1 message.
    function encode(
        uint32 nonce_,
        uint64 origin_,
        bytes32 sender_,
        uint64 destination_,
        bytes32 recipient_,
        uint256 amount_,
        uint128 fee_,
        bytes memory body_
    ) internal pure returns (bytes memory) {
        return
            abi.encodePacked(
                VERSION,
                nonce_,
                origin_,
                sender_,
                destination_,
                recipient_,
                amount_,
                fee_,
                body_
            );
    }

    /// @notice The message id (and Merkle leaf): keccak256 of the whole encoding.
    function id(bytes calldata m) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            // Scratch use of free memory, not allocated: nothing else lives there.
            let ptr := mload(0x40)
            calldatacopy(ptr, m.offset, m.length)
            result := keccak256(ptr, m.length)
        }
    }

    /// @notice Reverts `MessageTooShort` unless `m` holds at least a full header.
    function checkLength(bytes calldata m) internal pure {
        if (m.length < HEADER_LENGTH) revert MessageTooShort(m.length);
    }

    /// @notice Encoding version (1).
    function version(bytes calldata m) internal pure returns (uint8) {
        checkLength(m);
        return versionUnchecked(m);
    }

    /// @notice Leaf index of the message in the origin Outbox.
    function nonce(bytes calldata m) internal pure returns (uint32) {
        checkLength(m);
        return nonceUnchecked(m);
    }

    /// @notice Chain code of the origin.
    function origin(bytes calldata m) internal pure returns (uint64) {
        checkLength(m);
        return originUnchecked(m);
    }

    /// @notice Account that dispatched the message on the origin.
    function sender(bytes calldata m) internal pure returns (bytes32) {
        checkLength(m);
        return senderUnchecked(m);
    }

    /// @notice Chain code of the destination.
    function destination(bytes calldata m) internal pure returns (uint64) {
        checkLength(m);
        return destinationUnchecked(m);
    }

    /// @notice Account that receives the message on the destination.
    function recipient(bytes calldata m) internal pure returns (bytes32) {
        checkLength(m);
        return recipientUnchecked(m);
    }

    /// @notice Settlement amount (18 decimals); moves value only when sent by the origin's bank.
    function amount(bytes calldata m) internal pure returns (uint256) {
        checkLength(m);
        return amountUnchecked(m);
    }

    /// @notice Delivery fee (18 decimals, settlement unit) the sender paid on the origin; paid on the
    /// destination to the account that delivers the message, out of the origin's reserve there.
    function fee(bytes calldata m) internal pure returns (uint256) {
        checkLength(m);
        return feeUnchecked(m);
    }

    /// @notice The application payload after the header.
    function body(bytes calldata m) internal pure returns (bytes calldata) {
        checkLength(m);
        return bodyUnchecked(m);
    }

    // Readers without the length check, for a message whose length `checkLength` already checked
    // (the Inbox's batch path: one check per message instead of one per field). The checked
    // accessors above are these plus the check.

    function versionUnchecked(bytes calldata m) internal pure returns (uint8 result) {
        assembly ("memory-safe") {
            result := shr(248, calldataload(m.offset))
        }
    }

    function nonceUnchecked(bytes calldata m) internal pure returns (uint32 result) {
        assembly ("memory-safe") {
            result := shr(224, calldataload(add(m.offset, NONCE_OFFSET)))
        }
    }

    function originUnchecked(bytes calldata m) internal pure returns (uint64 result) {
        assembly ("memory-safe") {
            result := shr(192, calldataload(add(m.offset, ORIGIN_OFFSET)))
        }
    }

    function senderUnchecked(bytes calldata m) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            result := calldataload(add(m.offset, SENDER_OFFSET))
        }
    }

    function destinationUnchecked(bytes calldata m) internal pure returns (uint64 result) {
        assembly ("memory-safe") {
            result := shr(192, calldataload(add(m.offset, DESTINATION_OFFSET)))
        }
    }

    function recipientUnchecked(bytes calldata m) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            result := calldataload(add(m.offset, RECIPIENT_OFFSET))
        }
    }

    function amountUnchecked(bytes calldata m) internal pure returns (uint256 result) {
        assembly ("memory-safe") {
            result := calldataload(add(m.offset, AMOUNT_OFFSET))
        }
    }

    function feeUnchecked(bytes calldata m) internal pure returns (uint256 result) {
        assembly ("memory-safe") {
            result := shr(128, calldataload(add(m.offset, FEE_OFFSET)))
        }
    }

    function bodyUnchecked(bytes calldata m) internal pure returns (bytes calldata result) {
        assembly ("memory-safe") {
            result.offset := add(m.offset, HEADER_LENGTH)
            result.length := sub(m.length, HEADER_LENGTH)
        }
    }
}
