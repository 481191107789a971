// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ICorrespondentBank} from "../interfaces/ICorrespondentBank.sol";
import {IInbox} from "../interfaces/IInbox.sol";
import {IOutbox} from "../interfaces/IOutbox.sol";
import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";
import {BankLedger} from "./BankLedger.sol";

/// @title DeliveryFees
/// @notice Delivery fees and the signers' premium (docs/protocol.md 3.9): fees prepaid here for our
/// senders, the fees of each delivered batch paid out of the origin's reserve to the deliverer and
/// the signers who covered it, our delivery price published to each peer, and the delayed
/// application of a peer's price raise.
abstract contract DeliveryFees is BankLedger {
    using SafeERC20 for IERC20;

    /// @dev `PriceRaiseDropped` reason: a newer report carried another price.
    bytes32 private constant PRICE_SUPERSEDED = "superseded";

    /// @dev `PriceRaiseDropped` reason: a signer of the raise's checkpoint left our mirror.
    bytes32 private constant PRICE_SIGNER_REMOVED = "signer removed";

    /// @dev `PriceRaiseDropped` reason: a retried report (no signers known) cannot raise a price.
    bytes32 private constant PRICE_UNVOUCHED = "unvouched";

    /// @notice Most premium governance may publish: 1 % of the amount carried.
    uint32 public constant MAX_PREMIUM_PPM = 10_000;

    /// @notice Governance set our delivery price for `peer`'s messages (sent in the next report).
    event DeliveryPriceSet(uint64 indexed peer, uint96 perGas, uint96 base, uint32 premiumPpm);

    /// @notice `account` prepaid `amount` (local units) of delivery fees.
    event FeesPrepaid(address indexed account, uint256 amount);

    /// @notice The Inbox paid `deliverer` the fees of one batch from `origin`: `paid` now (local
    /// units) and `owed` booked against the reserve until it covers them.
    event FeesPaid(uint64 indexed origin, address indexed deliverer, uint256 paid, uint256 owed);

    /// @notice `deliverer` withdrew `amount` (local units) of earned fees.
    event FeesWithdrawn(address indexed deliverer, uint256 amount);

    /// @notice A premium above `MAX_PREMIUM_PPM`.
    error PremiumTooHigh(uint32 premiumPpm);

    /// @notice The quoted fee `fee` is above the caller's maximum.
    error FeeAboveMax(uint256 fee, uint256 maxFee);

    /// @inheritdoc ICorrespondentBank
    /// @dev Credits what actually arrived; the balance is kept by the Outbox, the tokens here.
    function prepayFees(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 arrived = _pull(msg.sender, amount);
        if (arrived == 0) revert ZeroAmount();
        (address outbox, ) = _localContracts();
        IOutbox(outbox).creditFees(msg.sender, arrived * scale);
        emit FeesPrepaid(msg.sender, arrived);
    }

    /// @inheritdoc ICorrespondentBank
    function withdrawEarned() external nonReentrant {
        uint256 amount = _earned[msg.sender];
        if (amount == 0) revert ZeroAmount();
        _earned[msg.sender] = 0;
        emit FeesWithdrawn(msg.sender, amount);
        IERC20(address(token)).safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc ICorrespondentBank
    /// @dev Reverts `ReserveShort` while `origin`'s reserve cannot cover the fees owed.
    function claimFees(uint64 origin) external nonReentrant {
        uint256 owed = _feesOwed[origin][msg.sender];
        if (owed == 0) revert ZeroAmount();
        Account storage a = _accounts[origin];
        if (a.reserve < owed) revert ReserveShort(owed, a.reserve);
        _feesOwed[origin][msg.sender] = 0;
        a.reserve -= owed;
        a.pending -= owed;
        _earned[msg.sender] += owed;
        emit FeesPaid(origin, msg.sender, owed, 0);
        _afterAccountChange(origin);
    }

    /// @inheritdoc ICorrespondentBank
    /// @dev The route must be active: while it is paused governance may reseed the mirror, after
    /// which the signers of a lie are gone and the raise is dropped here.
    function applyPendingPrice(uint64 peer) external nonReentrant returns (bool applied) {
        uint64 readyAt = _pendingPrices[peer].readyAt;
        if (readyAt == 0) revert NoPendingPrice(peer);
        if (block.timestamp < readyAt) revert PriceNotReady(peer, readyAt);
        if (registry.status(peer) != IRouteRegistry.RouteStatus.Active) revert PeerNotActive(peer);
        (address outbox, ) = _localContracts();
        return _applyPendingPrice(peer, outbox);
    }

    /// @notice Sets our delivery price for `peer`'s messages; governance only. It reaches `peer`
    /// in our next reserve report (sent now when the route is active), vouched like any report,
    /// and `peer`'s Outbox quotes from it (docs/protocol.md 3.9).
    /// @param peer an enrolled peer
    /// @param perGas settlement units (18 decimals) per gas of this chain
    /// @param base per-message base (18 decimals)
    /// @param premiumPpm underwriting premium on the amount carried, at most `MAX_PREMIUM_PPM`
    function setDeliveryPrice(
        uint64 peer,
        uint96 perGas,
        uint96 base,
        uint32 premiumPpm
    ) external onlyGovernance nonReentrant {
        if (registry.status(peer) == IRouteRegistry.RouteStatus.None) revert UnknownPeer(peer);
        if (premiumPpm > MAX_PREMIUM_PPM) revert PremiumTooHigh(premiumPpm);
        _prices[peer] = IOutbox.DeliveryPrice(perGas, base, premiumPpm);
        emit DeliveryPriceSet(peer, perGas, base, premiumPpm);
        if (registry.status(peer) == IRouteRegistry.RouteStatus.Active) _report(peer);
    }

    /// @inheritdoc ICorrespondentBank
    /// @dev One call per batch. Books `received[origin] += fees` (fees are counted like transfers
    /// in the origin's credit view). The premium `min(premiumBase · premiumPpm / 10^6, fees)` at our
    /// price for `origin` goes to the signers, each `premium · charge / Σ charges` (rounded down);
    /// the deliverer gets the rest, rounding included, so the shares sum to the fees exactly. Each
    /// share is paid into the earned balance while `reserve − pending` covers it, the rest booked
    /// owed (pending) for `claimFees`: one write per recipient. Moves no token.
    function payFees(
        uint64 origin,
        address deliverer,
        uint256 fees,
        uint256 premiumBase,
        address[] calldata signers,
        uint256[] calldata charges
    ) external nonReentrant onlyInbox {
        Account storage a = _accounts[origin];
        a.received += fees;
        uint256 free = a.reserve > a.pending ? a.reserve - a.pending : 0;
        uint256 rest = fees / scale;
        if (premiumBase != 0) {
            // From here `premiumBase` holds the premium itself (local units): one stack slot less.
            premiumBase = _premiumOf(origin, fees, premiumBase);
            uint256 shared;
            (shared, free) = _payPremium(a, origin, premiumBase, signers, charges, free);
            rest -= shared;
        }
        _payDeliverer(a, origin, deliverer, rest, free);
        _afterAccountChange(origin);
    }

    /// @notice Our delivery price for `peer`'s messages (what our reports publish).
    function deliveryPrice(uint64 peer) external view returns (IOutbox.DeliveryPrice memory) {
        return _prices[peer];
    }

    /// @notice `peer`'s pending price raise: the price, when it may apply (0: none) and the signer
    /// of the checkpoint that carried it who must still be mirrored then.
    function pendingPrice(uint64 peer) external view returns (PendingPrice memory) {
        return _pendingPrices[peer];
    }

    /// @notice Delivery fees and underwriting premiums `deliverer` (a deliverer or an attester)
    /// earned here and has not withdrawn (local units).
    function earned(address deliverer) external view returns (uint256) {
        return _earned[deliverer];
    }

    /// @notice Fees owed to `deliverer` out of `origin`'s reserve, waiting for it (local units).
    function feesOwed(uint64 origin, address deliverer) external view returns (uint256) {
        return _feesOwed[origin][deliverer];
    }

    /// @dev The deliverer's part of a batch's fees (`_payFee`), logged `FeesPaid`.
    function _payDeliverer(
        Account storage a,
        uint64 origin,
        address deliverer,
        uint256 amount,
        uint256 free
    ) internal {
        (uint256 paid, uint256 owed) = _payFee(a, origin, deliverer, amount, free);
        emit FeesPaid(origin, deliverer, paid, owed);
    }

    /// @dev The premium of a batch from `origin` (local units): our rate for `origin` on
    /// `premiumBase`, at most the batch's `fees` (both 18 decimals).
    function _premiumOf(uint64 origin, uint256 fees, uint256 premiumBase) internal view returns (uint256) {
        uint256 premium = (premiumBase * _prices[origin].premiumPpm) / 1e6;
        return (premium < fees ? premium : fees) / scale;
    }

    /// @dev Shares `premium` (local units) among `signers` in proportion to `charges`, each share
    /// paid out of `free` or booked owed; returns the total shared (rounded down) and what is left
    /// of `free`.
    function _payPremium(
        Account storage a,
        uint64 origin,
        uint256 premium,
        address[] calldata signers,
        uint256[] calldata charges,
        uint256 free
    ) internal returns (uint256 shared, uint256 left) {
        left = free;
        uint256 charged;
        for (uint256 i = 0; i < charges.length; ++i) charged += charges[i];
        if (charged == 0) return (0, left);
        for (uint256 i = 0; i < charges.length; ++i) {
            uint256 share = (premium * charges[i]) / charged;
            if (share == 0) continue;
            shared += share;
            (uint256 paid, uint256 owed) = _payFee(a, origin, signers[i], share, left);
            left -= paid;
            emit PremiumPaid(origin, signers[i], paid, owed);
        }
    }

    /// @dev Pays `amount` (local units) of `origin`'s fees to `account`'s earned balance out of
    /// `free` (`origin`'s reserve − pending), booking what `free` lacks owed and pending.
    function _payFee(
        Account storage a,
        uint64 origin,
        address account,
        uint256 amount,
        uint256 free
    ) internal returns (uint256 paid, uint256 owed) {
        paid = amount < free ? amount : free;
        owed = amount - paid;
        a.reserve -= paid;
        _earned[account] += paid;
        if (owed != 0) {
            a.pending += owed;
            _feesOwed[origin][account] += owed;
        }
    }

    /// @dev The price of a newer report from `peer` (docs/protocol.md 3.9, "Price delay"). Whatever
    /// it lowers applies at once (componentwise minimum with the price in force: a lower price never
    /// makes a sender pay more). A raise waits: it is kept pending with a signer of the checkpoint
    /// that carried it and applies W (our Inbox's exposure window) after the first report carrying
    /// it, only if that signer is still mirrored then. Every signer of a false checkpoint is a liar,
    /// out of the mirror within W (theorem A2), so a lie never raises what our senders pay. A newer
    /// report with another price supersedes the raise; one with the same price keeps its delay.
    function _receivePrice(
        uint64 peer,
        address outbox,
        IOutbox.DeliveryPrice memory incoming,
        address signer
    ) internal override {
        IOutbox.DeliveryPrice memory current = IOutbox(outbox).price(peer);
        IOutbox.DeliveryPrice memory lowered = IOutbox.DeliveryPrice(
            incoming.perGas < current.perGas ? incoming.perGas : current.perGas,
            incoming.base < current.base ? incoming.base : current.base,
            incoming.premiumPpm < current.premiumPpm ? incoming.premiumPpm : current.premiumPpm
        );
        if (!_samePrice(lowered, current)) IOutbox(outbox).setPrice(peer, lowered);
        PendingPrice storage pending = _pendingPrices[peer];
        bool hasPending = pending.readyAt != 0;
        if (hasPending && _samePrice(pending.price, incoming)) {
            // The same raise again: its delay runs from the first report that carried it.
            if (block.timestamp >= pending.readyAt) _applyPendingPrice(peer, outbox);
            return;
        }
        if (hasPending) _dropPendingPrice(peer, PRICE_SUPERSEDED);
        if (_samePrice(incoming, lowered)) return; // nothing to raise
        if (signer == address(0)) {
            emit PriceRaiseDropped(peer, PRICE_UNVOUCHED);
            return;
        }
        (, address inbox) = _localContracts();
        uint64 readyAt = uint64(block.timestamp) + IInbox(inbox).exposureWindow();
        _pendingPrices[peer] = PendingPrice(incoming, readyAt, signer);
        emit PriceRaisePending(peer, incoming.perGas, incoming.base, incoming.premiumPpm, readyAt, signer);
    }

    /// @dev Applies `peer`'s ready raise when the signer of its checkpoint is still mirrored by our
    /// Inbox; drops it otherwise (a proven lie: its signers were removed within W).
    function _applyPendingPrice(uint64 peer, address outbox) internal returns (bool applied) {
        PendingPrice memory pending = _pendingPrices[peer];
        (, address inbox) = _localContracts();
        if (IInbox(inbox).mirroredStake(peer, pending.signer) == 0) {
            _dropPendingPrice(peer, PRICE_SIGNER_REMOVED);
            return false;
        }
        IOutbox.DeliveryPrice memory price = pending.price;
        delete _pendingPrices[peer];
        IOutbox(outbox).setPrice(peer, price);
        emit PriceRaiseApplied(peer, price.perGas, price.base, price.premiumPpm);
        return true;
    }

    function _dropPendingPrice(uint64 peer, bytes32 reason) internal {
        delete _pendingPrices[peer];
        emit PriceRaiseDropped(peer, reason);
    }

    function _samePrice(
        IOutbox.DeliveryPrice memory x,
        IOutbox.DeliveryPrice memory y
    ) internal pure returns (bool) {
        return x.perGas == y.perGas && x.base == y.base && x.premiumPpm == y.premiumPpm;
    }
}
