// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IMessageRecipient} from "../interfaces/IMessageRecipient.sol";
import {IOutbox} from "../interfaces/IOutbox.sol";
import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";
import {ChainAddress} from "../libraries/ChainAddress.sol";
import {CheckpointHash} from "../libraries/CheckpointHash.sol";
import {MerkleTree} from "../libraries/MerkleTree.sol";
import {MessageCodec} from "../libraries/MessageCodec.sol";

/// @title Outbox
/// @notice The append-only message tree of this chain (docs/protocol.md 3.2). Every message is a
/// leaf; attesters sign checkpoints `(root, count)` of snapshotted counts only, and `rootAt` is the
/// on-chain truth a fraud proof is judged against.
/// @dev Roots are snapshotted on demand: a dispatch only updates the tree's frontier (one branch
/// slot and the count) and never computes a root, so dispatching costs no new storage slot and no
/// 32-hash walk. `snapshot()` computes the root once for the current count.
contract Outbox is IOutbox {
    using MerkleTree for MerkleTree.Tree;

    /// @inheritdoc IOutbox
    uint256 public constant MAX_BODY_BYTES = 8192;
    /// @dev Gas a body byte costs the deliverer (non-zero calldata byte), in the quote.
    uint256 private constant CALLDATA_GAS_PER_BYTE = 16;

    /// @notice The routing table of this chain (destinations, local contracts).
    IRouteRegistry public immutable registry;
    /// @notice This chain's DistPOS chain code (the origin of every message dispatched here).
    uint64 public immutable localCode;

    MerkleTree.Tree private _tree;
    mapping(uint32 count => bytes32 root) private _rootAt;
    uint32 private _latestSnapshotCount;
    /// @dev Status of each destination, pushed by the registry on every change (its only writer).
    mapping(uint64 destination => IRouteRegistry.RouteStatus) private _routeStatuses;
    /// @dev The local bank and StakingHub, read from the registry on first use: it binds them once
    /// and for all, so the cache is exact.
    address private _bank;
    address private _stakingHub;
    address private _inbox;
    /// @dev Delivery price of each destination, as its last applied reserve report published it
    /// (pushed by the local bank, docs/protocol.md 3.9).
    mapping(uint64 destination => DeliveryPrice) private _prices;
    /// @dev Prepaid fee balances (18 decimals): the tokens sit in the local bank.
    mapping(address account => uint256) private _feeBalances;
    /// @dev Fees ever carried by messages to each destination (18 decimals): what the destination
    /// may pay deliverers out of this chain's reserve there (the bank counts it as sent).
    mapping(uint64 destination => uint256) private _feesDispatched;

    /// @param registry_ the route registry of this chain; its local code is read once here.
    constructor(IRouteRegistry registry_) {
        registry = registry_;
        localCode = registry_.localCode();
    }

    /// @inheritdoc IOutbox
    function dispatch(
        uint64 destination,
        bytes32 recipient,
        bytes calldata body
    ) external returns (bytes32 id, uint32 nonce) {
        return _dispatch(destination, recipient, 0, 0, body);
    }

    /// @inheritdoc IOutbox
    /// @dev The bank is read from the registry on first use, then from this contract's cache.
    function dispatchValue(
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        bytes calldata body
    ) external returns (bytes32 id, uint32 nonce) {
        if (msg.sender != _localBank()) revert NotBank(msg.sender);
        return _dispatch(destination, recipient, amount, 0, body);
    }

    /// @inheritdoc IOutbox
    /// @dev The fee is taken from the sender's prepaid balance: two warm-able storage words, no
    /// token call (measured against a token transfer per dispatch in bench/results.md).
    function dispatchWithFee(
        uint64 destination,
        bytes32 recipient,
        bytes calldata body,
        uint256 handlerGas,
        uint256 maxFee
    ) external returns (bytes32 id, uint32 nonce, uint256 fee) {
        fee = _quote(destination, body.length, handlerGas, 0);
        if (fee > maxFee) revert FeeAboveMax(fee, maxFee);
        uint256 balance = _feeBalances[msg.sender];
        if (balance < fee) revert FeeBalanceShort(fee, balance);
        unchecked {
            _feeBalances[msg.sender] = balance - fee;
        }
        _feesDispatched[destination] += fee;
        (id, nonce) = _dispatch(destination, recipient, 0, uint128(fee), body);
    }

    /// @inheritdoc IOutbox
    function topUp(bytes calldata message, uint256 amount) external returns (bytes32 id, bytes32 topUpId) {
        if (amount == 0) revert ZeroTopUp();
        if (amount > type(uint128).max) revert FeeTooLarge(amount);
        MessageCodec.checkLength(message);
        uint64 origin = MessageCodec.origin(message);
        if (origin != localCode) revert NotOurMessage(origin);
        uint32 nonce = MessageCodec.nonce(message);
        uint32 count_ = uint32(_tree.count);
        if (nonce >= count_) revert UnknownMessage(nonce, count_);
        uint256 balance = _feeBalances[msg.sender];
        if (balance < amount) revert FeeBalanceShort(amount, balance);
        unchecked {
            _feeBalances[msg.sender] = balance - amount;
        }
        uint64 destination = MessageCodec.destination(message);
        _feesDispatched[destination] += amount;
        id = MessageCodec.id(message);
        // The destination's Outbox, as this chain's governance enrolled it, receives the top-up.
        bytes32 peerOutbox = ChainAddress.fromAddress(registry.route(destination).outbox);
        (topUpId, ) = _dispatch(destination, peerOutbox, 0, uint128(amount), abi.encodePacked(id));
        emit FeeToppedUp(id, topUpId, destination, amount);
    }

    /// @inheritdoc IMessageRecipient
    /// @dev The receiving end of `topUp`: nothing to do here (the Inbox paid the fee with its
    /// batch), the event tells explorers which message it was for. Only the local Inbox calls it.
    function handle(uint64 origin, bytes32 sender, uint256, bytes calldata body) external {
        address inbox = _inbox;
        if (inbox == address(0)) inbox = _cacheInbox();
        if (msg.sender != inbox) revert NotInbox(msg.sender);
        if (body.length != 32) revert MalformedTopUp(body.length);
        emit FeeTopUpReceived(origin, bytes32(body), sender);
    }

    /// @inheritdoc IOutbox
    function dispatchValueWithFee(
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        uint256 fee,
        bytes calldata body
    ) external returns (bytes32 id, uint32 nonce) {
        if (msg.sender != _localBank()) revert NotBank(msg.sender);
        if (fee > type(uint128).max) revert FeeTooLarge(fee);
        _feesDispatched[destination] += fee;
        return _dispatch(destination, recipient, amount, uint128(fee), body);
    }

    /// @inheritdoc IOutbox
    function creditFees(address account, uint256 amount) external {
        if (msg.sender != _localBank()) revert NotBank(msg.sender);
        _feeBalances[account] += amount;
        emit FeesCredited(account, amount);
    }

    /// @inheritdoc IOutbox
    function setPrice(uint64 destination, DeliveryPrice calldata newPrice) external {
        if (msg.sender != _localBank()) revert NotBank(msg.sender);
        _prices[destination] = newPrice;
        emit PriceSet(destination, newPrice.perGas, newPrice.base, newPrice.premiumPpm);
    }

    /// @inheritdoc IOutbox
    function quote(
        uint64 destination,
        uint256 bodySize,
        uint256 handlerGas,
        uint256 amount
    ) external view returns (uint256) {
        return _quote(destination, bodySize, handlerGas, amount);
    }

    /// @inheritdoc IOutbox
    function price(uint64 destination) external view returns (DeliveryPrice memory) {
        return _prices[destination];
    }

    /// @inheritdoc IOutbox
    function feeBalance(address account) external view returns (uint256) {
        return _feeBalances[account];
    }

    /// @inheritdoc IOutbox
    function feesDispatched(uint64 destination) external view returns (uint256) {
        return _feesDispatched[destination];
    }

    /// @inheritdoc IOutbox
    function dispatchSystem(
        uint64 destination,
        bytes32 recipient,
        bytes calldata body
    ) external returns (bytes32 id, uint32 nonce) {
        address stakingHub = _stakingHub;
        if (stakingHub == address(0)) (, stakingHub) = _cacheLocalContracts();
        if (msg.sender != stakingHub) revert NotStakingHub(msg.sender);
        return _dispatch(destination, recipient, 0, 0, body);
    }

    /// @inheritdoc IOutbox
    function snapshot() external returns (bytes32 root_, uint32 count_) {
        count_ = uint32(_tree.count);
        root_ = _rootAt[count_];
        if (root_ != bytes32(0)) return (root_, count_);
        root_ = _tree.root();
        _rootAt[count_] = root_;
        _latestSnapshotCount = count_;
        emit Snapshot(count_, root_);
    }

    /// @inheritdoc IOutbox
    function setRouteStatus(uint64 destination, IRouteRegistry.RouteStatus status) external {
        if (msg.sender != address(registry)) revert NotRegistry(msg.sender);
        _routeStatuses[destination] = status;
        emit RouteStatusSet(destination, status);
    }

    /// @inheritdoc IOutbox
    function routeStatus(uint64 destination) external view returns (IRouteRegistry.RouteStatus) {
        return _routeStatuses[destination];
    }

    /// @inheritdoc IOutbox
    function count() external view returns (uint32) {
        return uint32(_tree.count);
    }

    /// @inheritdoc IOutbox
    function root() external view returns (bytes32) {
        return _tree.root();
    }

    /// @inheritdoc IOutbox
    function rootAt(uint32 count_) external view returns (bytes32) {
        return _rootAt[count_];
    }

    /// @inheritdoc IOutbox
    /// @dev `(0, 0)` before the first snapshot. Counts only grow, so the latest is the highest.
    function latestSnapshot() external view returns (bytes32 root_, uint32 count_) {
        count_ = _latestSnapshotCount;
        root_ = _rootAt[count_];
    }

    /// @inheritdoc IOutbox
    /// @dev Computed, not cached, so it follows `block.chainid` exactly as signers and verifiers do.
    function domainSeparator() external view returns (bytes32) {
        return CheckpointHash.domainSeparator(block.chainid, address(this));
    }

    /// @dev Appends one message from `msg.sender`. Only the frontier is written (see the contract
    /// notes); the destination's status is this contract's copy, so there is no external call.
    function _dispatch(
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        uint128 fee,
        bytes memory body
    ) private returns (bytes32 id, uint32 nonce) {
        if (destination == 0 || destination == localCode) revert DestinationIsSelf();
        if (recipient == bytes32(0)) revert ZeroRecipient();
        if (body.length > MAX_BODY_BYTES) revert BodyTooLarge(body.length, MAX_BODY_BYTES);
        if (_routeStatuses[destination] != IRouteRegistry.RouteStatus.Active)
            revert DestinationNotActive(destination);
        // The nonce is the leaf index, which `insert` returns too; it is needed first, inside the
        // message. A full tree makes `insert` revert `TreeFull` (same selector as IOutbox's).
        nonce = uint32(_tree.count);
        // The event's data is `abi.encode(nonce, message)`: its two head words are reserved right
        // before the message so the encoding is emitted in place, without copying the message.
        uint256 head;
        assembly ("memory-safe") {
            head := mload(0x40)
            mstore(0x40, add(head, 0x40))
        }
        bytes memory message = MessageCodec.encode(
            nonce,
            localCode,
            ChainAddress.fromAddress(msg.sender),
            destination,
            recipient,
            amount,
            fee,
            body
        );
        id = keccak256(message);
        _tree.insert(id);
        bytes32 topic = Dispatch.selector;
        bool emitted;
        assembly ("memory-safe") {
            // `message` is the allocation right after the reserved words (checked, not assumed).
            if eq(message, add(head, 0x40)) {
                let length := mload(message)
                mstore(head, nonce)
                mstore(add(head, 0x20), 0x40)
                // ABI padding of the message's last word (memory past the message is unallocated).
                mstore(add(add(message, 0x20), length), 0)
                log4(head, add(0x60, and(add(length, 0x1f), not(0x1f))), topic, id, destination, recipient)
                emitted := 1
            }
        }
        if (!emitted) emit Dispatch(id, destination, recipient, nonce, message);
    }

    /// @dev The local bank, read from the registry once, then from the cache.
    function _localBank() private returns (address bank) {
        bank = _bank;
        if (bank == address(0)) (bank, ) = _cacheLocalContracts();
    }

    /// @dev `base + perGas · (handlerGas + 16 · bodySize) + amount · premiumPpm / 1e6`, from the
    /// destination's last published price (docs/protocol.md 3.9); zero before any price arrived.
    function _quote(
        uint64 destination,
        uint256 bodySize,
        uint256 handlerGas,
        uint256 amount
    ) private view returns (uint256) {
        DeliveryPrice memory p = _prices[destination];
        return
            uint256(p.base) +
            uint256(p.perGas) * (handlerGas + CALLDATA_GAS_PER_BYTE * bodySize) +
            (amount * p.premiumPpm) / 1e6;
    }

    /// @dev Reads the local Inbox from the registry (reverts `NotBound` before the binding) and
    /// caches it.
    function _cacheInbox() private returns (address inbox) {
        inbox = registry.local().inbox;
        _inbox = inbox;
    }

    /// @dev Reads the local bank and StakingHub from the registry (reverts `NotBound` before the
    /// binding) and caches them.
    function _cacheLocalContracts() private returns (address bank, address stakingHub) {
        IRouteRegistry.LocalContracts memory local_ = registry.local();
        (bank, stakingHub) = (local_.bank, local_.stakingHub);
        (_bank, _stakingHub) = (bank, stakingHub);
    }
}
