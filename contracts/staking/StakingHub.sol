// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IInbox} from "../interfaces/IInbox.sol";
import {IOutbox} from "../interfaces/IOutbox.sol";
import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";
import {IStakingHub} from "../interfaces/IStakingHub.sol";
import {CheckpointHash} from "../libraries/CheckpointHash.sol";
import {MerkleTree} from "../libraries/MerkleTree.sol";
import {StakeReport} from "../libraries/StakeReport.sol";

/// @title StakingHub
/// @notice Attesters' collateral on their home chain (docs/protocol.md 3.6): stake in the settlement
/// token, allocate it among peer chains (each change is reported to the peer's Inbox as a stake
/// report), unbond after the unbonding delay U, and lose all of it to anyone who proves that they
/// signed a checkpoint this chain's Outbox never had.
/// @dev Per attester: `bonded` = allocated + locked deallocations + free. A deallocation stays locked
/// for U, so the peer (which applies the decrease at once, and whose exposure window W is < U) has
/// seen the value it vouched for expire before the stake can back anything else or leave.
/// Stake is kept in token units; reports carry 18 decimals. Fee-on-transfer tokens are unsupported.
contract StakingHub is IStakingHub, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev Stake waiting for `releaseAt` (a locked deallocation or an unbonding request).
    struct Pending {
        uint192 amount;
        uint64 releaseAt;
    }

    /// @dev FIFO of pending amounts; release times only grow (U is constant), so the matured
    /// entries are always a prefix starting at `head`. `total` sums the entries from `head` on.
    struct PendingQueue {
        Pending[] entries;
        uint256 head;
        uint256 total;
    }

    /// @dev An attester's stake in token units.
    struct Account {
        uint256 bonded; // allocated + locked + free (excludes unbonding)
        uint256 allocated; // sum of allocations over all peers
        bool slashed;
        bool listed; // in `_attesters`
    }

    /// @notice Basis-point denominator of `bountyBps`.
    uint16 public constant BPS = 10_000;

    /// @notice This chain's routing table (peers, local Outbox).
    IRouteRegistry public immutable registry;
    /// @dev The settlement token staked here.
    IERC20 private immutable _token;
    /// @notice The unbonding delay U in seconds.
    uint64 public immutable unbondingDelay;
    /// @notice Share of a slashed stake paid to the prover, in basis points.
    uint16 public immutable bountyBps;
    /// @notice Receives the slashed stake minus the bounty.
    address public immutable insuranceVault;
    /// @notice Factor from token units to the 18 decimals of stake reports.
    uint256 public immutable reportScale;
    /// @notice This chain's DistPOS code (checkpoints of other chains cannot be judged here).
    uint64 public immutable localCode;

    mapping(address attester => Account) private _accounts;
    address[] private _attesters;
    mapping(address attester => mapping(uint64 peer => uint256)) private _allocations;
    mapping(address attester => PendingQueue) private _locks;
    mapping(address attester => PendingQueue) private _unbonding;

    /// @notice A slashed attester's allocation to `peer` was zeroed but could not be reported
    /// because the route is not active; `syncReport` sends it once the route is active again.
    event ReportDeferred(address indexed attester, uint64 indexed peer);

    /// @notice The signer of a false checkpoint has no stake here (never staked or already slashed).
    error NothingToSlash(address attester);
    /// @notice `withdraw` to the zero address.
    error ZeroRecipient();

    /// @param registry_ this chain's route registry (its bound Outbox dispatches our stake reports)
    /// @param token_ the settlement token (at most 18 decimals)
    /// @param unbondingDelay_ U in seconds, > 0 (peers' exposure windows must be shorter)
    /// @param bountyBps_ prover's share of a slashed stake, at most 10,000
    /// @param insuranceVault_ receives the rest of a slashed stake
    constructor(
        IRouteRegistry registry_,
        IERC20 token_,
        uint64 unbondingDelay_,
        uint16 bountyBps_,
        address insuranceVault_
    ) {
        if (address(registry_) == address(0)) revert InvalidParameters("registry is zero");
        if (address(token_) == address(0)) revert InvalidParameters("token is zero");
        if (unbondingDelay_ == 0) revert InvalidParameters("unbonding delay is zero");
        if (bountyBps_ > BPS) revert InvalidParameters("bounty above 10000 bps");
        if (insuranceVault_ == address(0)) revert InvalidParameters("insurance vault is zero");
        uint8 decimals = IERC20Metadata(address(token_)).decimals();
        if (decimals > 18) revert InvalidParameters("token decimals above 18");
        registry = registry_;
        _token = token_;
        unbondingDelay = unbondingDelay_;
        bountyBps = bountyBps_;
        insuranceVault = insuranceVault_;
        reportScale = 10 ** (18 - decimals);
        localCode = registry_.localCode();
    }

    // ---------------------------------------------------------------------------------------------
    // Staking

    /// @inheritdoc IStakingHub
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Account storage account = _accounts[msg.sender];
        if (account.slashed) revert AttesterSlashed(msg.sender);
        if (!account.listed) {
            account.listed = true;
            _attesters.push(msg.sender);
        }
        account.bonded += amount;
        emit Staked(msg.sender, amount);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStakingHub
    /// @dev `peer` must be an active route (the report must be dispatchable). Setting the current
    /// allocation again re-sends the report without changing any amount.
    function allocate(uint64 peer, uint256 allocation_) external nonReentrant {
        Account storage account = _accounts[msg.sender];
        if (account.slashed) revert AttesterSlashed(msg.sender);
        if (registry.status(peer) != IRouteRegistry.RouteStatus.Active) revert UnknownPeer(peer);
        _releaseMatured(_locks[msg.sender]);

        uint256 current = _allocations[msg.sender][peer];
        if (allocation_ > current) {
            uint256 increase = allocation_ - current;
            uint256 free = _free(account, _locks[msg.sender].total);
            if (increase > free) revert InsufficientFreeStake(increase, free);
            account.allocated += increase;
        } else if (allocation_ < current) {
            uint256 decrease = current - allocation_;
            account.allocated -= decrease;
            uint64 releaseAt = _push(_locks[msg.sender], decrease);
            emit DeallocationQueued(msg.sender, peer, decrease, releaseAt);
        }
        _allocations[msg.sender][peer] = allocation_;
        _report(msg.sender, peer, allocation_);
    }

    /// @inheritdoc IStakingHub
    function requestUnstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Account storage account = _accounts[msg.sender];
        if (account.slashed) revert AttesterSlashed(msg.sender);
        _releaseMatured(_locks[msg.sender]);
        uint256 free = _free(account, _locks[msg.sender].total);
        if (amount > free) revert InsufficientFreeStake(amount, free);
        account.bonded -= amount;
        uint64 releaseAt = _push(_unbonding[msg.sender], amount);
        emit UnstakeRequested(msg.sender, amount, releaseAt);
    }

    /// @inheritdoc IStakingHub
    function withdraw(address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert ZeroRecipient();
        amount = _releaseMatured(_unbonding[msg.sender]);
        if (amount == 0) revert NothingToWithdraw();
        emit Withdrawn(msg.sender, to, amount);
        _token.safeTransfer(to, amount);
    }

    /// @notice Re-sends `attester`'s current allocation to `peer` as a stake report. Anyone may call
    /// it: the report only states the truth (and a peer charges coverage for any increase). Used to
    /// deliver a slashed attester's zero report deferred while the route was paused.
    /// @param attester the attester whose allocation is reported
    /// @param peer an active route
    /// @return reportId the id of the dispatched report
    function syncReport(address attester, uint64 peer) external nonReentrant returns (bytes32 reportId) {
        if (registry.status(peer) != IRouteRegistry.RouteStatus.Active) revert UnknownPeer(peer);
        return _report(attester, peer, _allocations[attester][peer]);
    }

    // ---------------------------------------------------------------------------------------------
    // Fraud proofs

    /// @inheritdoc IStakingHub
    /// @dev Reverts with OpenZeppelin's ECDSA errors on a malformed (wrong length, high-s, invalid)
    /// signature; with `NotFraud` for a true checkpoint; with `NothingToSlash` when the signer has no
    /// stake (a signature bound to another Outbox or chain recovers an unrelated address).
    function proveFraud(
        IInbox.Checkpoint calldata checkpoint,
        bytes calldata signature
    ) external nonReentrant {
        (IOutbox outbox, address attester) = _signerOf(checkpoint, signature);
        if (!_isFalse(outbox, checkpoint)) revert NotFraud();
        _slash(attester, checkpoint);
    }

    /// @inheritdoc IStakingHub
    /// @dev Reverts as `proveFraud`, and with `MerkleTree`'s errors on a malformed proof.
    function proveLastLeafFraud(
        IInbox.Checkpoint calldata checkpoint,
        bytes calldata signature,
        bytes32 leaf,
        bytes32[] calldata proof
    ) external nonReentrant {
        (, address attester) = _signerOf(checkpoint, signature);
        if (!_isLastLeafFalse(checkpoint, leaf, proof)) revert NotFraud();
        _slash(attester, checkpoint);
    }

    /// @inheritdoc IStakingHub
    /// @dev A checkpoint of another chain is never fraudulent here (it cannot be judged here).
    function isFraudulent(IInbox.Checkpoint calldata checkpoint) external view returns (bool) {
        if (checkpoint.origin != localCode) return false;
        return _isFalse(_outbox(), checkpoint);
    }

    /// @inheritdoc IStakingHub
    function isLastLeafFalse(
        IInbox.Checkpoint calldata checkpoint,
        bytes32 leaf,
        bytes32[] calldata proof
    ) external view returns (bool) {
        if (checkpoint.origin != localCode) return false;
        return _isLastLeafFalse(checkpoint, leaf, proof);
    }

    // ---------------------------------------------------------------------------------------------
    // Views

    /// @inheritdoc IStakingHub
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IStakingHub
    function attesters() external view returns (address[] memory) {
        return _attesters;
    }

    /// @inheritdoc IStakingHub
    function bonded(address attester) external view returns (uint256) {
        return _accounts[attester].bonded;
    }

    /// @inheritdoc IStakingHub
    function allocation(address attester, uint64 peer) external view returns (uint256) {
        return _allocations[attester][peer];
    }

    /// @inheritdoc IStakingHub
    function vouchingStake(address attester, uint64 peer) external view returns (uint256) {
        return _vouching(_allocations[attester][peer]);
    }

    /// @inheritdoc IStakingHub
    function freeStake(address attester) external view returns (uint256) {
        PendingQueue storage locks = _locks[attester];
        return _free(_accounts[attester], locks.total - _matured(locks));
    }

    /// @inheritdoc IStakingHub
    function slashed(address attester) external view returns (bool) {
        return _accounts[attester].slashed;
    }

    /// @notice Sum of `attester`'s allocations over all peers (token units).
    function allocated(address attester) external view returns (uint256) {
        return _accounts[attester].allocated;
    }

    /// @notice Deallocated stake of `attester` still locked for the unbonding delay (token units).
    function locked(address attester) external view returns (uint256) {
        PendingQueue storage locks = _locks[attester];
        return locks.total - _matured(locks);
    }

    /// @notice Stake of `attester` in unbonding, matured or not, not yet withdrawn (token units).
    function unbonding(address attester) external view returns (uint256) {
        return _unbonding[attester].total;
    }

    /// @notice Unbonding stake of `attester` that `withdraw` would pay now (token units).
    function withdrawable(address attester) external view returns (uint256) {
        return _matured(_unbonding[attester]);
    }

    // ---------------------------------------------------------------------------------------------
    // Internals

    /// @dev This chain's Outbox, bound in the registry after deployment.
    function _outbox() private view returns (IOutbox) {
        return IOutbox(registry.local().outbox);
    }

    /// @dev This chain's Outbox and the signer of `checkpoint` (one of this chain's, else
    /// `WrongOriginChain`).
    function _signerOf(
        IInbox.Checkpoint calldata checkpoint,
        bytes calldata signature
    ) private view returns (IOutbox outbox, address attester) {
        if (checkpoint.origin != localCode) revert WrongOriginChain(checkpoint.origin);
        outbox = _outbox();
        bytes32 digest = CheckpointHash.digest(
            outbox.domainSeparator(),
            checkpoint.origin,
            checkpoint.root,
            checkpoint.count,
            checkpoint.last
        );
        attester = ECDSA.recoverCalldata(digest, signature);
    }

    /// @dev Takes every token `attester` has here for signing the false `checkpoint`: the bounty to
    /// the prover, the rest to the insurance vault; zero reports to every peer it vouched for.
    function _slash(address attester, IInbox.Checkpoint calldata checkpoint) private {
        // Effects: take every token the attester has here.
        Account storage account = _accounts[attester];
        PendingQueue storage unbondingQueue = _unbonding[attester];
        uint256 amount = account.bonded + unbondingQueue.total;
        if (amount == 0) revert NothingToSlash(attester);
        account.bonded = 0;
        account.allocated = 0;
        account.slashed = true;
        _clear(_locks[attester]);
        _clear(unbondingQueue);
        uint256 bounty = (amount * bountyBps) / BPS;
        emit Slashed(attester, msg.sender, amount, bounty, checkpoint.root, checkpoint.count);

        // Interactions: zero reports through our own Outbox, then the payments.
        uint64[] memory peers = registry.peers();
        for (uint256 i = 0; i < peers.length; ++i) {
            uint64 peer = peers[i];
            if (_allocations[attester][peer] == 0) continue;
            _allocations[attester][peer] = 0;
            if (registry.status(peer) == IRouteRegistry.RouteStatus.Active) {
                _report(attester, peer, 0);
            } else {
                emit ReportDeferred(attester, peer);
            }
        }
        if (bounty != 0) _token.safeTransfer(msg.sender, bounty);
        if (amount != bounty) _token.safeTransfer(insuranceVault, amount - bounty);
    }

    /// @dev Whether `checkpoint` contradicts itself: `leaf`, another id than its `last`, is the leaf
    /// at `count - 1` under its own root by `proof` (that leaf's multiproof alone). Under a true root
    /// that is the Outbox's leaf, so an honest signer is never caught (collision resistance); a
    /// false root is a lie already (`proveFraud`).
    function _isLastLeafFalse(
        IInbox.Checkpoint calldata checkpoint,
        bytes32 leaf,
        bytes32[] calldata proof
    ) private pure returns (bool) {
        if (leaf == checkpoint.last || checkpoint.count == 0) return false;
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = leaf;
        uint256[] memory indices = new uint256[](1);
        indices[0] = uint256(checkpoint.count) - 1;
        return MerkleTree.multiRoot(leaves, indices, proof, checkpoint.count) == checkpoint.root;
    }

    /// @dev Whether `checkpoint` (of this chain) disagrees with the Outbox: count beyond the tip,
    /// count never snapshotted, or a root other than the snapshot.
    function _isFalse(IOutbox outbox, IInbox.Checkpoint calldata checkpoint) private view returns (bool) {
        if (checkpoint.count > outbox.count()) return true;
        bytes32 recorded = outbox.rootAt(checkpoint.count);
        return recorded == bytes32(0) || recorded != checkpoint.root;
    }

    /// @dev Dispatches a stake report of `allocation_` (token units) to `peer`'s Inbox: its vouching
    /// stake (see `vouchingStake`).
    function _report(address attester, uint64 peer, uint256 allocation_) private returns (bytes32 reportId) {
        IRouteRegistry.Route memory route = registry.route(peer);
        (reportId, ) = _outbox().dispatchSystem(
            peer,
            bytes32(uint256(uint160(route.inbox))),
            StakeReport.encode(attester, _vouching(allocation_))
        );
        emit Allocated(attester, peer, allocation_, reportId);
    }

    /// @dev An allocation (token units) as vouching stake (18 decimals): the part a liar cannot get
    /// back. Slashing pays `bountyBps` to whoever proves the lie, and a liar can prove its own, so
    /// only `(BPS − bountyBps) / BPS` of the stake is a real cost (docs/protocol.md 3.8).
    function _vouching(uint256 allocation_) private view returns (uint256) {
        return (allocation_ * reportScale * (BPS - bountyBps)) / BPS;
    }

    /// @dev Bonded stake neither allocated nor locked.
    function _free(Account storage account, uint256 lockedAmount) private view returns (uint256) {
        return account.bonded - account.allocated - lockedAmount;
    }

    /// @dev Appends `amount` releasing after the unbonding delay; returns the release time.
    function _push(PendingQueue storage queue, uint256 amount) private returns (uint64 releaseAt) {
        releaseAt = uint64(block.timestamp) + unbondingDelay;
        queue.entries.push(Pending({amount: SafeCast.toUint192(amount), releaseAt: releaseAt}));
        queue.total += amount;
    }

    /// @dev Sum of the matured entries of `queue`.
    function _matured(PendingQueue storage queue) private view returns (uint256 amount) {
        uint256 length = queue.entries.length;
        for (uint256 i = queue.head; i < length; ++i) {
            Pending memory entry = queue.entries[i];
            if (entry.releaseAt > block.timestamp) break;
            amount += entry.amount;
        }
    }

    /// @dev Removes the matured entries of `queue`; returns their sum.
    function _releaseMatured(PendingQueue storage queue) private returns (uint256 amount) {
        uint256 length = queue.entries.length;
        uint256 i = queue.head;
        for (; i < length; ++i) {
            Pending memory entry = queue.entries[i];
            if (entry.releaseAt > block.timestamp) break;
            amount += entry.amount;
            delete queue.entries[i];
        }
        if (amount != 0 || i != queue.head) {
            queue.head = i;
            queue.total -= amount;
        }
    }

    /// @dev Empties `queue` (slashing).
    function _clear(PendingQueue storage queue) private {
        queue.head = queue.entries.length;
        queue.total = 0;
    }
}
