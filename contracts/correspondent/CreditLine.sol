// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ICorrespondentBank} from "../interfaces/ICorrespondentBank.sol";
import {IOutbox} from "../interfaces/IOutbox.sol";
import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";
import {BankMessages} from "../libraries/BankMessages.sol";
import {BankLedger} from "./BankLedger.sol";

/// @title CreditLine
/// @notice The credit line of the CorrespondentBank (docs/protocol.md 3.7), both ways: the reserve
/// reports we send each peer on what we hold for it (with its thresholds, top-up requests and
/// suspension), and the credit view we keep from the reports a peer sends on our reserve there,
/// which bounds what our users may send it.
abstract contract CreditLine is BankLedger {
    /// @notice A reserve report from `peer` was ignored: older than the last applied one and not
    /// lowering our credit view (nor suspending us).
    event ReportIgnored(uint64 indexed peer, uint32 nonce);

    /// @notice `floor` must not exceed `lowWater`.
    error InvalidThresholds();

    /// @inheritdoc ICorrespondentBank
    /// @dev Reverts when the route is not active (the Outbox refuses the dispatch).
    function report(uint64 peer) external nonReentrant returns (bytes32 id) {
        if (registry.status(peer) == IRouteRegistry.RouteStatus.None) revert UnknownPeer(peer);
        return _report(peer);
    }

    /// @notice Sets `peer`'s thresholds (local token units); governance only. Re-evaluates the
    /// peer's route at once: it may request a top-up, suspend or resume, and report.
    /// @param peer an enrolled peer
    /// @param reportThreshold report when `reserve − pending` moved by more than this
    /// @param lowWater request a top-up below this
    /// @param floor suspend the peer's route below this (must not exceed `lowWater`)
    function setThresholds(
        uint64 peer,
        uint256 reportThreshold,
        uint256 lowWater,
        uint256 floor
    ) external onlyGovernance nonReentrant {
        if (registry.status(peer) == IRouteRegistry.RouteStatus.None) revert UnknownPeer(peer);
        if (floor > lowWater) revert InvalidThresholds();
        _thresholds[peer] = Thresholds(reportThreshold, lowWater, floor);
        emit ThresholdsSet(peer, reportThreshold, lowWater, floor);
        _afterAccountChange(peer);
    }

    /// @inheritdoc ICorrespondentBank
    /// @dev `reserve − pending − (sent − received)` from the peer's latest report, floored at 0, and
    /// 0 while the peer reports us suspended. `sent − received` is floored at 0 too: a peer that
    /// booked more from us than we ever sent saw forged transfers, which already lowered its reserve.
    function creditView(uint64 peer) external view returns (uint256) {
        // Before the Outbox is cached no fee was ever prepaid or sent through this bank.
        return _creditView(_correspondents[peer], _outbox, peer);
    }

    /// @notice Total we ever sent to `peer` (18 decimals).
    function sent(uint64 peer) external view returns (uint256) {
        return _correspondents[peer].sent;
    }

    /// @inheritdoc ICorrespondentBank
    function suspended(uint64 peer) external view returns (bool) {
        return _accounts[peer].suspended;
    }

    /// @notice `peer`'s latest applied report on our reserve there, and its origin nonce.
    function peerReport(
        uint64 peer
    ) external view returns (BankMessages.ReserveReport memory latest, bool hasReport, uint32 nonce) {
        Correspondent storage c = _correspondents[peer];
        return (c.report, c.hasReport, c.reportNonce);
    }

    /// @notice `peer`'s thresholds (local units).
    function thresholds(uint64 peer) external view returns (Thresholds memory) {
        return _thresholds[peer];
    }

    /// @dev A newer report always applies. An older one applies only when it suspends us or lowers
    /// our credit view (a decrease never adds risk, and a forged report at a high nonce must not
    /// freeze the view against drops and suspensions: docs/protocol.md 3.7); an older resume or
    /// increase is stale. The highest applied nonce only moves forward.
    function _applyReport(
        uint64 origin,
        uint32 nonce,
        BankMessages.ReserveReport memory incoming,
        address signer
    ) internal {
        Correspondent storage c = _correspondents[origin];
        (address outbox, ) = _localContracts();
        if (c.hasReport && nonce <= c.reportNonce) {
            uint256 sentTotal = _sentTotal(c, outbox, origin);
            bool lowers = incoming.suspended || _credit(incoming, sentTotal) < _credit(c.report, sentTotal);
            if (!lowers) {
                emit ReportIgnored(origin, nonce);
                return;
            }
        } else {
            c.reportNonce = nonce;
            // Only a newer report moves the price: an older one cannot roll it back.
            _receivePrice(
                origin,
                outbox,
                IOutbox.DeliveryPrice(incoming.perGas, incoming.base, incoming.premiumPpm),
                signer
            );
        }
        c.report = incoming;
        c.hasReport = true;
        emit ReportReceived(
            origin,
            incoming.reserve,
            incoming.pending,
            incoming.received,
            incoming.suspended
        );
    }

    /// @dev After any change to `peer`'s account: request a top-up below low water, suspend below
    /// the floor, resume at or above it, and report when the suspension changed or `reserve −
    /// pending` moved by more than the report threshold. Reports only on an active route (a paused
    /// one cannot dispatch); the next change or `report` catches up.
    function _afterAccountChange(uint64 peer) internal override {
        Account storage a = _accounts[peer];
        Thresholds storage t = _thresholds[peer];
        int256 netPosition = SafeCast.toInt256(a.reserve) - SafeCast.toInt256(a.pending);
        int256 lowWater = SafeCast.toInt256(t.lowWater);
        if (netPosition < lowWater) emit TopUpRequested(peer, uint256(lowWater - netPosition));
        bool suspend = netPosition < SafeCast.toInt256(t.floor);
        bool changed = suspend != a.suspended;
        if (changed) {
            a.suspended = suspend;
            if (suspend) emit RouteSuspended(peer);
            else emit RouteResumed(peer);
        }
        int256 moved = netPosition - a.lastReportedNet;
        if (moved < 0) moved = -moved;
        if (
            (changed || uint256(moved) > t.reportThreshold) &&
            registry.status(peer) == IRouteRegistry.RouteStatus.Active
        ) {
            _report(peer);
        }
    }

    function _report(uint64 peer) internal override returns (bytes32 id) {
        Account storage a = _accounts[peer];
        a.lastReportedNet = SafeCast.toInt256(a.reserve) - SafeCast.toInt256(a.pending);
        IOutbox.DeliveryPrice memory price = _prices[peer];
        BankMessages.ReserveReport memory r = BankMessages.ReserveReport({
            reserve: a.reserve * scale,
            pending: a.pending * scale,
            received: a.received,
            suspended: a.suspended,
            perGas: price.perGas,
            base: price.base,
            premiumPpm: price.premiumPpm
        });
        (address outbox, ) = _localContracts();
        (id, ) = IOutbox(outbox).dispatchValue(
            peer,
            _toBytes32(_peerBank(peer).bank),
            0,
            BankMessages.encodeReserveReport(r)
        );
        emit ReserveReported(peer, r.reserve, r.pending, r.received, id);
    }

    function _creditView(
        Correspondent storage c,
        address outbox,
        uint64 peer
    ) internal view returns (uint256) {
        if (!c.hasReport) return 0;
        return _credit(c.report, _sentTotal(c, outbox, peer));
    }

    /// @dev What we ever sent `peer` that its reserve pays: transfers plus the delivery fees our
    /// messages carried (the Outbox counts them; a fee is paid out of our reserve there like value).
    function _sentTotal(
        Correspondent storage c,
        address outbox,
        uint64 peer
    ) internal view returns (uint256) {
        if (outbox == address(0)) return c.sent;
        return c.sent + IOutbox(outbox).feesDispatched(peer);
    }

    /// @dev Credit a report grants given our total sent: 0 when it says we are suspended.
    function _credit(BankMessages.ReserveReport memory r, uint256 sentTotal) internal pure returns (uint256) {
        if (r.suspended) return 0;
        uint256 unreflected = sentTotal > r.received ? sentTotal - r.received : 0;
        uint256 owed = r.pending + unreflected;
        return r.reserve > owed ? r.reserve - owed : 0;
    }
}
