// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IRouteRegistry} from "./IRouteRegistry.sol";

/// @title IInbox
/// @notice Accepts batches of messages from enrolled origins under one signed checkpoint, checks
/// the Merkle multiproof and the signers' stake coverage, and executes each message once.
interface IInbox {
    /// @notice An attester's signed view of an origin Outbox: the root of its first `count` leaves
    /// and the last of them, `last` (the id of message `count - 1`), which lets the checkpoint's
    /// last message be delivered alone without a Merkle proof (docs/protocol.md 2.6, 3.3).
    struct Checkpoint {
        uint64 origin;
        bytes32 root;
        uint32 count;
        bytes32 last;
    }

    /// @notice A recipient's own security policy; zeroes mean "the route's default".
    struct RecipientPolicy {
        uint16 minSigners;
        uint96 requiredCoverage;
    }

    /// @notice Execution state of a delivered message that did not complete (docs/protocol.md 3.3).
    /// For a value transfer it also says whether its payout was made, so that `retry` asks the
    /// bank for a payout only when none was made: `HandlerReverted` = paid, the handler reverted;
    /// `PayoutPending` = the bank booked it pending (and keeps its record); `PayoutReverted` = the
    /// bank's payout call reverted, nothing was booked.
    enum FailureKind {
        None,
        HandlerReverted,
        PayoutPending,
        PayoutReverted
    }

    /// @notice Message `id` was accepted and its execution attempted (it may have failed: see
    /// `HandlerFailed`). Only the id, which names the message (its keccak256): the origin and nonce
    /// are in the message itself, and one topic less is 631 gas less per message (bench/results.md).
    event Delivered(bytes32 indexed id);
    event HandlerFailed(bytes32 indexed id, FailureKind kind, bytes reason);
    event Retried(bytes32 indexed id);
    event RecipientPolicySet(address indexed recipient, uint16 minSigners, uint96 requiredCoverage);
    event MirrorInitialized(uint64 indexed origin, address[] attesters, uint256[] stakes);
    event MirrorUpdated(uint64 indexed origin, address indexed attester, uint256 stake, uint32 reportNonce);
    event StakeReportIgnored(
        uint64 indexed origin,
        address indexed attester,
        uint32 reportNonce,
        bytes32 reason
    );
    event CoverageCharged(uint64 indexed origin, address indexed attester, uint256 amount);
    /// @notice A batch from `origin` was accepted under the checkpoint `(origin, root, count, last)`:
    /// what a watcher needs to prove a false checkpoint on the origin, however `deliver` was
    /// called. `signatures` is the concatenation of its 65-byte signatures (r ‖ s ‖ v) in
    /// ascending signer order, or empty when `deliver` was the transaction's own call (made by an
    /// account without code): the transaction's input then holds them, and logging them again
    /// would cost ≈ 2.3k gas for 3 signers (docs/protocol.md 3.5).
    event CheckpointAccepted(
        uint64 indexed origin,
        bytes32 indexed root,
        uint32 count,
        bytes32 last,
        bytes signatures
    );
    /// @notice Governance replaced mirror entries of `origin` from a trusted snapshot while the
    /// route was paused (docs/protocol.md 3.5, "Recovery").
    event MirrorReseeded(uint64 indexed origin, address[] attesters, uint256[] stakes, uint32 fromNonce);
    /// @notice The registry pushed route `origin`'s new status or default policy into this Inbox's
    /// copy (`setRoute`). The peer's contracts and the domain separator are fixed at enrollment
    /// and in the registry's `RouteEnrolled`.
    event RouteSet(
        uint64 indexed origin,
        IRouteRegistry.RouteStatus status,
        uint16 minSigners,
        uint96 defaultCoverage
    );

    /// @notice The checkpoint's root is zero or the empty tree's root, or its count is zero.
    error EmptyCheckpoint();
    error OriginNotActive(uint64 origin);
    error WrongOrigin(bytes32 id, uint64 origin);
    error WrongDestination(bytes32 id, uint64 destination);
    error UnsupportedVersion(bytes32 id, uint8 version);
    error AlreadyDelivered(bytes32 id);
    error NonceBeyondCount(bytes32 id, uint32 nonce, uint32 count);
    error MessagesNotAscending(uint256 index);
    error InvalidProof();
    error SignersNotAscending(uint256 index);
    error UnknownSigner(address signer);
    error TooFewSigners(uint256 signers, uint256 required);
    error InsufficientCoverage(uint256 valueAtRisk, uint256 capacity);
    /// @notice A batch carrying a stake report is signed by at most half of the origin's mirrored
    /// stake: a mirror changes only with a majority of the mirrored stake (docs/protocol.md 3.5).
    error StakeReportNeedsQuorum(uint256 signerStake, uint256 totalStake);
    /// @notice The coverage recipients' own policies demand beyond the route's default would take
    /// the policy coverage live at once above half of the mirrored stake.
    error PolicyCoverageExhausted(uint256 requested, uint256 available);
    error NoMessages();
    error InsufficientGasForHandler();
    error NotFailed(bytes32 id);
    error NotRegistry(address caller);
    error MirrorAlreadyInitialized(uint64 origin);
    /// @notice The mirror of `origin` was never seeded, so there is nothing to reseed.
    error MirrorNotInitialized(uint64 origin);
    /// @notice `deliver`'s packed signatures are not a whole number of 65-byte signatures.
    error SignaturesLength(uint256 length);
    /// @notice `deliver`'s framed messages do not add up: the frame at byte `offset` runs past the
    /// end, or bytes trail the last counted message.
    error MessagesMalformed(uint256 offset);

