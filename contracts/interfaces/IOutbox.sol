// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IMessageRecipient} from "./IMessageRecipient.sol";
import {IRouteRegistry} from "./IRouteRegistry.sol";

/// @title IOutbox
/// @notice The append-only message tree of one chain. Attesters sign checkpoints `(root, count)` of
/// snapshotted counts only; `rootAt` is the on-chain truth that fraud proofs are judged against.
/// It is also the recipient of the fee top-ups peer Outboxes send it (`handle`, docs/protocol.md 3.9).
interface IOutbox is IMessageRecipient {
    /// @notice A message was appended as leaf `nonce`. `message` is the full packed encoding, so a
    /// node can rebuild the tree from logs alone.
    event Dispatch(
        bytes32 indexed id,
        uint64 indexed destination,
        bytes32 indexed recipient,
        uint32 nonce,
        bytes message
    );
    /// @notice The root at `count` was recorded and may now be signed.
    event Snapshot(uint32 indexed count, bytes32 root);
    /// @notice The registry pushed the status of route `destination` (the Outbox's own copy, read
    /// by every dispatch).
    event RouteStatusSet(uint64 indexed destination, IRouteRegistry.RouteStatus status);

    /// @notice The bank applied destination `destination`'s delivery price from its reserve report.
    event PriceSet(uint64 indexed destination, uint96 perGas, uint96 base, uint32 premiumPpm);
    /// @notice `account`'s prepaid fee balance grew by `amount` (18 decimals).
    event FeesCredited(address indexed account, uint256 amount);
    /// @notice Message `id` (dispatched here) got `amount` (18 decimals) more delivery fee: the
    /// top-up message `topUpId` to `destination`'s Outbox carries it and names `id` in its body.
    event FeeToppedUp(
        bytes32 indexed id,
        bytes32 indexed topUpId,
        uint64 indexed destination,
        uint256 amount
    );
    /// @notice A top-up from chain `origin` for its message `id` was delivered here (its fee went
    /// to the deliverer with the batch's fees).
    event FeeTopUpReceived(uint64 indexed origin, bytes32 indexed id, bytes32 payer);

    /// @notice A destination's delivery price (docs/protocol.md 3.9), 18-decimal settlement units.
    /// @param perGas settlement units per gas of the destination
    /// @param base per-message base (the deliverer's share of the batch, proof and signatures)
    /// @param premiumPpm underwriting premium, parts per million of the amount carried
    struct DeliveryPrice {
        uint96 perGas;
        uint96 base;
        uint32 premiumPpm;
    }

    error DestinationIsSelf();
    /// @notice The quoted fee `fee` is above the caller's maximum.
    error FeeAboveMax(uint256 fee, uint256 maxFee);
    /// @notice The caller's prepaid fee balance does not cover `fee`.
    error FeeBalanceShort(uint256 fee, uint256 balance);
    /// @notice A fee does not fit the message's 128-bit fee field.
    error FeeTooLarge(uint256 fee);
    error DestinationNotActive(uint64 destination);
    error BodyTooLarge(uint256 length, uint256 max);
    error ZeroRecipient();
    error TreeFull();
    error NotBank(address caller);
    error NotStakingHub(address caller);
    error NotRegistry(address caller);
    /// @notice `handle` was called by `caller`, not the local Inbox.
    error NotInbox(address caller);
    /// @notice A top-up of zero.
    error ZeroTopUp();
    /// @notice The message to top up was not dispatched here (its origin is `origin`).
    error NotOurMessage(uint64 origin);
    /// @notice The message to top up has nonce `nonce`, not below this Outbox's count `count`.
    error UnknownMessage(uint32 nonce, uint32 count);
    /// @notice A top-up's body is not exactly one 32-byte message id (`length` bytes).
    error MalformedTopUp(uint256 length);

    /// @notice Largest body a message may carry, in bytes.
    function MAX_BODY_BYTES() external view returns (uint256);

    /// @notice Dispatches a pure message (amount 0) from `msg.sender`.
    function dispatch(
        uint64 destination,
        bytes32 recipient,
        bytes calldata body
    ) external returns (bytes32 id, uint32 nonce);

    /// @notice Dispatches a message that carries `amount` (18 decimals); only the local
    /// CorrespondentBank may set an amount, and it is the message's sender.
    function dispatchValue(
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        bytes calldata body
    ) external returns (bytes32 id, uint32 nonce);

