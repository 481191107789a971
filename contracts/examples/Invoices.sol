// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ICorrespondentBank} from "../interfaces/ICorrespondentBank.sol";
import {IMessageRecipient} from "../interfaces/IMessageRecipient.sol";

/// @title Invoices
/// @notice Receives value: a merchant issues invoices here, and payers on other chains pay them in
/// settlement tokens (see `InvoicePayer`). Each payment is forwarded to the merchant and marks its
/// invoice paid.
/// @dev A value transfer is paid to this contract by the local CorrespondentBank before the Inbox
/// calls `handle` with the amount, so `handle` only checks and forwards it. When `handle` reverts
/// (unknown or paid invoice, too little) the tokens stay here and the Inbox records the failure;
/// once the cause is fixed (e.g. the invoice issued), anyone may `Inbox.retry` the message.
contract Invoices is IMessageRecipient {
    using SafeERC20 for IERC20;

    /// @notice An invoice: its price (18 decimals) and whether it was paid.
    struct Invoice {
        uint256 price;
        bool paid;
    }

    /// @notice Who issues invoices and receives their payments.
    address public immutable merchant;
    /// @notice The local Inbox, the only caller of `handle`.
    address public immutable inbox;
    /// @notice The local settlement token payments arrive in.
    IERC20 public immutable token;
    /// @notice 10^(18 − token decimals): one local token unit in 18 decimals.
    uint256 public immutable scale;

    /// @notice Invoices issued so far (the next invoice's number).
    uint256 public issued;
    /// @notice Every invoice by number.
    mapping(uint256 invoice => Invoice) public invoices;

    /// @notice The merchant issued `invoice` for `price` (18 decimals).
    event InvoiceIssued(uint256 indexed invoice, uint256 price);
    /// @notice `invoice` was paid with `amount` (18 decimals) by `sender` on `origin`.
    event InvoicePaid(uint256 indexed invoice, uint64 indexed origin, bytes32 indexed sender, uint256 amount);

    /// @notice `handle` was called by someone other than the local Inbox.
    error NotInbox(address caller);
    /// @notice Only the merchant issues invoices.
    error NotMerchant(address caller);
    /// @notice No invoice `invoice` was issued.
    error UnknownInvoice(uint256 invoice);
    /// @notice `invoice` is already paid.
    error AlreadyPaid(uint256 invoice);
    /// @notice `amount` (18 decimals) is less than the invoice's `price`.
    error Underpaid(uint256 invoice, uint256 amount, uint256 price);

    /// @param bank the local CorrespondentBank (its settlement token is what invoices are paid in)
    /// @param inbox_ the local Inbox
    /// @param merchant_ who issues invoices and receives the payments
    constructor(ICorrespondentBank bank, address inbox_, address merchant_) {
        token = IERC20(address(bank.token()));
        scale = bank.scale();
        inbox = inbox_;
        merchant = merchant_;
    }

    /// @notice Issues the next invoice for `price` (18 decimals); merchant only.
    /// @return invoice the invoice's number, to give the payer
    function issue(uint256 price) external returns (uint256 invoice) {
        if (msg.sender != merchant) revert NotMerchant(msg.sender);
        invoice = issued++;
        invoices[invoice].price = price;
        emit InvoiceIssued(invoice, price);
    }

    /// @inheritdoc IMessageRecipient
    /// @dev `amount` was already paid to this contract; the body is `abi.encode(invoice)`. Marks
    /// the invoice paid, then forwards the tokens to the merchant.
    function handle(uint64 origin, bytes32 sender, uint256 amount, bytes calldata body) external {
        if (msg.sender != inbox) revert NotInbox(msg.sender);
        uint256 number = abi.decode(body, (uint256));
        Invoice storage invoice = invoices[number];
        if (number >= issued) revert UnknownInvoice(number);
        if (invoice.paid) revert AlreadyPaid(number);
        if (amount < invoice.price) revert Underpaid(number, amount, invoice.price);
        invoice.paid = true;
        emit InvoicePaid(number, origin, sender, amount);
        token.safeTransfer(merchant, amount / scale);
    }
}
