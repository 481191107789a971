// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {MerkleTree} from "../libraries/MerkleTree.sol";

/// @title MerkleTreeHarness
/// @notice Test-only: a stored MerkleTree plus the pure verifiers, for tests against the shared
/// vectors and the TypeScript tree.
contract MerkleTreeHarness {
    using MerkleTree for MerkleTree.Tree;

    MerkleTree.Tree private tree;

    /// @notice Emitted per inserted leaf.
    event Inserted(bytes32 leaf, uint32 index);

    /// @notice Appends one leaf.
    function insert(bytes32 leaf) external returns (uint32 index) {
        index = tree.insert(leaf);
        emit Inserted(leaf, index);
    }

    /// @notice Appends many leaves in one transaction.
    function insertMany(bytes32[] calldata leaves) external {
        for (uint256 i = 0; i < leaves.length; ++i) {
            tree.insert(leaves[i]);
        }
    }

    /// @notice Test-only shortcut to a nearly full tree: sets the count without leaves.
    function setCount(uint256 count_) external {
        tree.count = count_;
    }

    /// @notice Number of leaves.
    function count() external view returns (uint256) {
        return tree.count;
    }

    /// @notice Current root.
    function root() external view returns (bytes32) {
        return tree.root();
    }

    /// @notice MerkleTree.zeroHash.
    function zeroHash(uint256 level) external pure returns (bytes32) {
        return MerkleTree.zeroHash(level);
    }

    /// @notice MerkleTree.branchRoot.
    function branchRoot(
        bytes32 leaf,
        bytes32[32] calldata proof,
        uint256 index
    ) external pure returns (bytes32) {
        return MerkleTree.branchRoot(leaf, proof, index);
    }

    /// @notice MerkleTree.multiRoot in the tree of the first `size` leaves.
    function multiRoot(
        bytes32[] calldata leaves,
        uint256[] calldata indices,
        bytes32[] calldata proof,
        uint256 size
    ) external pure returns (bytes32) {
        return MerkleTree.multiRoot(leaves, indices, proof, size);
    }

    /// @notice Gas used by multiRoot alone (for benchmarks).
    function multiRootGas(
        bytes32[] calldata leaves,
        uint256[] calldata indices,
        bytes32[] calldata proof,
        uint256 size
    ) external view returns (bytes32 result, uint256 gasUsed) {
        // Copied to memory (where multiRoot works in place) before the measurement.
        bytes32[] memory nodes = leaves;
        uint256[] memory positions = indices;
        uint256 before = gasleft();
        result = MerkleTree.multiRoot(nodes, positions, proof, size);
        gasUsed = before - gasleft();
    }
}
