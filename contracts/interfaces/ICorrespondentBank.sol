// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// @title ICorrespondentBank
/// @notice Correspondent accounts of one chain: reserves that peer communities posted here, the
/// local settlement pool behind outgoing transfers, credit views of our reserves at each peer.
interface ICorrespondentBank {
    event Funded(uint64 indexed peer, address indexed from, uint256 amount);
    event Sent(
        bytes32 indexed id,
        uint64 indexed destination,
        bytes32 indexed recipient,
        address sender,
        uint256 amount
    );
    event PaidOut(bytes32 indexed id, uint64 indexed origin, address indexed recipient, uint256 amount);
    event PayoutPending(bytes32 indexed id, uint64 indexed origin, address indexed recipient, uint256 amount);
    event Claimed(bytes32 indexed id, address indexed recipient, uint256 amount);
    event ReserveReported(
        uint64 indexed peer,
        uint256 reserve,
        uint256 pending,
        uint256 received,
        bytes32 reportId
    );
    event ReportReceived(
        uint64 indexed peer,
        uint256 reserve,
        uint256 pending,
        uint256 received,
        bool suspended
    );
    event TopUpRequested(uint64 indexed peer, uint256 deficit);
    event RouteSuspended(uint64 indexed peer);
    event RouteResumed(uint64 indexed peer);
    event ThresholdsSet(uint64 indexed peer, uint256 reportThreshold, uint256 lowWater, uint256 floor);
    event NettingRequested(uint64 indexed peer, uint256 amount, bytes32 id);
    event Netted(uint64 indexed peer, uint256 amount);
    /// @notice A newer reserve report from `peer` raised its delivery price: the raise is pending
    /// until `readyAt` (our Inbox's exposure window W later) and applies then only if `signer`, a
    /// signer of the checkpoint that carried it, is still mirrored (docs/protocol.md 3.9, "Price
    /// delay").
    event PriceRaisePending(
        uint64 indexed peer,
        uint96 perGas,
        uint96 base,
        uint32 premiumPpm,
        uint64 readyAt,
        address signer
    );
    /// @notice `peer`'s pending price raise took effect in our Outbox's quotes.
    event PriceRaiseApplied(uint64 indexed peer, uint96 perGas, uint96 base, uint32 premiumPpm);
    /// @notice `peer`'s pending price raise was dropped: `"superseded"` by a newer report,
    /// `"signer removed"` (a signer of its checkpoint left our mirror: a proven lie), or
    /// `"unvouched"` (a retried report, whose signers are unknown, cannot raise a price).
    event PriceRaiseDropped(uint64 indexed peer, bytes32 reason);
    /// @notice The Inbox paid attester `signer` its share of one batch's underwriting premium from
    /// `origin` (docs/protocol.md 3.9): `paid` now into its earned balance and `owed` booked against
    /// `origin`'s reserve (claimed with `claimFees`), local units.
    event PremiumPaid(uint64 indexed origin, address indexed signer, uint256 paid, uint256 owed);

    error InsufficientCredit(uint256 amount, uint256 credit);
    error PeerSuspended(uint64 peer);
    error InexactAmount(uint256 amount);
    error NotInbox(address caller);
    error NotPending(bytes32 id);
    error ReserveShort(uint256 needed, uint256 available);
    error ZeroAmount();
    /// @notice `peer` has no pending price raise.
    error NoPendingPrice(uint64 peer);
    /// @notice `peer`'s pending price raise applies only from `readyAt`.
    error PriceNotReady(uint64 peer, uint64 readyAt);
    /// @notice `peer`'s route is not active here (paused or never enrolled): its pending price waits.
    error PeerNotActive(uint64 peer);

    /// @notice Posts `amount` tokens (local units) into the reserve of `peer` on this chain.
    function fund(uint64 peer, uint256 amount) external;

    /// @notice Sends `amount` (18 decimals) to `recipient` on `destination`, with an optional body
    /// for the recipient's handler. Takes the tokens from the caller into the settlement pool.
    function send(
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        bytes calldata body
    ) external returns (bytes32 id);

