// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ICorrespondentBank} from "../interfaces/ICorrespondentBank.sol";
import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";
import {BankLedger} from "./BankLedger.sol";

/// @title ReserveBook
/// @notice The reserve book of the CorrespondentBank (docs/protocol.md 3.7): `reserve[P]`, the
/// tokens posted here for peer P, and the incoming transfers paid from it — at delivery, or booked
/// pending when the reserve cannot pay them and paid once by `claim` or the Inbox's `retry`.
abstract contract ReserveBook is BankLedger {
    using SafeERC20 for IERC20;

    /// @notice A transfer whose amount is not a whole number of local token units was booked pending
    /// with `amountLocal` (rounded down) instead of being paid at delivery.
    event PayoutInexact(bytes32 indexed id, uint64 indexed origin, uint256 amount, uint256 amountLocal);

    /// @inheritdoc ICorrespondentBank
    /// @dev Credits what actually arrived (balance delta), so a fee-on-transfer token cannot inflate
    /// a reserve. May resume the peer's route and report to it.
    function fund(uint64 peer, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (registry.status(peer) == IRouteRegistry.RouteStatus.None) revert UnknownPeer(peer);
        uint256 arrived = _pull(msg.sender, amount);
        if (arrived == 0) revert ZeroAmount();
        _accounts[peer].reserve += arrived;
        emit Funded(peer, msg.sender, arrived);
        _afterAccountChange(peer);
    }

    /// @inheritdoc ICorrespondentBank
    /// @dev Anyone may claim; the tokens go to the payout's recipient. Reverts `NotPending` for an
    /// unknown or already paid id and `ReserveShort` while the origin's reserve cannot cover it.
    function claim(bytes32 id) external nonReentrant {
        Payout storage p = _payouts[id];
        if (p.status != PayoutStatus.Pending) revert NotPending(id);
        Account storage a = _accounts[p.origin];
        uint256 amountLocal = p.amount;
        if (a.reserve < amountLocal) revert ReserveShort(amountLocal, a.reserve);
        p.status = PayoutStatus.Paid;
        a.reserve -= amountLocal;
        a.pending -= amountLocal;
        emit Claimed(id, p.recipient, amountLocal);
        _afterAccountChange(p.origin);
        IERC20(address(token)).safeTransfer(p.recipient, amountLocal);
    }

    /// @inheritdoc ICorrespondentBank
    /// @dev For an id with no record (a fresh transfer): books `received[origin] += amount` and pays
    /// at once when `amount` is a whole number of local units and `reserve − pending` covers it
    /// (booked pending payouts come first), leaving no record; otherwise, or when the token transfer
    /// fails (a recipient the token refuses), it books a pending record instead of reverting the
    /// Inbox's batch. For a pending id (the Inbox's `retry` after `PayoutPending`) it pays it when
    /// the reserve now covers it (as `claim`, without reverting); for an id since paid it returns
    /// true and pays nothing. Exactly once: the Inbox calls it for a fresh transfer only once per
    /// message (replay bitmap; `retry` after `HandlerReverted` does not call it; after
    /// `PayoutReverted` the first call left nothing) — docs/protocol.md 3.7.
    function payout(
        uint64 origin,
        bytes32 id,
        address recipient,
        uint256 amount
    ) external nonReentrant onlyInbox returns (bool paid) {
        Payout storage p = _payouts[id];
        PayoutStatus status = p.status;
        if (status == PayoutStatus.Paid) return true;
        if (status == PayoutStatus.Pending) {
            // The id is the message's hash, so the booked origin is this call's origin.
            Account storage booked = _accounts[p.origin];
            if (booked.reserve < p.amount) return false;
            paid = _payPending(p, id, booked);
        } else {
            Account storage a = _accounts[origin];
            uint256 amountLocal = amount / scale;
            bool exact = amountLocal * scale == amount;
            a.received += amount;
            if (exact && a.reserve >= a.pending + amountLocal) {
                a.reserve -= amountLocal;
                // The settlement token is the only external call; a revert here must not block
                // the batch. Paid: no record (the common case costs no new storage slot).
                paid = IERC20(address(token)).trySafeTransfer(recipient, amountLocal);
                if (paid) {
                    emit PaidOut(id, origin, recipient, amountLocal);
                } else {
                    a.reserve += amountLocal;
                    _bookPending(p, id, a, origin, recipient, amountLocal);
                }
            } else {
                _bookPending(p, id, a, origin, recipient, amountLocal);
                if (!exact) emit PayoutInexact(id, origin, amount, amountLocal);
            }
        }
        _afterAccountChange(origin);
    }

    /// @inheritdoc ICorrespondentBank
    function reserve(uint64 peer) external view returns (uint256) {
        return _accounts[peer].reserve;
    }

    /// @inheritdoc ICorrespondentBank
    function pendingPayouts(uint64 peer) external view returns (uint256) {
        return _accounts[peer].pending;
    }

    /// @notice Total of `peer`'s transfers ever booked here, paid or pending (18 decimals).
    function received(uint64 peer) external view returns (uint256) {
        return _accounts[peer].received;
    }

    /// @notice The payout record of message `id`: status `None` for a transfer never booked pending
    /// (paid at delivery, or never delivered), else `Pending` or `Paid` (since).
    function payoutOf(bytes32 id) external view returns (Payout memory) {
        return _payouts[id];
    }

    /// @dev Books a fresh transfer pending: a record (two slots) and `pending[origin]`.
    function _bookPending(
        Payout storage p,
        bytes32 id,
        Account storage a,
        uint64 origin,
        address recipient,
        uint256 amountLocal
    ) internal {
        p.origin = origin;
        p.status = PayoutStatus.Pending;
        p.recipient = recipient;
        p.amount = amountLocal;
        a.pending += amountLocal;
        emit PayoutPending(id, origin, recipient, amountLocal);
    }

    /// @dev Pays a pending payout now (the reserve covers it); on a failed token transfer it stays
    /// pending. The record stays, marked paid, so a later call for the id pays nothing.
    function _payPending(Payout storage p, bytes32 id, Account storage a) internal returns (bool paid) {
        uint256 amountLocal = p.amount;
        p.status = PayoutStatus.Paid;
        a.reserve -= amountLocal;
        a.pending -= amountLocal;
        // The settlement token is the only external call; a revert here must not block the batch.
        paid = IERC20(address(token)).trySafeTransfer(p.recipient, amountLocal);
        if (paid) {
            emit Claimed(id, p.recipient, amountLocal);
        } else {
            p.status = PayoutStatus.Pending;
            a.reserve += amountLocal;
            a.pending += amountLocal;
        }
    }
}
