// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ICorrespondentBank} from "../interfaces/ICorrespondentBank.sol";
import {IInbox} from "../interfaces/IInbox.sol";
import {IOutbox} from "../interfaces/IOutbox.sol";
import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";
import {BankMessages} from "../libraries/BankMessages.sol";

/// @notice The owner of the route registry (an OpenZeppelin `Ownable`): the community's governance.
interface IOwnedRegistry {
    /// @notice The registry's owner.
    function owner() external view returns (address);
}

/// @title CorrespondentBank
/// @notice Correspondent accounts of one chain (docs/protocol.md 3.7). As the holder, it keeps
/// `reserve[P]`, tokens posted here for peer P, pays P's incoming transfers from it (or books them
/// pending), and reports it to P. As the correspondent of P, it keeps the settlement pool of what
/// our users sent to P and our credit view of our reserve at P, and refuses a send P could not pay.
/// @dev Token amounts held or moved on this chain are in local token units; amounts that travel in
/// messages (transfers, reports, netting, credit views) are in 18 decimals. Governance (the
/// registry's owner) only sets thresholds: no function lets anyone move tokens except as a payout
/// of a delivered message, a claim of a pending payout, or netting answered by the peer.
contract CorrespondentBank is ICorrespondentBank, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice State of a payout record. Only a transfer that could not be paid at delivery gets a
    /// record (`Pending`, then `Paid` once claimed or retried); a transfer paid at delivery leaves
    /// none (`None`): the Inbox's replay bitmap and failure kinds make it call `payout` for a fresh
    /// transfer once (docs/protocol.md 3.7).
    enum PayoutStatus {
        None,
        Pending,
        Paid
    }

    /// @notice A payout booked pending for the incoming transfer with a given message id.
    /// @param origin the chain whose reserve pays it
    /// @param status pending or (since) paid
    /// @param recipient who receives the tokens
    /// @param amount local token units (the 18-decimal amount rounded down)
    struct Payout {
        uint64 origin;
        PayoutStatus status;
        address recipient;
        uint256 amount;
    }

    /// @notice Per-peer thresholds set by governance, in local token units.
    /// @param reportThreshold report when `reserve − pending` moved by more than this since the last
    /// report (0: on every change)
    /// @param lowWater below this, `TopUpRequested`
    /// @param floor below this, the peer's route is suspended (it must stop sending)
    struct Thresholds {
        uint256 reportThreshold;
        uint256 lowWater;
        uint256 floor;
    }

    /// @notice What we hold for a peer (we are its correspondent here).
    struct Account {
        uint256 reserve; // local units
        uint256 pending; // local units, booked and not paid
        uint256 received; // 18 decimals, every transfer from the peer ever booked (paid or pending)
        int256 lastReportedNet; // local units, reserve − pending in the last report sent
        bool suspended; // we suspended the peer's route
    }

    /// @notice What we know of our own position at a peer.
    struct Correspondent {
        uint256 pool; // local units: tokens our users sent to the peer, not locked for netting
        uint256 nettingLocked; // local units: pool locked by our netting request in flight
        uint256 sent; // 18 decimals: total we ever sent to the peer
        BankMessages.ReserveReport report; // the peer's latest report on our reserve there
        bool hasReport;
        uint32 reportNonce; // origin nonce of the latest applied report
    }

    /// @notice A delivery price raise from a peer's newer reserve report, waiting for the exposure
    /// window W of our Inbox (docs/protocol.md 3.9, "Price delay").
    /// @param price the raised price, as the report carried it
    /// @param readyAt when it may apply (0: no raise pending)
    /// @param signer a signer of the checkpoint that carried it (the first); it must still be
    /// mirrored then. Every signer of a false checkpoint is a liar, removed within W (theorem A2).
    struct PendingPrice {
        IOutbox.DeliveryPrice price;
        uint64 readyAt;
        address signer;
    }

    /// @notice What the bank needs of a peer's route record: both fields are fixed at enrollment.
    struct PeerBank {
        address bank; // the peer's CorrespondentBank (recipient of our bank messages)
        uint8 decimals; // the peer's settlement-token decimals
    }

    /// @notice The local route registry: routes, local contracts and the governance owner.
    IRouteRegistry public immutable registry;
    /// @inheritdoc ICorrespondentBank
    IERC20Metadata public immutable token;
    /// @inheritdoc ICorrespondentBank
    uint256 public immutable scale;

    address private _outbox;
    address private _inbox;

    mapping(uint64 peer => Account) private _accounts;
    mapping(uint64 peer => Correspondent) private _correspondents;
    mapping(uint64 peer => Thresholds) private _thresholds;
    mapping(bytes32 id => Payout) private _payouts;
    mapping(uint64 peer => PeerBank) private _peerBanks;
    /// @dev Peers governance enabled netting with (docs/protocol.md 3.7); disabled by default.
    mapping(uint64 peer => bool) private _nettingEnabled;
    /// @dev Our delivery price for each peer's messages, published in every reserve report to it.
    mapping(uint64 peer => IOutbox.DeliveryPrice) private _prices;
    /// @dev Delivery fees earned here and not withdrawn (local units), per deliverer.
    mapping(address deliverer => uint256) private _earned;
    /// @dev Fees owed to a deliverer out of `origin`'s reserve that it could not cover yet (local
    /// units; counted in the origin's `pending`).
    mapping(uint64 origin => mapping(address deliverer => uint256)) private _feesOwed;

    /// @dev Price raises from peers' reports, waiting W before they apply.
    mapping(uint64 peer => PendingPrice) private _pendingPrices;

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

    /// @notice A transfer whose amount is not a whole number of local token units was booked pending
    /// with `amountLocal` (rounded down) instead of being paid at delivery.
    event PayoutInexact(bytes32 indexed id, uint64 indexed origin, uint256 amount, uint256 amountLocal);
    /// @notice A reserve report from `peer` was ignored: older than the last applied one and not
    /// lowering our credit view (nor suspending us).
    event ReportIgnored(uint64 indexed peer, uint32 nonce);
    /// @notice Governance enabled or disabled netting with `peer`.
    event NettingSet(uint64 indexed peer, bool enabled);
    /// @notice A netting request from `peer` was answered with 0: netting with it is disabled.
    event NettingDeclined(uint64 indexed peer, uint256 request);
    /// @notice A netting reply arrived while no netting request to `peer` was in flight.
    event NettingReplyIgnored(uint64 indexed peer, uint256 amount);

    /// @notice The caller is not the registry's owner.
    error NotGovernance(address caller);
    /// @notice `peer` was never enrolled in the registry.
    error UnknownPeer(uint64 peer);
    /// @notice The recipient is zero or the peer's bank (tokens sent there would be stranded).
    error InvalidRecipient(bytes32 recipient);
    /// @notice `floor` must not exceed `lowWater`.
    error InvalidThresholds();
    /// @notice Netting with `peer` is not enabled by governance.
    error NettingDisabled(uint64 peer);
    /// @notice A netting request to `peer` is still waiting for its reply.
    error NettingInFlight(uint64 peer);
    /// @notice The token transferred less than asked (fee-on-transfer) where an exact amount is owed.
    error TransferShort(uint256 expected, uint256 received);
    /// @notice A token with more than 18 decimals cannot carry 18-decimal amounts exactly.
    error UnsupportedDecimals(uint8 decimals);
    /// @notice A premium above `MAX_PREMIUM_PPM`.
    error PremiumTooHigh(uint32 premiumPpm);
    /// @notice The quoted fee `fee` is above the caller's maximum.
    error FeeAboveMax(uint256 fee, uint256 maxFee);
    /// @notice The body is not a bank message this contract handles.
    error UnknownBankMessage(uint8 kind);

    /// @dev Only the local Inbox, which calls the bank only for messages whose sender is the
    /// origin's bank (docs/protocol.md 3.3).
    modifier onlyInbox() {
        (, address inbox) = _localContracts();
        if (msg.sender != inbox) revert NotInbox(msg.sender);
        _;
    }

    /// @dev Only the registry's owner (the community's timelock).
    modifier onlyGovernance() {
        if (msg.sender != governance()) revert NotGovernance(msg.sender);
        _;
    }

    /// @param registry_ the local route registry (its owner governs this bank's thresholds)
    /// @param token_ the settlement token (at most 18 decimals)
    constructor(IRouteRegistry registry_, IERC20Metadata token_) {
        uint8 decimals = token_.decimals();
        if (decimals > 18) revert UnsupportedDecimals(decimals);
        registry = registry_;
        token = token_;
        scale = 10 ** (18 - decimals);
    }

    // ---------------------------------------------------------------- users

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
    /// @dev `amount` must be a whole number of units of both our token and the peer's (its
    /// `settlementDecimals`), so it is paid exactly there. Refused when the peer reported our route
    /// suspended or when it exceeds our credit view, before any token moves. The recipient's handler
    /// sees the caller as the message's sender.
    function send(
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        bytes calldata body
    ) external nonReentrant returns (bytes32 id) {
        return _send(destination, recipient, amount, body, 0);
    }

    /// @inheritdoc ICorrespondentBank
    /// @dev The fee is the Outbox's quote for the transfer body and `amount`, rounded up to a whole
    /// local unit; amount and fee are taken in one token transfer and must fit the credit view
    /// together (the fee is paid out of our reserve at the destination).
    function sendWithFee(
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        bytes calldata body,
        uint256 handlerGas,
        uint256 maxFee
    ) external nonReentrant returns (bytes32 id, uint256 fee) {
        (address outbox, ) = _localContracts();
        fee = IOutbox(outbox).quote(
            destination,
            BankMessages.TRANSFER_HEADER_LENGTH + body.length,
            handlerGas,
            amount
        );
        fee = ((fee + scale - 1) / scale) * scale;
        if (fee > maxFee) revert FeeAboveMax(fee, maxFee);
        id = _send(destination, recipient, amount, body, fee);
    }

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

    /// @dev `send` with a collected fee (0: none).
    function _send(
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        bytes calldata body,
        uint256 fee
    ) private returns (bytes32 id) {
        if (amount == 0) revert ZeroAmount();
        PeerBank memory peerBank = _peerBank(destination);
        if (amount % scale != 0 || amount % _scaleOf(peerBank.decimals) != 0) {
            revert InexactAmount(amount);
        }
        if (recipient == bytes32(0) || recipient == _toBytes32(peerBank.bank))
            revert InvalidRecipient(recipient);
        Correspondent storage c = _correspondents[destination];
        if (c.report.suspended) revert PeerSuspended(destination);
        (address outbox, ) = _localContracts();
        uint256 credit = _creditView(c, outbox, destination);
        if (amount + fee > credit) revert InsufficientCredit(amount + fee, credit);

        c.sent += amount;
        c.pool += amount / scale;
        _pullExact(msg.sender, (amount + fee) / scale);
        bytes memory transfer = BankMessages.encodeTransfer(_toBytes32(msg.sender), body);
        if (fee == 0) {
            (id, ) = IOutbox(outbox).dispatchValue(destination, recipient, amount, transfer);
        } else {
            (id, ) = IOutbox(outbox).dispatchValueWithFee(destination, recipient, amount, fee, transfer);
        }
        emit Sent(id, destination, recipient, msg.sender, amount);
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
    /// @dev Reverts when the route is not active (the Outbox refuses the dispatch).
    function report(uint64 peer) external nonReentrant returns (bytes32 id) {
        if (registry.status(peer) == IRouteRegistry.RouteStatus.None) revert UnknownPeer(peer);
        return _report(peer);
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

    /// @notice Starts netting with `peer`: locks our whole pool for it (rounded down to a whole number
    /// of units of both tokens) and asks the peer to net up to that amount. Anyone may call it.
    /// @dev One request per peer at a time; the peer's reply releases the lock (docs/protocol.md 3.7).
    /// Reverts `NettingDisabled` unless governance enabled netting with `peer`.
    /// @return id the message id of the netting request
    function net(uint64 peer) external nonReentrant returns (bytes32 id) {
        if (!_nettingEnabled[peer]) revert NettingDisabled(peer);
        Correspondent storage c = _correspondents[peer];
        if (c.nettingLocked != 0) revert NettingInFlight(peer);
        PeerBank memory peerBank = _peerBank(peer);
        uint256 amount = _roundToCommonUnit(c.pool * scale, peerBank.decimals);
        if (amount == 0) revert ZeroAmount();
        uint256 amountLocal = amount / scale;
        c.pool -= amountLocal;
        c.nettingLocked = amountLocal;
        (address outbox, ) = _localContracts();
        (id, ) = IOutbox(outbox).dispatchValue(
            peer,
            _toBytes32(peerBank.bank),
            0,
            BankMessages.encodeNettingRequest(amount)
        );
        emit NettingRequested(peer, amount, id);
    }

    // ---------------------------------------------------------------- governance

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

    /// @notice Enables or disables netting with `peer`; governance only. Netting is the one flow in
    /// which a false message moves our own pool (docs/protocol.md 3.7), so it is off by default and
    /// enabled only with peers whose attesters we accept that risk from. Moves no tokens; a
    /// request already in flight is still completed by the peer's reply.
    /// @param peer an enrolled peer
    /// @param enabled whether `net(peer)` may be called and `peer`'s netting requests are answered
    function setNetting(uint64 peer, bool enabled) external onlyGovernance {
        if (registry.status(peer) == IRouteRegistry.RouteStatus.None) revert UnknownPeer(peer);
        _nettingEnabled[peer] = enabled;
        emit NettingSet(peer, enabled);
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

    // ---------------------------------------------------------------- Inbox hooks

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

    /// @dev The deliverer's part of a batch's fees (`_payFee`), logged `FeesPaid`.
    function _payDeliverer(
        Account storage a,
        uint64 origin,
        address deliverer,
        uint256 amount,
        uint256 free
    ) private {
        (uint256 paid, uint256 owed) = _payFee(a, origin, deliverer, amount, free);
        emit FeesPaid(origin, deliverer, paid, owed);
    }

    /// @dev The premium of a batch from `origin` (local units): our rate for `origin` on
    /// `premiumBase`, at most the batch's `fees` (both 18 decimals).
    function _premiumOf(uint64 origin, uint256 fees, uint256 premiumBase) private view returns (uint256) {
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
    ) private returns (uint256 shared, uint256 left) {
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
    ) private returns (uint256 paid, uint256 owed) {
        paid = amount < free ? amount : free;
        owed = amount - paid;
        a.reserve -= paid;
        _earned[account] += paid;
        if (owed != 0) {
            a.pending += owed;
            _feesOwed[origin][account] += owed;
        }
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
    /// @dev Reserve report: applied when newer (origin nonce) than the last applied one, or when it
    /// lowers our credit view or suspends us whatever its nonce. Netting request: when netting with
    /// `origin` is enabled, moves `min(request, pool for origin)` from that pool into
    /// reserve[origin] and replies the amount; otherwise moves nothing and replies 0. Netting reply: moves the replied amount from the locked pool into
    /// reserve[origin] and releases the rest of the lock.
    function onBankMessage(
        uint64 origin,
        uint32 nonce,
        bytes calldata body,
        address signer
    ) external nonReentrant onlyInbox {
        uint8 kind = BankMessages.kind(body);
        if (kind == BankMessages.RESERVE_REPORT) {
            _applyReport(origin, nonce, BankMessages.decodeReserveReport(body), signer);
        } else if (kind == BankMessages.NETTING_REQUEST) {
            _answerNetting(origin, BankMessages.decodeNetting(body, BankMessages.NETTING_REQUEST));
        } else if (kind == BankMessages.NETTING_REPLY) {
            _completeNetting(origin, BankMessages.decodeNetting(body, BankMessages.NETTING_REPLY));
        } else {
            revert UnknownBankMessage(kind);
        }
    }

    /// @inheritdoc ICorrespondentBank
    /// @dev Reserve report: the increase of our credit view it would apply (0 for a decrease, or an
    /// older report, which applies only when it lowers the view). Netting request:
    /// `min(request, our pool for origin + our netting lock)` (a reply in the same batch may release
    /// the lock first), 0 when netting with `origin` is disabled. Netting reply:
    /// its amount. Reverts on a malformed or unknown body.
    function bankMessageCoverage(
        uint64 origin,
        uint32 nonce,
        bytes calldata body
    ) external view returns (uint256) {
        uint8 kind = BankMessages.kind(body);
        Correspondent storage c = _correspondents[origin];
        if (kind == BankMessages.RESERVE_REPORT) {
            BankMessages.ReserveReport memory incoming = BankMessages.decodeReserveReport(body);
            if (c.hasReport && nonce <= c.reportNonce) return 0;
            uint256 sentTotal = _sentTotal(c, _outbox, origin);
            uint256 before = c.hasReport ? _credit(c.report, sentTotal) : 0;
            uint256 afterwards = _credit(incoming, sentTotal);
            return afterwards > before ? afterwards - before : 0;
        } else if (kind == BankMessages.NETTING_REQUEST) {
            uint256 request = BankMessages.decodeNetting(body, BankMessages.NETTING_REQUEST);
            if (!_nettingEnabled[origin]) return 0;
            // The pool as it can be when the request executes: a reply earlier in the same batch
            // may release our lock into it, and coverage is measured before the batch runs.
            uint256 available = (c.pool + c.nettingLocked) * scale;
            return request < available ? request : available;
        } else if (kind == BankMessages.NETTING_REPLY) {
            return BankMessages.decodeNetting(body, BankMessages.NETTING_REPLY);
        }
        revert UnknownBankMessage(kind);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ICorrespondentBank
    function reserve(uint64 peer) external view returns (uint256) {
        return _accounts[peer].reserve;
    }

    /// @inheritdoc ICorrespondentBank
    /// @dev `reserve − pending − (sent − received)` from the peer's latest report, floored at 0, and
    /// 0 while the peer reports us suspended. `sent − received` is floored at 0 too: a peer that
    /// booked more from us than we ever sent saw forged transfers, which already lowered its reserve.
    function creditView(uint64 peer) external view returns (uint256) {
        // Before the Outbox is cached no fee was ever prepaid or sent through this bank.
        return _creditView(_correspondents[peer], _outbox, peer);
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

    /// @notice Our settlement pool for `peer` (local units), not counting a netting lock.
    function pool(uint64 peer) external view returns (uint256) {
        return _correspondents[peer].pool;
    }

    /// @notice Part of our pool for `peer` locked by a netting request in flight (local units).
    function nettingLocked(uint64 peer) external view returns (uint256) {
        return _correspondents[peer].nettingLocked;
    }

    /// @inheritdoc ICorrespondentBank
    function pendingPayouts(uint64 peer) external view returns (uint256) {
        return _accounts[peer].pending;
    }

    /// @notice Total of `peer`'s transfers ever booked here, paid or pending (18 decimals).
    function received(uint64 peer) external view returns (uint256) {
        return _accounts[peer].received;
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

    /// @notice The payout record of message `id`: status `None` for a transfer never booked pending
    /// (paid at delivery, or never delivered), else `Pending` or `Paid` (since).
    function payoutOf(bytes32 id) external view returns (Payout memory) {
        return _payouts[id];
    }

    /// @notice Whether governance enabled netting with `peer`.
    function nettingEnabled(uint64 peer) external view returns (bool) {
        return _nettingEnabled[peer];
    }

    /// @notice `peer`'s thresholds (local units).
    function thresholds(uint64 peer) external view returns (Thresholds memory) {
        return _thresholds[peer];
    }

    /// @notice Who may set thresholds: the registry's owner (the community's timelock).
    function governance() public view returns (address) {
        return IOwnedRegistry(address(registry)).owner();
    }

    // ---------------------------------------------------------------- internals

    /// @dev Books a fresh transfer pending: a record (two slots) and `pending[origin]`.
    function _bookPending(
        Payout storage p,
        bytes32 id,
        Account storage a,
        uint64 origin,
        address recipient,
        uint256 amountLocal
    ) private {
        p.origin = origin;
        p.status = PayoutStatus.Pending;
        p.recipient = recipient;
        p.amount = amountLocal;
        a.pending += amountLocal;
        emit PayoutPending(id, origin, recipient, amountLocal);
    }

    /// @dev Pays a pending payout now (the reserve covers it); on a failed token transfer it stays
    /// pending. The record stays, marked paid, so a later call for the id pays nothing.
    function _payPending(Payout storage p, bytes32 id, Account storage a) private returns (bool paid) {
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

    /// @dev A newer report always applies. An older one applies only when it suspends us or lowers
    /// our credit view (a decrease never adds risk, and a forged report at a high nonce must not
    /// freeze the view against drops and suspensions: docs/protocol.md 3.7); an older resume or
    /// increase is stale. The highest applied nonce only moves forward.
    function _applyReport(
        uint64 origin,
        uint32 nonce,
        BankMessages.ReserveReport memory incoming,
        address signer
    ) private {
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
    ) private {
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
    function _applyPendingPrice(uint64 peer, address outbox) private returns (bool applied) {
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

    function _dropPendingPrice(uint64 peer, bytes32 reason) private {
        delete _pendingPrices[peer];
        emit PriceRaiseDropped(peer, reason);
    }

    function _samePrice(
        IOutbox.DeliveryPrice memory x,
        IOutbox.DeliveryPrice memory y
    ) private pure returns (bool) {
        return x.perGas == y.perGas && x.base == y.base && x.premiumPpm == y.premiumPpm;
    }

    function _answerNetting(uint64 origin, uint256 request) private {
        Correspondent storage c = _correspondents[origin];
        PeerBank memory peerBank = _peerBank(origin);
        (address outbox, ) = _localContracts();
        if (!_nettingEnabled[origin]) {
            // Move nothing; the reply of 0 still releases the requester's lock.
            emit NettingDeclined(origin, request);
            IOutbox(outbox).dispatchValue(
                origin,
                _toBytes32(peerBank.bank),
                0,
                BankMessages.encodeNettingReply(0)
            );
            return;
        }
        uint256 available = c.pool * scale;
        uint256 amount = _roundToCommonUnit(request < available ? request : available, peerBank.decimals);
        uint256 amountLocal = amount / scale;
        c.pool -= amountLocal;
        _accounts[origin].reserve += amountLocal;
        emit Netted(origin, amount);
        // Always reply, even with 0: the reply releases the requester's lock.
        IOutbox(outbox).dispatchValue(
            origin,
            _toBytes32(peerBank.bank),
            0,
            BankMessages.encodeNettingReply(amount)
        );
        _afterAccountChange(origin);
    }

    function _completeNetting(uint64 origin, uint256 amount) private {
        Correspondent storage c = _correspondents[origin];
        uint256 locked = c.nettingLocked;
        if (locked == 0) {
            emit NettingReplyIgnored(origin, amount);
            return;
        }
        uint256 amountLocal = amount / scale;
        if (amountLocal > locked) amountLocal = locked;
        c.nettingLocked = 0;
        c.pool += locked - amountLocal;
        _accounts[origin].reserve += amountLocal;
        emit Netted(origin, amountLocal * scale);
        _afterAccountChange(origin);
    }

    /// @dev After any change to `peer`'s account: request a top-up below low water, suspend below
    /// the floor, resume at or above it, and report when the suspension changed or `reserve −
    /// pending` moved by more than the report threshold. Reports only on an active route (a paused
    /// one cannot dispatch); the next change or `report` catches up.
    function _afterAccountChange(uint64 peer) private {
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

    function _report(uint64 peer) private returns (bytes32 id) {
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
    ) private view returns (uint256) {
        if (!c.hasReport) return 0;
        return _credit(c.report, _sentTotal(c, outbox, peer));
    }

    /// @dev What we ever sent `peer` that its reserve pays: transfers plus the delivery fees our
    /// messages carried (the Outbox counts them; a fee is paid out of our reserve there like value).
    function _sentTotal(Correspondent storage c, address outbox, uint64 peer) private view returns (uint256) {
        if (outbox == address(0)) return c.sent;
        return c.sent + IOutbox(outbox).feesDispatched(peer);
    }

    /// @dev Credit a report grants given our total sent: 0 when it says we are suspended.
    function _credit(BankMessages.ReserveReport memory r, uint256 sentTotal) private pure returns (uint256) {
        if (r.suspended) return 0;
        uint256 unreflected = sentTotal > r.received ? sentTotal - r.received : 0;
        uint256 owed = r.pending + unreflected;
        return r.reserve > owed ? r.reserve - owed : 0;
    }

    /// @dev Rounds an 18-decimal amount down to a whole number of units of our token and of a peer
    /// token with `peerDecimals` (the coarser of the two, as both scales are powers of ten).
    function _roundToCommonUnit(uint256 amount, uint8 peerDecimals) private view returns (uint256) {
        uint256 peerScale = _scaleOf(peerDecimals);
        uint256 unit = peerScale > scale ? peerScale : scale;
        return amount - (amount % unit);
    }

    function _scaleOf(uint8 decimals) private pure returns (uint256) {
        if (decimals > 18) revert UnsupportedDecimals(decimals);
        return 10 ** (18 - decimals);
    }

    /// @dev Takes up to `amount` from `from` and returns what actually arrived.
    function _pull(address from, uint256 amount) private returns (uint256 arrived) {
        uint256 before = token.balanceOf(address(this));
        IERC20(address(token)).safeTransferFrom(from, address(this), amount);
        arrived = token.balanceOf(address(this)) - before;
    }

    /// @dev Takes exactly `amount` from `from`; reverts `TransferShort` on a fee-on-transfer token.
    function _pullExact(address from, uint256 amount) private {
        uint256 arrived = _pull(from, amount);
        if (arrived != amount) revert TransferShort(amount, arrived);
    }

    /// @dev `peer`'s bank and token decimals, read from the registry the first time (reverts
    /// `UnknownRoute` for a peer never enrolled), then cached: an enrolled route's identity never
    /// changes (docs/protocol.md 3.1), and a report per payout should not re-read the whole record.
    function _peerBank(uint64 peer) private returns (PeerBank memory cached) {
        cached = _peerBanks[peer];
        if (cached.bank == address(0)) {
            IRouteRegistry.Route memory peerRoute = registry.route(peer);
            cached = PeerBank(peerRoute.bank, peerRoute.settlementDecimals);
            _peerBanks[peer] = cached;
        }
    }

    /// @dev The local Outbox and Inbox, read from the registry once it is bound, then cached (the
    /// registry binds them once and for all).
    function _localContracts() private returns (address outbox, address inbox) {
        outbox = _outbox;
        inbox = _inbox;
        if (outbox == address(0)) {
            IRouteRegistry.LocalContracts memory bound = registry.local();
            (outbox, inbox) = (bound.outbox, bound.inbox);
            (_outbox, _inbox) = (outbox, inbox);
        }
    }

    function _toBytes32(address account) private pure returns (bytes32) {
        return bytes32(uint256(uint160(account)));
    }
}
