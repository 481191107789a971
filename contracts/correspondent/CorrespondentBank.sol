// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {ICorrespondentBank} from "../interfaces/ICorrespondentBank.sol";
import {IOutbox} from "../interfaces/IOutbox.sol";
import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";
import {BankMessages} from "../libraries/BankMessages.sol";
import {BankLedger} from "./BankLedger.sol";
import {CreditLine} from "./CreditLine.sol";
import {DeliveryFees} from "./DeliveryFees.sol";
import {Netting} from "./Netting.sol";
import {ReserveBook} from "./ReserveBook.sol";

/// @title CorrespondentBank
/// @notice Correspondent accounts of one chain (docs/protocol.md 3.7). As the holder, it keeps
/// `reserve[P]`, tokens posted here for peer P, pays P's incoming transfers from it (or books them
/// pending), and reports it to P. As the correspondent of P, it keeps the settlement pool of what
/// our users sent to P and our credit view of our reserve at P, and refuses a send P could not pay.
/// It joins its roles, each in its own contract: `ReserveBook`, `CreditLine`, `Netting` and
/// `DeliveryFees`, over the books of `BankLedger`; here are the users' sends and the Inbox's bank
/// messages, which span them.
/// @dev Governance (the registry's owner) only sets thresholds, netting and prices: no function lets
/// anyone move tokens except as a payout of a delivered message, a claim of a pending payout, a
/// fee withdrawal, or netting answered by the peer.
contract CorrespondentBank is ReserveBook, CreditLine, Netting, DeliveryFees {
    /// @notice The recipient is zero or the peer's bank (tokens sent there would be stranded).
    error InvalidRecipient(bytes32 recipient);

    /// @notice The body is not a bank message this contract handles.
    error UnknownBankMessage(uint8 kind);

    /// @param registry_ the local route registry (its owner governs this bank's thresholds)
    /// @param token_ the settlement token (at most 18 decimals)
    constructor(IRouteRegistry registry_, IERC20Metadata token_) BankLedger(registry_, token_) {}

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

    /// @dev `send` with a collected fee (0: none).
    function _send(
        uint64 destination,
        bytes32 recipient,
        uint256 amount,
        bytes calldata body,
        uint256 fee
    ) internal returns (bytes32 id) {
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
}
