// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title BankMessages
/// @notice Bodies of the messages a CorrespondentBank dispatches (docs/protocol.md 3.4 and 3.7), all
/// packed, amounts as uint256 in 18 decimals:
/// - value transfer: `0x01 ‖ original sender bytes32 ‖ user body` (33 bytes + user body)
/// - reserve report: `0x02 ‖ reserve ‖ pending ‖ received ‖ suspended uint8 (0 or 1) ‖
///   perGas uint96 ‖ base uint96 ‖ premiumPpm uint32` (126 bytes; the last three are the sender's
///   delivery price for the receiver's messages, docs/protocol.md 3.9)
/// - netting request: `0x03 ‖ amount` (33 bytes)
/// - netting reply: `0x04 ‖ amount` (33 bytes)
/// The single Solidity codec of these bodies; the TypeScript twins are `encodeTransferBody`,
/// `encodeReserveReport`, `encodeNettingRequest`, `encodeNettingReply` and their decoders in
/// `relayer/protocol/message.ts`.
library BankMessages {
    /// @notice First byte of a value transfer body.
    uint8 internal constant TRANSFER = 0x01;
    /// @notice First byte of a reserve report body.
    uint8 internal constant RESERVE_REPORT = 0x02;
    /// @notice First byte of a netting request body.
    uint8 internal constant NETTING_REQUEST = 0x03;
    /// @notice First byte of a netting reply body.
    uint8 internal constant NETTING_REPLY = 0x04;

    /// @notice Length of a transfer body without its user body.
    uint256 internal constant TRANSFER_HEADER_LENGTH = 33;
    /// @notice Exact length of a reserve report body.
    uint256 internal constant RESERVE_REPORT_LENGTH = 126;
    /// @notice Exact length of a netting request or reply body.
    uint256 internal constant NETTING_LENGTH = 33;

    /// @notice What a reserve report tells the peer about its reserve here (18 decimals).
    /// @param reserve tokens held for the peer
    /// @param pending payouts booked for the peer's transfers but not paid yet
    /// @param received total of the peer's transfers ever booked here (paid or pending)
    /// @param suspended whether we suspended the peer's route (it must stop sending)
    /// @param perGas our delivery price: settlement units (18 decimals) per gas of this chain
    /// @param base our delivery price: per-message base (18 decimals)
    /// @param premiumPpm underwriting premium on the amount a message carries, parts per million
    struct ReserveReport {
        uint256 reserve;
        uint256 pending;
        uint256 received;
        bool suspended;
        uint96 perGas;
        uint96 base;
        uint32 premiumPpm;
    }

    /// @notice `body` is not a well-formed bank message of kind `kind`.
    error MalformedBankMessage(uint8 kind);

    /// @notice The kind byte of `body` (0 for an empty body, which is no bank message).
    function kind(bytes calldata body) internal pure returns (uint8) {
        return body.length == 0 ? 0 : uint8(body[0]);
    }

    /// @notice Encodes a value transfer body on behalf of `originalSender`.
    function encodeTransfer(
        bytes32 originalSender,
        bytes memory userBody
    ) internal pure returns (bytes memory) {
        return abi.encodePacked(TRANSFER, originalSender, userBody);
    }

    /// @notice Decodes a value transfer body; reverts `MalformedBankMessage` when it is not one.
    function decodeTransfer(
        bytes calldata body
    ) internal pure returns (bytes32 originalSender, bytes calldata userBody) {
        if (body.length < TRANSFER_HEADER_LENGTH || uint8(body[0]) != TRANSFER) {
            revert MalformedBankMessage(TRANSFER);
        }
        originalSender = bytes32(body[1:33]);
        userBody = body[33:];
    }

    /// @notice Encodes a reserve report.
    function encodeReserveReport(ReserveReport memory report) internal pure returns (bytes memory) {
        return
            abi.encodePacked(
                RESERVE_REPORT,
                report.reserve,
                report.pending,
                report.received,
                report.suspended ? uint8(1) : uint8(0),
                report.perGas,
                report.base,
                report.premiumPpm
            );
    }

    /// @notice Decodes a reserve report; reverts `MalformedBankMessage` on a wrong length or kind, or
    /// a suspension byte other than 0 or 1 (so every report has exactly one encoding).
    function decodeReserveReport(bytes calldata body) internal pure returns (ReserveReport memory report) {
        if (body.length != RESERVE_REPORT_LENGTH || uint8(body[0]) != RESERVE_REPORT) {
            revert MalformedBankMessage(RESERVE_REPORT);
        }
        uint8 suspended = uint8(body[97]);
        if (suspended > 1) revert MalformedBankMessage(RESERVE_REPORT);
        report.reserve = uint256(bytes32(body[1:33]));
        report.pending = uint256(bytes32(body[33:65]));
        report.received = uint256(bytes32(body[65:97]));
        report.suspended = suspended == 1;
        report.perGas = uint96(bytes12(body[98:110]));
        report.base = uint96(bytes12(body[110:122]));
        report.premiumPpm = uint32(bytes4(body[122:126]));
    }

    /// @notice Encodes a netting request for up to `amount` (18 decimals).
    function encodeNettingRequest(uint256 amount) internal pure returns (bytes memory) {
        return abi.encodePacked(NETTING_REQUEST, amount);
    }

    /// @notice Encodes a netting reply: `amount` (18 decimals) was moved on the replying chain.
    function encodeNettingReply(uint256 amount) internal pure returns (bytes memory) {
        return abi.encodePacked(NETTING_REPLY, amount);
    }

    /// @notice Decodes a netting request or reply of kind `expected`; reverts `MalformedBankMessage`
    /// when `body` is not one.
    function decodeNetting(bytes calldata body, uint8 expected) internal pure returns (uint256 amount) {
        if (body.length != NETTING_LENGTH || uint8(body[0]) != expected)
            revert MalformedBankMessage(expected);
        amount = uint256(bytes32(body[1:33]));
    }
}