    /// @notice Dispatches a pure message that pays its delivery fee, quoted from the destination's
    /// latest price for `body` and `handlerGas`, out of the caller's prepaid fee balance. Reverts
    /// `FeeAboveMax` when the quote exceeds `maxFee`, `FeeBalanceShort` when the balance is short.
    /// @return id the message id
    /// @return nonce its leaf index
    /// @return fee the fee it carries (18 decimals)
    function dispatchWithFee(
        uint64 destination,
        bytes32 recipient,
        bytes calldata body,
        uint256 handlerGas,
        uint256 maxFee
    ) external returns (bytes32 id, uint32 nonce, uint256 fee);

    /// @notice Adds `amount` (18 decimals) to the delivery fee of `message`, a message dispatched
    /// here: a fee inside a leaf cannot change, so the top-up is a message of its own, from the
    /// caller to the destination's Outbox (the peer's record in the registry) with the id of
    /// `message` as its body and `amount` as its fee, taken from the caller's prepaid balance.
    /// A node delivers the two together and counts their fees together (docs/protocol.md 3.9).
    /// @dev The Outbox keeps no list of its ids (only the tree's frontier): what is checked is that
    /// `message` is well formed, was dispatched from this chain (`NotOurMessage`) and has a nonce
    /// below the count (`UnknownMessage`). A made-up message passing those checks only pays its
    /// top-up's deliverer: nodes match top-ups to the messages of the origin's tree.
    /// @param message the full encoding of the message to top up (as its Dispatch event has it)
    /// @param amount the fee to add; `ZeroTopUp` when 0, `FeeTooLarge` above 128 bits,
    /// `FeeBalanceShort` when the prepaid balance is short
    /// @return id the topped-up message's id
    /// @return topUpId the id of the top-up message
    function topUp(bytes calldata message, uint256 amount) external returns (bytes32 id, bytes32 topUpId);

    /// @notice `dispatchValue` with a delivery fee the bank already collected; bank only.
    function dispatchValueWithFee(
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        uint256 fee,
        bytes calldata body
    ) external returns (bytes32 id, uint32 nonce);

    /// @notice Credits `amount` (18 decimals) to `account`'s prepaid fee balance; bank only (it
    /// took the tokens).
    function creditFees(address account, uint256 amount) external;

    /// @notice Records `destination`'s delivery price from its applied reserve report; bank only.
    function setPrice(uint64 destination, DeliveryPrice calldata newPrice) external;

    /// @notice The fee (18 decimals) a message to `destination` with a `bodySize`-byte body,
    /// `handlerGas` of handler gas and `amount` carried pays at the destination's latest price.
    function quote(
        uint64 destination,
        uint256 bodySize,
        uint256 handlerGas,
        uint256 amount
    ) external view returns (uint256);

    /// @notice `destination`'s latest delivery price (zeroes before its first report).
    function price(uint64 destination) external view returns (DeliveryPrice memory);

    /// @notice `account`'s prepaid fee balance (18 decimals).
    function feeBalance(address account) external view returns (uint256);

    /// @notice Fees ever carried by messages to `destination` (18 decimals).
    function feesDispatched(uint64 destination) external view returns (uint256);

    /// @notice Dispatches a protocol message on behalf of the local StakingHub (stake reports).
    /// @dev Only callable by the StakingHub; the sender field is the StakingHub.
    function dispatchSystem(
        uint64 destination,
        bytes32 recipient,
        bytes calldata body
    ) external returns (bytes32 id, uint32 nonce);

    /// @notice Records the current root at the current count so attesters may sign it.
    /// Idempotent; anyone may call it.
    function snapshot() external returns (bytes32 root, uint32 count);

    /// @notice Number of messages dispatched so far.
    function count() external view returns (uint32);

    /// @notice The current root of the whole tree.
    function root() external view returns (bytes32);

    /// @notice The root recorded by `snapshot` at `count`; zero when `count` was never snapshotted.
    function rootAt(uint32 count) external view returns (bytes32);

    /// @notice The latest snapshotted `(root, count)`.
    function latestSnapshot() external view returns (bytes32 root, uint32 count);

    /// @notice Records the status of route `destination`; only the registry calls it, on every
    /// status change (enrollment, pause, resume), so the Outbox's copy always equals the
    /// registry's.
    function setRouteStatus(uint64 destination, IRouteRegistry.RouteStatus status) external;

    /// @notice Status of route `destination` as the registry last pushed it (`None` if never).
    function routeStatus(uint64 destination) external view returns (IRouteRegistry.RouteStatus);

    /// @notice The EIP-712 domain separator of this Outbox's checkpoints.
    function domainSeparator() external view returns (bytes32);
}
