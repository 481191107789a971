// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title CheckpointHash
/// @notice EIP-712 hashing of checkpoints (docs/protocol.md 2.6): typed data
/// `Checkpoint(uint64 origin,bytes32 root,uint32 count,bytes32 last)` in the domain
/// `{name: "DistPOS", version: "1", chainId: <origin EVM chain id>, verifyingContract: <origin Outbox>}`.
/// @dev Signature recovery is left to OpenZeppelin's ECDSA (which rejects high-s signatures).
library CheckpointHash {
    /// @notice EIP-712 type hash of a checkpoint.
    bytes32 internal constant TYPEHASH = keccak256(
        "Checkpoint(uint64 origin,bytes32 root,uint32 count,bytes32 last)"
    );
    /// @notice EIP-712 type hash of the domain.
    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    /// @notice keccak256 of the domain name "DistPOS".
    bytes32 internal constant NAME_HASH = keccak256("DistPOS");
    /// @notice keccak256 of the domain version "1".
    bytes32 internal constant VERSION_HASH = keccak256("1");

    /// @notice Domain separator of the checkpoints of Outbox `outbox` on EVM chain `evmChainId`.
    function domainSeparator(uint256 evmChainId, address outbox) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, evmChainId, outbox));
    }

    /// @notice EIP-712 struct hash of the checkpoint `(origin, root, count, last)`.
    function structHash(
        uint64 origin_,
        bytes32 root_,
        uint32 count_,
        bytes32 last_
    ) internal pure returns (bytes32 result) {
        bytes32 typeHash = TYPEHASH;
        assembly ("memory-safe") {
            // Scratch use of free memory, not allocated: 5 words of abi.encode.
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            // Clean the narrow types: their upper bits are not guaranteed in assembly.
            mstore(add(ptr, 0x20), and(origin_, 0xffffffffffffffff))
            mstore(add(ptr, 0x40), root_)
            mstore(add(ptr, 0x60), and(count_, 0xffffffff))
            mstore(add(ptr, 0x80), last_)
            result := keccak256(ptr, 0xa0)
        }
    }

    /// @notice The digest an attester signs: `keccak256(0x1901 ‖ domainSeparator ‖ structHash)`.
    function digest(
        bytes32 domainSeparator_,
        uint64 origin,
        bytes32 root,
        uint32 count,
        bytes32 last
    ) internal pure returns (bytes32 result) {
        bytes32 hashed = structHash(origin, root, count, last);
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domainSeparator_)
            mstore(add(ptr, 0x22), hashed)
            result := keccak256(ptr, 0x42)
        }
    }
}
