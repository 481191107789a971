// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {ChainAddress} from "../libraries/ChainAddress.sol";
import {CheckpointHash} from "../libraries/CheckpointHash.sol";
import {MessageCodec} from "../libraries/MessageCodec.sol";

/// @title CodecHarness
/// @notice Test-only: exposes the encoding libraries so TypeScript tests can check them against
/// the shared vectors in test/vectors/.
contract CodecHarness {
    /// @notice The fields of a decoded message header.
    struct Header {
        uint8 version;
        uint32 nonce;
        uint64 origin;
        bytes32 sender;
        uint64 destination;
        bytes32 recipient;
        uint256 amount;
        uint256 fee;
    }

    /// @notice MessageCodec.encode.
    function encodeMessage(
        uint32 nonce,
        uint64 origin,
        bytes32 sender,
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        uint128 fee,
        bytes calldata body
    ) external pure returns (bytes memory) {
        return MessageCodec.encode(nonce, origin, sender, destination, recipient, amount, fee, body);
    }

    /// @notice MessageCodec.id.
    function messageId(bytes calldata message) external pure returns (bytes32) {
        return MessageCodec.id(message);
    }

    /// @notice All calldata accessors of MessageCodec at once.
    function decodeMessage(
        bytes calldata message
    ) external pure returns (Header memory header, bytes memory body) {
        header = Header({
            version: MessageCodec.version(message),
            nonce: MessageCodec.nonce(message),
            origin: MessageCodec.origin(message),
            sender: MessageCodec.sender(message),
            destination: MessageCodec.destination(message),
            recipient: MessageCodec.recipient(message),
            amount: MessageCodec.amount(message),
            fee: MessageCodec.fee(message)
        });
        body = MessageCodec.body(message);
    }

    /// @notice MessageCodec.version alone (for the length check of a single accessor).
    function messageVersion(bytes calldata message) external pure returns (uint8) {
        return MessageCodec.version(message);
    }

    /// @notice MessageCodec.body alone.
    function messageBody(bytes calldata message) external pure returns (bytes memory) {
        return MessageCodec.body(message);
    }

    /// @notice ChainAddress.fromAddress.
    function fromAddress(address a) external pure returns (bytes32) {
        return ChainAddress.fromAddress(a);
    }

    /// @notice ChainAddress.toAddress.
    function toAddress(bytes32 account) external pure returns (address) {
        return ChainAddress.toAddress(account);
    }

    /// @notice CheckpointHash.domainSeparator.
    function checkpointDomainSeparator(uint256 evmChainId, address outbox) external pure returns (bytes32) {
        return CheckpointHash.domainSeparator(evmChainId, outbox);
    }

    /// @notice CheckpointHash.structHash.
    function checkpointStructHash(
        uint64 origin,
        bytes32 root,
        uint32 count,
        bytes32 last
    ) external pure returns (bytes32) {
        return CheckpointHash.structHash(origin, root, count, last);
    }

    /// @notice CheckpointHash.digest.
    function checkpointDigest(
        bytes32 domainSeparator,
        uint64 origin,
        bytes32 root,
        uint32 count,
        bytes32 last
    ) external pure returns (bytes32) {
        return CheckpointHash.digest(domainSeparator, origin, root, count, last);
    }

    /// @notice The signer of a checkpoint, recovered the way the Inbox does it.
    function recoverCheckpointSigner(
        uint256 evmChainId,
        address outbox,
        uint64 origin,
        bytes32 root,
        uint32 count,
        bytes32 last,
        bytes calldata signature
    ) external pure returns (address) {
        bytes32 separator = CheckpointHash.domainSeparator(evmChainId, outbox);
        return ECDSA.recover(CheckpointHash.digest(separator, origin, root, count, last), signature);
    }
}