    /// @notice `send` paying a delivery fee: the Outbox's quote for this transfer (rounded up to a
    /// whole local unit), taken with the amount. Reverts `FeeAboveMax` above `maxFee`.
    /// @param handlerGas gas the recipient's handler needs (an input of the quote)
    /// @param maxFee most the caller pays (18 decimals)
    /// @return id the message id
    /// @return fee the fee the message carries (18 decimals)
    function sendWithFee(
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        bytes calldata body,
        uint256 handlerGas,
        uint256 maxFee
    ) external returns (bytes32 id, uint256 fee);

    /// @notice Prepays `amount` (local units) of delivery fees for the caller's `dispatchWithFee`.
    function prepayFees(uint256 amount) external;

    /// @notice Sends the caller the delivery fees it earned here.
    function withdrawEarned() external;

    /// @notice Moves fees owed to the caller out of `origin`'s reserve into its earned balance once
    /// the reserve covers them.
    function claimFees(uint64 origin) external;

    /// @notice Inbox hook, once per batch: pays the `fees` (18 decimals) the batch's messages from
    /// `origin` carried, out of `origin`'s reserve. The underwriting premium — our premium rate for
    /// `origin` on `premiumBase` (the amounts of the fee-paying messages), at most `fees` — goes to
    /// the `signers` in proportion to the coverage `charges` each took for the batch; the rest to
    /// `deliverer`.
    /// @param signers the batch's signers, in the order their coverage was charged
    /// @param charges what the coverage check charged each signer (same length; empty when
    /// `premiumBase` is 0)
    function payFees(
        uint64 origin,
        address deliverer,
        uint256 fees,
        uint256 premiumBase,
        address[] calldata signers,
        uint256[] calldata charges
    ) external;

    /// @notice Pays a pending payout once the origin's reserve covers it.
    function claim(bytes32 id) external;

    /// @notice Reports `peer`'s reserve here back to `peer` (anyone may refresh it).
    function report(uint64 peer) external returns (bytes32 id);

    /// @notice The settlement token of this chain: what `fund` and `send` take and payouts pay.
    function token() external view returns (IERC20Metadata);

    /// @notice 10^(18 − token decimals): one local token unit in 18 decimals. A `send` amount must
    /// be a multiple of it.
    function scale() external view returns (uint256);

    /// @notice Whether we suspended `peer`'s route (its reserve here is below the floor).
    function suspended(uint64 peer) external view returns (bool);

    /// @notice Total of `peer`'s pending payouts here (local units).
    function pendingPayouts(uint64 peer) external view returns (uint256);

    /// @notice Reserve of `peer` on this chain (local token units).
    function reserve(uint64 peer) external view returns (uint256);

    /// @notice Our credit at `peer` as far as we know (18 decimals): last report minus what we sent
    /// since.
    function creditView(uint64 peer) external view returns (uint256);

    /// @notice Inbox hook: pays a transfer from `origin`'s reserve, or records it pending. Returns
    /// true when paid. A transfer paid at once leaves no record, so the caller must not call it
    /// again for that `id` (the Inbox does not: docs/protocol.md 3.7); for an `id` booked pending
    /// it is idempotent (pays it once the reserve covers it, then returns true).
    function payout(
        uint64 origin,
        bytes32 id,
        address recipient,
        uint256 amount
    ) external returns (bool paid);

    /// @notice Inbox hook: a bank-to-bank protocol message from `origin` (reserve report, netting).
    /// @param signer a signer of the checkpoint that carried it (the first; zero on a `retry`): a
    /// price raise in a reserve report waits W and then needs it still mirrored
    function onBankMessage(uint64 origin, uint32 nonce, bytes calldata body, address signer) external;

    /// @notice Applies `peer`'s pending price raise once ready (anyone; also done by the next report
    /// that carries the same price): reverts `NoPendingPrice`, `PriceNotReady` or `PeerNotActive`;
    /// drops the raise (`PriceRaiseDropped`, "signer removed") when the signer of the checkpoint
    /// that carried it is no longer mirrored by our Inbox.
    /// @return applied whether the raise took effect
    function applyPendingPrice(uint64 peer) external returns (bool applied);

    /// @notice Value at risk (18 decimals) that a bank-to-bank message from `origin` at origin nonce
    /// `nonce` would move (the nonce decides whether a reserve report's increase would apply).
    function bankMessageCoverage(
        uint64 origin,
        uint32 nonce,
        bytes calldata body
    ) external view returns (uint256);
}
