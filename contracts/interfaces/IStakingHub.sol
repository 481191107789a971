// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IInbox} from "./IInbox.sol";

/// @title IStakingHub
/// @notice Attesters' collateral on their home chain: stake, per-peer allocation (reported to each
/// peer's Inbox through the Outbox), unbonding, and slashing by fraud proof against the Outbox.
interface IStakingHub {
    event Staked(address indexed attester, uint256 amount);
    event Allocated(address indexed attester, uint64 indexed peer, uint256 allocation, bytes32 reportId);
    event DeallocationQueued(address indexed attester, uint64 indexed peer, uint256 amount, uint64 releaseAt);
    event UnstakeRequested(address indexed attester, uint256 amount, uint64 releaseAt);
    event Withdrawn(address indexed attester, address indexed to, uint256 amount);
    event Slashed(
        address indexed attester,
        address indexed prover,
        uint256 amount,
        uint256 bounty,
        bytes32 root,
        uint32 count
    );

    error ZeroAmount();
    error InsufficientFreeStake(uint256 requested, uint256 free);
    error AttesterSlashed(address attester);
    error NothingToWithdraw();
    error NotFraud();
    error WrongOriginChain(uint64 origin);
    error InvalidParameters(string reason);
    error UnknownPeer(uint64 peer);

    /// @notice Adds `amount` settlement tokens to the caller's bonded stake.
    function stake(uint256 amount) external;

    /// @notice Sets the caller's allocation to `peer` (token units) and reports it to the peer.
    /// Increases need free bonded stake; decreases are reported at once and the freed stake stays
    /// locked for the unbonding delay.
    function allocate(uint64 peer, uint256 allocation) external;

    /// @notice Moves `amount` of free bonded stake into unbonding for the unbonding delay.
    function requestUnstake(uint256 amount) external;

    /// @notice Pays the caller's matured unbonding stake to `to`.
    function withdraw(address to) external returns (uint256 amount);

    /// @notice Slashes the signer of `checkpoint` when the checkpoint is false on this chain's
    /// Outbox (count beyond the tip, count never snapshotted, or a root other than the snapshot).
    function proveFraud(IInbox.Checkpoint calldata checkpoint, bytes calldata signature) external;

    /// @notice Whether `checkpoint`'s count or root is false with respect to this chain's Outbox.
    function isFraudulent(IInbox.Checkpoint calldata checkpoint) external view returns (bool);

    /// @notice Slashes the signer of `checkpoint` when its `last` is not the leaf at `count - 1`
    /// under its own root: `leaf`, a different id, is, by its Merkle multiproof `proof`
    /// (docs/protocol.md 2.5, 2.6). Under a true root that is the Outbox's leaf, so only a liar can
    /// be caught; a false root is proven by `proveFraud`.
    function proveLastLeafFraud(
        IInbox.Checkpoint calldata checkpoint,
        bytes calldata signature,
        bytes32 leaf,
        bytes32[] calldata proof
    ) external;

    /// @notice Whether `leaf`, by `proof`, is the leaf at `checkpoint.count - 1` under
    /// `checkpoint.root` while `checkpoint.last` is another id (what `proveLastLeafFraud` slashes).
    function isLastLeafFalse(
        IInbox.Checkpoint calldata checkpoint,
        bytes32 leaf,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice The settlement token staked here.
    function token() external view returns (address);

    /// @notice The unbonding delay U in seconds.
    function unbondingDelay() external view returns (uint64);

    /// @notice Every account that ever staked, in order of first stake (the peer's trusted
    /// snapshot of our attester set is read from it).
    function attesters() external view returns (address[] memory);

    /// @notice Bonded stake of `attester` (token units).
    function bonded(address attester) external view returns (uint256);

    /// @notice Allocation of `attester` to `peer` (token units).
    function allocation(address attester, uint64 peer) external view returns (uint256);

    /// @notice What `attester`'s allocation to `peer` lets it vouch for there (18 decimals): the
    /// allocation less the prover's bounty share, which a liar proving its own lie would get back.
    /// Stake reports carry this figure, and a mirror is seeded with it.
    function vouchingStake(address attester, uint64 peer) external view returns (uint256);

    /// @notice Bonded stake not allocated and not locked by a pending deallocation.
    function freeStake(address attester) external view returns (uint256);

    /// @notice Whether `attester` was slashed.
    function slashed(address attester) external view returns (bool);
}
