// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IInbox} from "../interfaces/IInbox.sol";
import {IMessageRecipient} from "../interfaces/IMessageRecipient.sol";
import {IOutbox} from "../interfaces/IOutbox.sol";
import {ChainAddress} from "../libraries/ChainAddress.sol";

/// @title PingPong
/// @notice The smallest DistPOS dApp: `ping` sends a message to a PingPong on another chain, which
/// answers every ping with a pong to whoever sent it. Deploy one per chain and ping across.
/// @dev Shows the three things a dApp does: dispatch through the local Outbox, accept calls only
/// from the local Inbox, and set its own security policy (how many attesters must sign and how much
/// stake must vouch for each message it receives). Pongs are never answered, so nothing loops.
contract PingPong is IMessageRecipient {
    /// @notice First byte of a ping body; a ping is `abi.encode(PING, sequence)`.
    uint8 public constant PING = 1;
    /// @notice First byte of a pong body; a pong is `abi.encode(PONG, sequence)`.
    uint8 public constant PONG = 2;

    /// @notice The local Outbox pings and pongs are dispatched through.
    IOutbox public immutable outbox;
    /// @notice The local Inbox, the only caller of `handle`.
    IInbox public immutable inbox;

    /// @notice Pings sent so far (the next ping's sequence number).
    uint256 public pingsSent;
    /// @notice Pongs received so far.
    uint256 public pongsReceived;

    /// @notice A ping left for `peer` on `destination` as message `id`.
    event PingSent(uint256 indexed sequence, uint64 indexed destination, bytes32 indexed peer, bytes32 id);
    /// @notice A ping arrived from `sender` on `origin` and was answered with pong `pongId`.
    event PingReceived(uint64 indexed origin, bytes32 indexed sender, uint256 sequence, bytes32 pongId);
    /// @notice A pong arrived from `sender` on `origin` for our ping `sequence`.
    event PongReceived(uint64 indexed origin, bytes32 indexed sender, uint256 indexed sequence);

    /// @notice `handle` was called by someone other than the local Inbox.
    error NotInbox(address caller);
    /// @notice The body is neither a ping nor a pong.
    error UnknownBody(bytes body);

    /// @param outbox_ the local Outbox
    /// @param inbox_ the local Inbox
    /// @param minSigners attesters that must sign each message we receive (0: the route's default)
    /// @param requiredCoverage stake (18 decimals) that must vouch for each message we receive
    /// (0: the route's default)
    constructor(IOutbox outbox_, IInbox inbox_, uint16 minSigners, uint96 requiredCoverage) {
        outbox = outbox_;
        inbox = inbox_;
        inbox_.setRecipientPolicy(minSigners, requiredCoverage);
    }

    /// @notice Pings the PingPong `peer` on chain `destination`; it will pong back.
    /// @return id the id of the ping message
    function ping(uint64 destination, address peer) external returns (bytes32 id) {
        uint256 sequence = pingsSent++;
        bytes32 peerAccount = ChainAddress.fromAddress(peer);
        (id, ) = outbox.dispatch(destination, peerAccount, abi.encode(PING, sequence));
        emit PingSent(sequence, destination, peerAccount, id);
    }

    /// @inheritdoc IMessageRecipient
    /// @dev Answers a ping with a pong to its sender; counts a pong.
    function handle(uint64 origin, bytes32 sender, uint256, bytes calldata body) external {
        if (msg.sender != address(inbox)) revert NotInbox(msg.sender);
        if (body.length != 64) revert UnknownBody(body);
        (uint8 kind, uint256 sequence) = abi.decode(body, (uint8, uint256));
        if (kind == PING) {
            (bytes32 pongId, ) = outbox.dispatch(origin, sender, abi.encode(PONG, sequence));
            emit PingReceived(origin, sender, sequence, pongId);
        } else if (kind == PONG) {
            ++pongsReceived;
            emit PongReceived(origin, sender, sequence);
        } else {
            revert UnknownBody(body);
        }
    }
}
