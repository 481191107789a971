// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ICorrespondentBank} from "../interfaces/ICorrespondentBank.sol";
import {ChainAddress} from "../libraries/ChainAddress.sol";

/// @title InvoicePayer
/// @notice Sends value from a contract: pays invoice `invoice` of an `Invoices` contract on another
/// chain in settlement tokens, through the local CorrespondentBank, with the invoice number as the
/// body the recipient's handler receives. Deploy one per chain; see `Invoices` for the other end.
/// @dev The bank takes the tokens from its caller, so the payer first pulls them from the user and
/// approves the bank for exactly that amount (no allowance is left behind). The recipient sees
/// this contract as the transfer's sender; the user who paid is in the `InvoiceSent` event.
contract InvoicePayer {
    using SafeERC20 for IERC20;

    /// @notice The local CorrespondentBank that carries the value.
    ICorrespondentBank public immutable bank;

    /// @notice `payer` sent `amount` (18 decimals) for `invoice` of `invoices` on `destination`, as
    /// message `id`.
    event InvoiceSent(
        bytes32 indexed id,
        uint64 indexed destination,
        address indexed payer,
        address invoices,
        uint256 invoice,
        uint256 amount
    );

    /// @param bank_ the local CorrespondentBank
    constructor(ICorrespondentBank bank_) {
        bank = bank_;
    }

    /// @notice Pays `amount` (18 decimals) for invoice `invoice` of the `Invoices` contract
    /// `invoices` on chain `destination`. The caller must have approved this contract for the
    /// amount in local token units (`amount / bank.scale()`).
    /// @dev Reverts with the bank's errors (`InsufficientCredit`, `PeerSuspended`,
    /// `InexactAmount`, ...) before any token moves for good: the whole call reverts.
    /// @return id the id of the value-transfer message
    function pay(
        uint64 destination,
        address invoices,
        uint256 invoice,
        uint256 amount
    ) external returns (bytes32 id) {
        IERC20 token = IERC20(address(bank.token()));
        uint256 local = amount / bank.scale();
        token.safeTransferFrom(msg.sender, address(this), local);
        token.forceApprove(address(bank), local);
        id = bank.send(destination, ChainAddress.fromAddress(invoices), amount, abi.encode(invoice));
        emit InvoiceSent(id, destination, msg.sender, invoices, invoice, amount);
    }
}
