// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title MerkleTree
/// @notice The Outbox tree of docs/protocol.md 2.4–2.5: an incremental keccak256 Merkle tree of
/// depth 32 with the zero hashes of the Ethereum deposit contract (`Z[0] = 0`,
/// `Z[i+1] = keccak256(Z[i] ‖ Z[i])`), byte-identical with the Nomad/Hyperlane trees. The empty
/// root is `Z[32]` = 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757.
/// @dev Only the frontier (`branch`) is stored: `insert` touches one branch slot and the count and
/// never computes the root; `root` costs 32 hashes. Also the verifiers of single-leaf branches
/// and of the sparse positional multiproof used by the Inbox.
library MerkleTree {
    /// @notice Levels between a leaf and the root.
    uint256 internal constant DEPTH = 32;
    /// @notice Capacity of the tree: counts and nonces are uint32.
    uint256 internal constant MAX_LEAVES = type(uint32).max;

    /// @notice The tree already holds `MAX_LEAVES` leaves.
    error TreeFull();
    /// @notice A multiproof is malformed or does not reduce to one root.
    error InvalidMultiproof();
    /// @notice A leaf index does not fit the depth-32 tree.
    error IndexOutOfRange(uint256 index);

    /// @notice Incremental tree state: `branch[i]` is the root of the last complete subtree of
    /// height `i` on the left edge of the next free leaf (valid where bit `i` of `count` is set).
    struct Tree {
        bytes32[32] branch;
        uint256 count;
    }

    /// @dev `InvalidMultiproof.selector` left-aligned in a word, for the reverts in assembly.
    uint256 private constant INVALID_MULTIPROOF_SELECTOR =
        0x1f41049000000000000000000000000000000000000000000000000000000000;

    /// @notice Root of the empty tree, `Z[32]`.
    bytes32 internal constant EMPTY_ROOT = 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757;

    // Zero hashes Z[i]: roots of empty subtrees of height i.
    bytes32 internal constant Z_0 = 0x0000000000000000000000000000000000000000000000000000000000000000;
    bytes32 internal constant Z_1 = 0xad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5;
    bytes32 internal constant Z_2 = 0xb4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d30;
    bytes32 internal constant Z_3 = 0x21ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85;
    bytes32 internal constant Z_4 = 0xe58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a19344;
    bytes32 internal constant Z_5 = 0x0eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d;
    bytes32 internal constant Z_6 = 0x887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968;
    bytes32 internal constant Z_7 = 0xffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f83;
    bytes32 internal constant Z_8 = 0x9867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756af;
    bytes32 internal constant Z_9 = 0xcefad4e508c098b9a7e1d8feb19955fb02ba9675585078710969d3440f5054e0;
    bytes32 internal constant Z_10 = 0xf9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5;
    bytes32 internal constant Z_11 = 0xf8b13a49e282f609c317a833fb8d976d11517c571d1221a265d25af778ecf892;
    bytes32 internal constant Z_12 = 0x3490c6ceeb450aecdc82e28293031d10c7d73bf85e57bf041a97360aa2c5d99c;
    bytes32 internal constant Z_13 = 0xc1df82d9c4b87413eae2ef048f94b4d3554cea73d92b0f7af96e0271c691e2bb;
    bytes32 internal constant Z_14 = 0x5c67add7c6caf302256adedf7ab114da0acfe870d449a3a489f781d659e8becc;
    bytes32 internal constant Z_15 = 0xda7bce9f4e8618b6bd2f4132ce798cdc7a60e7e1460a7299e3c6342a579626d2;
    bytes32 internal constant Z_16 = 0x2733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981f;
    bytes32 internal constant Z_17 = 0xe1d3b5c807b281e4683cc6d6315cf95b9ade8641defcb32372f1c126e398ef7a;
    bytes32 internal constant Z_18 = 0x5a2dce0a8a7f68bb74560f8f71837c2c2ebbcbf7fffb42ae1896f13f7c7479a0;
    bytes32 internal constant Z_19 = 0xb46a28b6f55540f89444f63de0378e3d121be09e06cc9ded1c20e65876d36aa0;
    bytes32 internal constant Z_20 = 0xc65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2;
    bytes32 internal constant Z_21 = 0xf4418588ed35a2458cffeb39b93d26f18d2ab13bdce6aee58e7b99359ec2dfd9;
    bytes32 internal constant Z_22 = 0x5a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e377;
    bytes32 internal constant Z_23 = 0x4df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652;
    bytes32 internal constant Z_24 = 0xcdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef;
    bytes32 internal constant Z_25 = 0x0abf5ac974a1ed57f4050aa510dd9c74f508277b39d7973bb2dfccc5eeb0618d;
    bytes32 internal constant Z_26 = 0xb8cd74046ff337f0a7bf2c8e03e10f642c1886798d71806ab1e888d9e5ee87d0;
    bytes32 internal constant Z_27 = 0x838c5655cb21c6cb83313b5a631175dff4963772cce9108188b34ac87c81c41e;
    bytes32 internal constant Z_28 = 0x662ee4dd2dd7b2bc707961b1e646c4047669dcb6584f0d8d770daf5d7e7deb2e;
    bytes32 internal constant Z_29 = 0x388ab20e2573d171a88108e79d820e98f26c0b84aa8b2f4aa4968dbb818ea322;
    bytes32 internal constant Z_30 = 0x93237c50ba75ee485f4c22adf2f741400bdf8d6a9cc7df7ecae576221665d735;
    bytes32 internal constant Z_31 = 0x8448818bb4ae4562849e949e17ac16e0be16688e156b5cf15e098c627c0056a9;

    /// @notice Appends `leaf`; returns its index (the message nonce). O(1) amortised: about two
    /// hashes and one branch write on average.
    function insert(Tree storage t, bytes32 leaf) internal returns (uint32 index) {
        uint256 count_ = t.count;
        if (count_ >= MAX_LEAVES) revert TreeFull();
        index = uint32(count_);
        uint256 size = count_ + 1;
        t.count = size;
        bytes32 node = leaf;
        // The new leaf completes the subtrees of the trailing one-bits of its index: fold them in
        // and park the result where the first zero bit of the index was.
        for (uint256 i = 0; i < DEPTH; ++i) {
            if (size & 1 == 1) {
                t.branch[i] = node;
                return index;
            }
            node = hashPair(t.branch[i], node);
            size >>= 1;
        }
        // Unreachable: size <= 2^32 - 1 has a set bit below 32.
        assert(false);
    }

    /// @notice Current root of the tree (32 hashes).
    function root(Tree storage t) internal view returns (bytes32 current) {
        uint256 size = t.count;
        bytes32[32] memory zeros = zeroHashes();
        for (uint256 i = 0; i < DEPTH; ++i) {
            if ((size >> i) & 1 == 1) {
                current = hashPair(t.branch[i], current);
            } else {
                current = hashPair(current, zeros[i]);
            }
        }
    }

    /// @notice Root of an empty subtree of height `level` (0 ≤ level ≤ 32; `zeroHash(32)` is the
    /// empty root).
    function zeroHash(uint256 level) internal pure returns (bytes32) {
        if (level == DEPTH) return EMPTY_ROOT;
        return zeroHashes()[level];
    }

    /// @notice The zero hashes `Z[0..31]` as a memory table (from constants, no hashing).
    function zeroHashes() internal pure returns (bytes32[32] memory zeros) {
        zeros[0] = Z_0;
        zeros[1] = Z_1;
        zeros[2] = Z_2;
        zeros[3] = Z_3;
        zeros[4] = Z_4;
        zeros[5] = Z_5;
        zeros[6] = Z_6;
        zeros[7] = Z_7;
        zeros[8] = Z_8;
        zeros[9] = Z_9;
        zeros[10] = Z_10;
        zeros[11] = Z_11;
        zeros[12] = Z_12;
        zeros[13] = Z_13;
        zeros[14] = Z_14;
        zeros[15] = Z_15;
        zeros[16] = Z_16;
        zeros[17] = Z_17;
        zeros[18] = Z_18;
        zeros[19] = Z_19;
        zeros[20] = Z_20;
        zeros[21] = Z_21;
        zeros[22] = Z_22;
        zeros[23] = Z_23;
        zeros[24] = Z_24;
        zeros[25] = Z_25;
        zeros[26] = Z_26;
        zeros[27] = Z_27;
        zeros[28] = Z_28;
        zeros[29] = Z_29;
        zeros[30] = Z_30;
        zeros[31] = Z_31;
    }

    /// @notice Root implied by `leaf` at `index` with its 32 siblings `proof` (bottom-up).
    function branchRoot(
        bytes32 leaf,
        bytes32[32] memory proof,
        uint256 index
    ) internal pure returns (bytes32 current) {
        if (index > MAX_LEAVES) revert IndexOutOfRange(index);
        current = leaf;
        for (uint256 i = 0; i < DEPTH; ++i) {
            if ((index >> i) & 1 == 1) {
                current = hashPair(proof[i], current);
            } else {
                current = hashPair(current, proof[i]);
            }
        }
    }

    /// @notice Root implied by the sparse positional multiproof of docs/protocol.md 2.5: `leaves` at
    /// strictly increasing `indices`, each below `count`, and the sibling list `proof`, in the tree
    /// of the first `count` leaves. A sibling whose subtree starts at or beyond `count` is the zero
    /// hash of its level and is not in `proof`: the verifier supplies it.
    /// Reverts `InvalidMultiproof` on empty or mismatched arrays, indices not strictly increasing,
    /// a proof too short or with elements left over, and `IndexOutOfRange` for an index at or
    /// beyond `count` (or above `MAX_LEAVES`).
    /// @dev Works in place: on return `leaves` and `indices` hold intermediate nodes (garbage to the
    /// caller). Each level walks the known nodes in order; a node whose right neighbour is known
    /// is hashed with it; any other node takes as its sibling `Z[level]` when it is a left child
    /// whose right neighbour's subtree starts at or beyond `count`, else the next proof element.
    function multiRoot(
        bytes32[] memory leaves,
        uint256[] memory indices,
        bytes32[] calldata proof,
        uint256 count
    ) internal pure returns (bytes32 result) {
        {
            uint256 n = leaves.length;
            if (n == 0 || n != indices.length) revert InvalidMultiproof();
            uint256 previous = indices[0];
            for (uint256 i = 1; i < n; ++i) {
                uint256 current = indices[i];
                if (current <= previous) revert InvalidMultiproof();
                previous = current;
            }
            if (previous >= count || previous > MAX_LEAVES) revert IndexOutOfRange(previous);
        }

        bytes memory zeros = _zeroTable();
        uint256 next;
        uint256 proofEnd;
        assembly ("memory-safe") {
            next := proof.offset
            proofEnd := add(proof.offset, shl(5, proof.length))
        }
        // count > every index >= 0 here, so `count − 1` is the last leaf of the tree; a count
        // beyond the capacity leaves no sibling empty below level 32, as 2^32 − 1 does.
        uint256 last = count - 1;
        if (last > MAX_LEAVES) last = MAX_LEAVES;
        result = _walk(leaves, indices, next, proofEnd, last, zeros);
    }

    /// @dev The level walk of `multiRoot`, in place, after its checks. `last` is the index of the
    /// tree's last leaf (`count − 1`), so `last >> level` is the last non-empty node of a level: a
    /// known node (never beyond it) whose right sibling is empty is an even node equal to it.
    /// `zeros` is `_zeroTable()`.
    // One assembly block per level pass is the point of this function (solhint counts its lines).
    // solhint-disable-next-line function-max-lines
    function _walk(
        bytes32[] memory leaves,
        uint256[] memory indices,
        uint256 next,
        uint256 proofEnd,
        uint256 last,
        bytes memory zeros
    ) private pure returns (bytes32 result) {
        assembly ("memory-safe") {
            // From here on, `leaves` and `indices` point at their first element (the known nodes
            // of the current level and their positions) and `zeros` at `Z[0]`.
            let end := shl(5, mload(leaves))
            leaves := add(leaves, 0x20)
            indices := add(indices, 0x20)
            zeros := add(zeros, 0x20)
            let level := 0
            // Levels with several known nodes.
            for {} and(lt(level, 32), gt(end, 0x20)) {
                level := add(level, 1)
            } {
                let written := 0
                for {
                    let read := 0
                } lt(read, end) {} {
                    let index := mload(add(indices, read))
                    // The node goes left when its index is even, right when odd.
                    mstore(shl(5, and(index, 1)), mload(add(leaves, read)))
                    read := add(read, 0x20)
                    switch and(
                        iszero(and(index, 1)),
                        and(lt(read, end), eq(mload(add(indices, read)), add(index, 1)))
                    )
                    case 1 {
                        // An even node whose right neighbour is known is hashed with it.
                        mstore(0x20, mload(add(leaves, read)))
                        read := add(read, 0x20)
                    }
                    default {
                        switch and(iszero(and(index, 1)), eq(index, shr(level, last)))
                        case 1 {
                            // A right sibling whose leaves start at or beyond the count: `Z[level]`.
                            mstore(0x20, mload(add(zeros, shl(5, level))))
                        }
                        default {
                            if iszero(lt(next, proofEnd)) {
                                mstore(0x00, INVALID_MULTIPROOF_SELECTOR)
                                revert(0x00, 0x04)
                            }
                            mstore(shl(5, iszero(and(index, 1))), calldataload(next))
                            next := add(next, 0x20)
                        }
                    }
                    // written < read: the slot was already consumed.
                    mstore(add(leaves, written), keccak256(0x00, 0x40))
                    mstore(add(indices, written), shr(1, index))
                    written := add(written, 0x20)
                }
                end := written
            }
            // One known node left (from the start for a single leaf): it is never paired, so each
            // remaining level takes one sibling — an ordinary branch, walked without the
            // bookkeeping above, in two parts.
            if eq(end, 0x20) {
                let node := mload(leaves)
                let index := mload(indices)
                let zero := add(zeros, shl(5, level)) // Z[level]
                let lastAt := shr(level, last) // the last non-empty node of this level
                // While the tree spans both halves of the level above, the sibling comes from the
                // proof unless it is the right neighbour of the last non-empty node.
                for {} lastAt {} {
                    let odd := and(index, 1)
                    mstore(shl(5, odd), node)
                    switch or(odd, xor(index, lastAt))
                    case 0 {
                        mstore(0x20, mload(zero))
                    }
                    default {
                        if iszero(lt(next, proofEnd)) {
                            mstore(0x00, INVALID_MULTIPROOF_SELECTOR)
                            revert(0x00, 0x04)
                        }
                        mstore(shl(5, iszero(odd)), calldataload(next))
                        next := add(next, 0x20)
                    }
                    node := keccak256(0x00, 0x40)
                    index := shr(1, index)
                    lastAt := shr(1, lastAt)
                    zero := add(zero, 0x20)
                }
                // Above, the whole tree is in the left subtree (the node is 0, never beyond
                // `lastAt`): every sibling is the empty subtree of its level.
                for {
                    let zerosEnd := add(zeros, 0x400)
                } lt(zero, zerosEnd) {
                    zero := add(zero, 0x20)
                } {
                    mstore(0x00, node)
                    mstore(0x20, mload(zero))
                    node := keccak256(0x00, 0x40)
                }
                mstore(leaves, node)
            }
            if or(iszero(eq(end, 0x20)), iszero(eq(next, proofEnd))) {
                mstore(0x00, INVALID_MULTIPROOF_SELECTOR)
                revert(0x00, 0x04)
            }
            result := mload(leaves)
        }
    }

    /// @dev The zero hashes `Z[0..31]` as one 1,024-byte array (`Z[i]` at byte `32·i`): a literal
    /// this long is copied from code with one CODECOPY, cheaper than 32 stores.
    function _zeroTable() private pure returns (bytes memory) {
        return
            hex"0000000000000000000000000000000000000000000000000000000000000000"
            hex"ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5"
            hex"b4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d30"
            hex"21ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85"
            hex"e58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a19344"
            hex"0eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d"
            hex"887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968"
            hex"ffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f83"
            hex"9867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756af"
            hex"cefad4e508c098b9a7e1d8feb19955fb02ba9675585078710969d3440f5054e0"
            hex"f9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5"
            hex"f8b13a49e282f609c317a833fb8d976d11517c571d1221a265d25af778ecf892"
            hex"3490c6ceeb450aecdc82e28293031d10c7d73bf85e57bf041a97360aa2c5d99c"
            hex"c1df82d9c4b87413eae2ef048f94b4d3554cea73d92b0f7af96e0271c691e2bb"
            hex"5c67add7c6caf302256adedf7ab114da0acfe870d449a3a489f781d659e8becc"
            hex"da7bce9f4e8618b6bd2f4132ce798cdc7a60e7e1460a7299e3c6342a579626d2"
            hex"2733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981f"
            hex"e1d3b5c807b281e4683cc6d6315cf95b9ade8641defcb32372f1c126e398ef7a"
            hex"5a2dce0a8a7f68bb74560f8f71837c2c2ebbcbf7fffb42ae1896f13f7c7479a0"
            hex"b46a28b6f55540f89444f63de0378e3d121be09e06cc9ded1c20e65876d36aa0"
            hex"c65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2"
            hex"f4418588ed35a2458cffeb39b93d26f18d2ab13bdce6aee58e7b99359ec2dfd9"
            hex"5a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e377"
            hex"4df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652"
            hex"cdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef"
            hex"0abf5ac974a1ed57f4050aa510dd9c74f508277b39d7973bb2dfccc5eeb0618d"
            hex"b8cd74046ff337f0a7bf2c8e03e10f642c1886798d71806ab1e888d9e5ee87d0"
            hex"838c5655cb21c6cb83313b5a631175dff4963772cce9108188b34ac87c81c41e"
            hex"662ee4dd2dd7b2bc707961b1e646c4047669dcb6584f0d8d770daf5d7e7deb2e"
            hex"388ab20e2573d171a88108e79d820e98f26c0b84aa8b2f4aa4968dbb818ea322"
            hex"93237c50ba75ee485f4c22adf2f741400bdf8d6a9cc7df7ecae576221665d735"
            hex"8448818bb4ae4562849e949e17ac16e0be16688e156b5cf15e098c627c0056a9";
    }

    /// @notice keccak256(left ‖ right) in scratch space.
    function hashPair(bytes32 left, bytes32 right) internal pure returns (bytes32 result) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            result := keccak256(0x00, 0x40)
        }
    }
}
