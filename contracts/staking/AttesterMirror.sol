// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IInbox} from "../interfaces/IInbox.sol";
import {StakeReport} from "../libraries/StakeReport.sol";

/// @title AttesterMirror
/// @notice The mirrored attester set of every enrolled origin and the coverage accounting of the
/// stake that vouches for incoming batches (docs/protocol.md 3.5). Inherited by the Inbox.
/// @dev Per (origin, attester) the state is:
/// - one record slot: mirrored stake (18 decimals) and the next report nonce that may apply;
/// - one exposure head slot: the latest bucket epoch charged and the running sum of the live buckets;
/// - a ring of `BUCKETS + 1` bucket slots `(epoch, amount)`, indexed by `epoch % (BUCKETS + 1)`.
/// Exposure is the sum of the buckets of the current epoch and the `BUCKETS` before it, which always
/// spans at least the exposure window W, so the value vouched for within any window of length W never
/// exceeds the mirrored stake (invariant 3). The running sum avoids reading all nine buckets: moving
/// the head from epoch h to e only needs the ring slots of epochs h+1..e, which are exactly the slots
/// of the buckets that expire (and none at all once e ≥ h + 9).
abstract contract AttesterMirror {
    /// @notice Number of buckets the exposure window is divided into.
    uint256 public constant BUCKETS = 8;
    /// @dev Ring size: the current bucket plus the `BUCKETS` before it.
    uint256 private constant RING = BUCKETS + 1;

    /// @notice `StakeReportIgnored` reason: the report is not newer than the last applied one and
    /// does not lower the mirror.
    bytes32 public constant REPORT_STALE = "stale";
    /// @notice `StakeReportIgnored` reason: the body is not a well-formed stake report.
    bytes32 public constant REPORT_MALFORMED = "malformed";

    /// @dev The exposure window W in seconds (the Inbox exposes it as `exposureWindow()`).
    uint32 internal immutable _exposureWindow;
    /// @dev Length of one exposure bucket, W / BUCKETS seconds.
    uint32 private immutable _bucketLength;

    /// @dev Mirrored stake and the smallest origin nonce an increase must have (highest applied + 1).
    struct MirrorRecord {
        uint224 stake;
        uint32 nextReportNonce;
    }

    /// @dev Latest charged bucket epoch and the sum of the buckets live at that epoch.
    struct ExposureHead {
        uint32 epoch;
        uint224 windowSum;
    }

    /// @dev Value charged in one bucket epoch.
    struct Bucket {
        uint32 epoch;
        uint224 amount;
    }

    /// @notice The exposure window is zero or not a multiple of `BUCKETS` seconds.
    error InvalidExposureWindow(uint32 exposureWindow);
    /// @notice The initial attester and stake lists differ in length.
    error MirrorLengthMismatch(uint256 attesters, uint256 stakes);
    /// @notice The initial attester list holds the zero address.
    error ZeroAttester();
    /// @notice The initial attester list names an attester twice.
    error DuplicateAttester(address attester);

    mapping(uint64 origin => bool) private _mirrorInitialized;
    mapping(uint64 origin => mapping(address attester => MirrorRecord)) private _records;
    mapping(uint64 origin => mapping(address attester => ExposureHead)) private _heads;
    mapping(uint64 origin => mapping(address attester => Bucket[RING])) private _rings;
    /// @dev Sum of the mirrored stake of every attester of the origin: the quorum's denominator.
    mapping(uint64 origin => uint256) private _totalStake;
    /// @dev Policy coverage (what recipients' own policies demand beyond the route's default),
    /// per origin, kept in the same buckets as an attester's exposure, so "live" means the same.
    mapping(uint64 origin => ExposureHead) private _policyHeads;
    mapping(uint64 origin => Bucket[RING]) private _policyRings;

    /// @param exposureWindow_ The window W in seconds; a non-zero multiple of `BUCKETS`.
    constructor(uint32 exposureWindow_) {
        if (exposureWindow_ == 0 || exposureWindow_ % BUCKETS != 0)
            revert InvalidExposureWindow(exposureWindow_);
        _exposureWindow = exposureWindow_;
        _bucketLength = uint32(exposureWindow_ / BUCKETS);
    }

    /// @dev Seeds the mirror of `origin` from the trusted enrollment snapshot, once per origin.
    function _initializeMirror(
        uint64 origin,
        address[] calldata attesters,
        uint256[] calldata stakes
    ) internal {
        if (_mirrorInitialized[origin]) revert IInbox.MirrorAlreadyInitialized(origin);
        if (attesters.length != stakes.length) revert MirrorLengthMismatch(attesters.length, stakes.length);
        _mirrorInitialized[origin] = true;
        mapping(address => MirrorRecord) storage records = _records[origin];
        uint256 total;
        for (uint256 i = 0; i < attesters.length; ++i) {
            address attester = attesters[i];
            if (attester == address(0)) revert ZeroAttester();
            if (records[attester].stake != 0) revert DuplicateAttester(attester);
            records[attester].stake = SafeCast.toUint224(stakes[i]);
            total += stakes[i];
        }
        _totalStake[origin] = total;
        emit IInbox.MirrorInitialized(origin, attesters, stakes);
    }

    /// @dev Governance recovery (the caller checks the registry and the paused route): sets each
    /// listed attester's stake from a trusted snapshot (0 removes it) and raises its next report
    /// nonce to at least `fromNonce`. Exposure already charged stays charged.
    function _reseedMirror(
        uint64 origin,
        address[] calldata attesters,
        uint256[] calldata stakes,
        uint32 fromNonce
    ) internal {
        if (!_mirrorInitialized[origin]) revert IInbox.MirrorNotInitialized(origin);
        if (attesters.length != stakes.length) revert MirrorLengthMismatch(attesters.length, stakes.length);
        mapping(address => MirrorRecord) storage records = _records[origin];
        uint256 total = _totalStake[origin];
        for (uint256 i = 0; i < attesters.length; ++i) {
            address attester = attesters[i];
            if (attester == address(0)) revert ZeroAttester();
            MirrorRecord memory record = records[attester];
            total = total - record.stake + stakes[i];
            record.stake = SafeCast.toUint224(stakes[i]);
            if (record.nextReportNonce < fromNonce) record.nextReportNonce = fromNonce;
            records[attester] = record;
        }
        _totalStake[origin] = total;
        emit IInbox.MirrorReseeded(origin, attesters, stakes, fromNonce);
    }

    /// @dev Whether the mirror of `origin` was seeded.
    function _isMirrorInitialized(uint64 origin) internal view returns (bool) {
        return _mirrorInitialized[origin];
    }

    /// @dev Reverts `StakeReportNeedsQuorum` unless `signerStake` is more than half of `origin`'s
    /// mirrored total: a mirror changes only with a majority of the stake it holds, so no coalition
    /// below half can add, pump or wipe an entry (docs/protocol.md 3.5).
    function _requireMirrorQuorum(uint64 origin, uint256 signerStake) internal view {
        uint256 total = _totalStake[origin];
        if (signerStake * 2 <= total) revert IInbox.StakeReportNeedsQuorum(signerStake, total);
    }

    /// @dev Sum of the mirrored stake of `origin`'s attesters.
    function _totalMirroredStake(uint64 origin) internal view returns (uint256) {
        return _totalStake[origin];
    }

    /// @dev Charges `amount` of policy coverage; reverts `PolicyCoverageExhausted` when the policy
    /// coverage live at once (charged within the current bucket and the `BUCKETS` before it, the
    /// span an exposure stays charged) would exceed half of the mirrored total. So recipients'
    /// self-chosen coverage never holds more than half of the signers' capacity at any moment,
    /// however it is timed (docs/protocol.md 3.5, "Policy coverage").
    function _chargePolicyCoverage(uint64 origin, uint256 amount) internal {
        ExposureHead storage head = _policyHeads[origin];
        Bucket[RING] storage ring = _policyRings[origin];
        uint32 epoch = _currentEpoch();
        uint256 live = _liveSum(head, ring, epoch);
        uint256 limit = _totalStake[origin] / 2;
        uint256 available = live >= limit ? 0 : limit - live;
        if (amount > available) revert IInbox.PolicyCoverageExhausted(amount, available);
        _addToBucket(head, ring, epoch, live, amount);
    }

    /// @dev Policy coverage still available to `origin`'s recipients now.
    function _policyCoverageAvailable(uint64 origin) internal view returns (uint256) {
        uint256 live = _liveSum(_policyHeads[origin], _policyRings[origin], _currentEpoch());
        uint256 limit = _totalStake[origin] / 2;
        return live >= limit ? 0 : limit - live;
    }

    /// @dev Applies a stake report from `origin`'s StakingHub (the caller checks the sender): when it
    /// is newer than the highest applied one for that attester, or whatever its nonce when it lowers
    /// the mirror (a decrease never adds risk, and a forged report at a high nonce must not make a
    /// slashed attester's zero report stale: docs/protocol.md 3.5). An older increase is ignored as
    /// stale, so out-of-order delivery never raises the mirror back; the highest applied nonce only
    /// moves forward. A malformed body is ignored too (never blocks a batch).
    function _applyStakeReport(uint64 origin, bytes calldata body, uint32 reportNonce) internal {
        (bool ok, address attester, uint256 allocation) = StakeReport.tryDecode(body);
        if (!ok) {
            emit IInbox.StakeReportIgnored(origin, attester, reportNonce, REPORT_MALFORMED);
            return;
        }
        MirrorRecord storage record = _records[origin][attester];
        if (reportNonce < record.nextReportNonce) {
            if (allocation >= record.stake) {
                emit IInbox.StakeReportIgnored(origin, attester, reportNonce, REPORT_STALE);
                return;
            }
            // An older decrease: applied, the highest applied nonce stays.
            _totalStake[origin] = _totalStake[origin] - record.stake + allocation;
            record.stake = uint224(allocation); // allocation < stake < 2^224
            emit IInbox.MirrorUpdated(origin, attester, allocation, reportNonce);
            return;
        }
        // nonce < 2^32 - 1 (Outbox capacity), so nonce + 1 fits.
        _totalStake[origin] = _totalStake[origin] - record.stake + allocation;
        (record.stake, record.nextReportNonce) = (SafeCast.toUint224(allocation), reportNonce + 1);
        emit IInbox.MirrorUpdated(origin, attester, allocation, reportNonce);
    }

    /// @dev Charges `valueAtRisk` to `signers`' free capacity, greedily in the given order; reverts
    /// `InsufficientCoverage` when their summed free capacity is short. Zero writes nothing. When
    /// `charges` is not empty (one slot per signer) it receives what each signer was charged: the
    /// batch's premium is shared in proportion (docs/protocol.md 3.9).
    function _chargeCoverage(
        uint64 origin,
        address[] memory signers,
        uint256 valueAtRisk,
        uint256[] memory charges
    ) internal {
        if (valueAtRisk == 0) return;
        uint32 epoch = _currentEpoch();
        uint256 remaining = valueAtRisk;
        uint256 capacity;
        bool record = charges.length != 0;
        for (uint256 i = 0; i < signers.length && remaining != 0; ++i) {
            (uint256 free, uint256 charge) = _chargeSigner(origin, signers[i], epoch, remaining);
            capacity += free;
            remaining -= charge;
            if (record) charges[i] = charge;
        }
        if (remaining != 0) revert IInbox.InsufficientCoverage(valueAtRisk, capacity);
    }

    /// @dev Charges `signer` min(free capacity, `remaining`) in bucket `epoch`; returns both.
    function _chargeSigner(
        uint64 origin,
        address signer,
        uint32 epoch,
        uint256 remaining
    ) private returns (uint256 free, uint256 charge) {
        uint256 stake = _records[origin][signer].stake;
        ExposureHead storage head = _heads[origin][signer];
        Bucket[RING] storage ring = _rings[origin][signer];
        uint256 live = _liveSum(head, ring, epoch);
        if (live >= stake) return (0, 0);
        free = stake - live;
        charge = free < remaining ? free : remaining;

        _addToBucket(head, ring, epoch, live, charge);
        emit IInbox.CoverageCharged(origin, signer, charge);
    }

    /// @dev Adds `amount` to the bucket of `epoch` and moves the head there with the live sum
    /// `live + amount`. Callers keep `live + amount` within a mirrored stake or total (< 2^224 per
    /// attester; the total of all attesters is checked by SafeCast).
    function _addToBucket(
        ExposureHead storage head,
        Bucket[RING] storage ring,
        uint32 epoch,
        uint256 live,
        uint256 amount
    ) private {
        Bucket storage bucket = ring[epoch % RING];
        Bucket memory current = bucket;
        if (current.epoch == epoch) {
            bucket.amount = SafeCast.toUint224(current.amount + amount);
        } else {
            (bucket.epoch, bucket.amount) = (epoch, SafeCast.toUint224(amount));
        }
        (head.epoch, head.windowSum) = (epoch, SafeCast.toUint224(live + amount));
    }

    /// @dev Stake `attester` allocated to this chain on `origin`, as last reported (18 decimals).
    function _mirroredStake(uint64 origin, address attester) internal view returns (uint256) {
        return _records[origin][attester].stake;
    }

    /// @dev Value `attester` vouched for within the current bucket and the `BUCKETS` before it.
    function _exposure(uint64 origin, address attester) internal view returns (uint256) {
        return _liveSum(_heads[origin][attester], _rings[origin][attester], _currentEpoch());
    }

    /// @dev Mirrored stake minus exposure, floored at zero.
    function _freeCapacity(uint64 origin, address attester) internal view returns (uint256) {
        uint256 stake = _records[origin][attester].stake;
        uint256 live = _exposure(origin, attester);
        return live >= stake ? 0 : stake - live;
    }

    /// @dev Index of the bucket that holds the current block time.
    function _currentEpoch() private view returns (uint32) {
        return uint32(block.timestamp / _bucketLength);
    }

    /// @dev Sum of the buckets live at `epoch` (epochs `epoch - BUCKETS .. epoch`): the head's sum minus
    /// the buckets that expired since the head's epoch. The bucket of epoch `x` that expires when
    /// moving to `x + RING` shares its ring slot, so only slots of epochs head+1..epoch are read.
    function _liveSum(
        ExposureHead storage headSlot,
        Bucket[RING] storage ring,
        uint32 epoch
    ) private view returns (uint256 sum) {
        ExposureHead memory head = headSlot;
        sum = head.windowSum;
        if (sum == 0 || epoch == head.epoch) return sum;
        if (uint256(epoch) >= uint256(head.epoch) + RING) return 0;
        for (uint256 e = uint256(head.epoch) + 1; e <= epoch; ++e) {
            Bucket memory expired = ring[e % RING];
            if (uint256(expired.epoch) + RING == e) sum -= expired.amount;
        }
    }
}
