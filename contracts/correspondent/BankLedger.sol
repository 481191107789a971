// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICorrespondentBank} from "../interfaces/ICorrespondentBank.sol";
import {IOutbox} from "../interfaces/IOutbox.sol";
import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";
import {BankMessages} from "../libraries/BankMessages.sol";

/// @notice The owner of the route registry (an OpenZeppelin `Ownable`): the community's governance.
interface IOwnedRegistry {
    /// @notice The registry's owner.
    function owner() external view returns (address);
}

/// @title BankLedger
/// @notice The books every role of the CorrespondentBank keeps (docs/protocol.md 3.7): what we
/// hold for each peer (`Account`), what we know of our own position at each peer
/// (`Correspondent`), payout records, thresholds, prices and earned fees; who governs them; and
/// the token and registry plumbing they share. The roles are `ReserveBook`, `CreditLine`,
/// `Netting` and `DeliveryFees`; `CorrespondentBank` joins them into the one deployed bank.
/// @dev Token amounts held or moved on this chain are in local token units; amounts that travel in
/// messages (transfers, reports, netting, credit views) are in 18 decimals. All state lives here,
/// in one layout, so the roles are views of one set of books, not separate ledgers.
abstract contract BankLedger is ICorrespondentBank, ReentrancyGuardTransient {
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

    address internal _outbox;

    address internal _inbox;

    mapping(uint64 peer => Account) internal _accounts;

    mapping(uint64 peer => Correspondent) internal _correspondents;

    mapping(uint64 peer => Thresholds) internal _thresholds;

    mapping(bytes32 id => Payout) internal _payouts;

    mapping(uint64 peer => PeerBank) internal _peerBanks;

    /// @dev Peers governance enabled netting with (docs/protocol.md 3.7); disabled by default.
    mapping(uint64 peer => bool) internal _nettingEnabled;

    /// @dev Our delivery price for each peer's messages, published in every reserve report to it.
    mapping(uint64 peer => IOutbox.DeliveryPrice) internal _prices;

    /// @dev Delivery fees earned here and not withdrawn (local units), per deliverer.
    mapping(address deliverer => uint256) internal _earned;

    /// @dev Fees owed to a deliverer out of `origin`'s reserve that it could not cover yet (local
    /// units; counted in the origin's `pending`).
    mapping(uint64 origin => mapping(address deliverer => uint256)) internal _feesOwed;

    /// @dev Price raises from peers' reports, waiting W before they apply.
    mapping(uint64 peer => PendingPrice) internal _pendingPrices;

    /// @notice The caller is not the registry's owner.
    error NotGovernance(address caller);

    /// @notice `peer` was never enrolled in the registry.
    error UnknownPeer(uint64 peer);

    /// @notice The token transferred less than asked (fee-on-transfer) where an exact amount is owed.
    error TransferShort(uint256 expected, uint256 received);

    /// @notice A token with more than 18 decimals cannot carry 18-decimal amounts exactly.
    error UnsupportedDecimals(uint8 decimals);

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

    /// @notice Who may set thresholds: the registry's owner (the community's timelock).
    function governance() public view returns (address) {
        return IOwnedRegistry(address(registry)).owner();
    }

    /// @dev The local Outbox and Inbox, read from the registry once it is bound, then cached (the
    /// registry binds them once and for all).
    function _localContracts() internal returns (address outbox, address inbox) {
        outbox = _outbox;
        inbox = _inbox;
        if (outbox == address(0)) {
            IRouteRegistry.LocalContracts memory bound = registry.local();
            (outbox, inbox) = (bound.outbox, bound.inbox);
            (_outbox, _inbox) = (outbox, inbox);
        }
    }

    /// @dev `peer`'s bank and token decimals, read from the registry the first time (reverts
    /// `UnknownRoute` for a peer never enrolled), then cached: an enrolled route's identity never
    /// changes (docs/protocol.md 3.1), and a report per payout should not re-read the whole record.
    function _peerBank(uint64 peer) internal returns (PeerBank memory cached) {
        cached = _peerBanks[peer];
        if (cached.bank == address(0)) {
            IRouteRegistry.Route memory peerRoute = registry.route(peer);
            cached = PeerBank(peerRoute.bank, peerRoute.settlementDecimals);
            _peerBanks[peer] = cached;
        }
    }

    /// @dev Takes up to `amount` from `from` and returns what actually arrived.
    function _pull(address from, uint256 amount) internal returns (uint256 arrived) {
        uint256 before = token.balanceOf(address(this));
        IERC20(address(token)).safeTransferFrom(from, address(this), amount);
        arrived = token.balanceOf(address(this)) - before;
    }

    /// @dev Takes exactly `amount` from `from`; reverts `TransferShort` on a fee-on-transfer token.
    function _pullExact(address from, uint256 amount) internal {
        uint256 arrived = _pull(from, amount);
        if (arrived != amount) revert TransferShort(amount, arrived);
    }

    function _scaleOf(uint8 decimals) internal pure returns (uint256) {
        if (decimals > 18) revert UnsupportedDecimals(decimals);
        return 10 ** (18 - decimals);
    }

    /// @dev Rounds an 18-decimal amount down to a whole number of units of our token and of a peer
    /// token with `peerDecimals` (the coarser of the two, as both scales are powers of ten).
    function _roundToCommonUnit(uint256 amount, uint8 peerDecimals) internal view returns (uint256) {
        uint256 peerScale = _scaleOf(peerDecimals);
        uint256 unit = peerScale > scale ? peerScale : scale;
        return amount - (amount % unit);
    }

    function _toBytes32(address account) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(account)));
    }

    /// @dev After any change to `peer`'s account: thresholds, suspension and a report when due
    /// (`CreditLine`).
    function _afterAccountChange(uint64 peer) internal virtual;

    /// @dev Sends our reserve report to `peer` (`CreditLine`).
    function _report(uint64 peer) internal virtual returns (bytes32 id);

    /// @dev Takes the delivery price a newer report from `peer` carries (`DeliveryFees`).
    function _receivePrice(
        uint64 peer,
        address outbox,
        IOutbox.DeliveryPrice memory incoming,
        address signer
    ) internal virtual;
}