    /// @notice Delivers `messages` (ascending, distinct nonces) from one origin under one signed
    /// checkpoint. `messages` is framed: a two-byte count, then each encoded message after its
    /// two-byte length (big-endian). `proof` is the sparse positional multiproof of their ids
    /// against `checkpoint.root` in the tree of `checkpoint.count` leaves (docs/protocol.md 2.5),
    /// except for the checkpoint's last message delivered alone: with an empty `proof`, its id
    /// must be `checkpoint.last` (its nonce `count - 1`), which the signers vouch for directly.
    /// `signatures` are 65-byte EIP-712 signatures (r ‖ s ‖ v) packed one after the other, ordered
    /// by strictly increasing signer address: the `CheckpointAccepted` record is this very string
    /// (or the transaction's input, see the event).
    function deliver(
        Checkpoint calldata checkpoint,
        bytes calldata signatures,
        bytes calldata messages,
        bytes32[] calldata proof
    ) external;

    /// @notice Re-runs a delivered message that failed: for a value transfer whose payout was not
    /// made (`PayoutPending`, `PayoutReverted`) the payout first, then the handler; for any other
    /// failure the handler only.
    function retry(bytes calldata message) external;

    /// @notice Sets the caller's own policy as a recipient.
    function setRecipientPolicy(uint16 minSigners, uint96 requiredCoverage) external;

    /// @notice Whether the message at `nonce` from `origin` was delivered (executed or failed). For
    /// a system message this is only whether its nonce was taken; use `isMessageDelivered`.
    function isDelivered(uint64 origin, uint32 nonce) external view returns (bool);

    /// @notice Whether `message` (encoded) was delivered (executed or failed), by its replay key: a
    /// system message (stake report, bank-to-bank message) by its id, any other by its nonce bit.
    function isMessageDelivered(bytes calldata message) external view returns (bool);

    /// @notice The policy `recipient` set for itself (zeroes: the route's default applies).
    function recipientPolicy(address recipient) external view returns (RecipientPolicy memory);

    /// @notice Failure state of a delivered message (None if executed or never delivered).
    function failure(bytes32 id) external view returns (FailureKind);

    /// @notice Stake the attester allocated to this chain on `origin`, as last reported.
    function mirroredStake(uint64 origin, address attester) external view returns (uint256);

    /// @notice Value the attester vouched for on this chain within the current exposure window.
    function exposure(uint64 origin, address attester) external view returns (uint256);

    /// @notice Mirrored stake minus exposure (zero when exposure exceeds it).
    function freeCapacity(uint64 origin, address attester) external view returns (uint256);

    /// @notice The exposure window W in seconds (value vouched for counts against stake for W).
    function exposureWindow() external view returns (uint32);

    /// @notice Gas each recipient handler gets during `deliver`.
    function handlerGasLimit() external view returns (uint32);

    /// @notice Whether the mirror of `origin`'s attester set was seeded (messages are accepted only then).
    function isMirrorInitialized(uint64 origin) external view returns (bool);

    /// @notice Sum of the mirrored stake of every attester of `origin` (18 decimals): the total a
    /// stake report's signers must hold more than half of.
    function totalMirroredStake(uint64 origin) external view returns (uint256);

    /// @notice Coverage that recipients' own policies may still demand from `origin`'s attesters
    /// now: half the mirrored total minus the policy coverage still live (charged within the span
    /// an exposure stays charged).
    function policyCoverageAvailable(uint64 origin) external view returns (uint256);

    /// @notice Replaces mirror entries of `origin` from a trusted snapshot; only the registry, only
    /// while the route is paused (the registry checks). Each listed attester's stake is set (0
    /// removes it) and its next report nonce raised to at least `fromNonce`, so no report dispatched
    /// before the snapshot can raise it again. Moves no funds and delivers nothing.
    function reseedMirror(
        uint64 origin,
        address[] calldata attesters,
        uint256[] calldata stakes,
        uint32 fromNonce
    ) external;

    /// @notice Sets this Inbox's copy of route `origin` (registry only): the registry pushes it on
    /// enrollment, pause, resume and policy change, so that `deliver` reads its route from its own
    /// storage instead of calling the registry.
    function setRoute(uint64 origin, IRouteRegistry.InboxRoute calldata route) external;

    /// @notice This Inbox's copy of route `origin`, equal to the registry's `inboxRoute(origin)`
    /// (status `None` and zeroes for a code never enrolled).
    function inboxRoute(uint64 origin) external view returns (IRouteRegistry.InboxRoute memory);

    /// @notice Seeds the mirrored attester set of a newly enrolled route (registry only, once).
    function initializeMirror(
        uint64 origin,
        address[] calldata attesters,
        uint256[] calldata stakes
    ) external;
}
