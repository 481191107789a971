// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IOutbox} from "../interfaces/IOutbox.sol";
import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";
import {BankMessages} from "../libraries/BankMessages.sol";
import {BankLedger} from "./BankLedger.sol";

/// @title Netting
/// @notice Netting between two correspondents (docs/protocol.md 3.7): our settlement pool for a
/// peer moved into the reserve it holds for us, by request and reply; off by default, enabled per
/// peer by governance.
abstract contract Netting is BankLedger {
    /// @notice Governance enabled or disabled netting with `peer`.
    event NettingSet(uint64 indexed peer, bool enabled);

    /// @notice A netting request from `peer` was answered with 0: netting with it is disabled.
    event NettingDeclined(uint64 indexed peer, uint256 request);

    /// @notice A netting reply arrived while no netting request to `peer` was in flight.
    event NettingReplyIgnored(uint64 indexed peer, uint256 amount);

    /// @notice Netting with `peer` is not enabled by governance.
    error NettingDisabled(uint64 peer);

    /// @notice A netting request to `peer` is still waiting for its reply.
    error NettingInFlight(uint64 peer);

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

    /// @notice Our settlement pool for `peer` (local units), not counting a netting lock.
    function pool(uint64 peer) external view returns (uint256) {
        return _correspondents[peer].pool;
    }

    /// @notice Part of our pool for `peer` locked by a netting request in flight (local units).
    function nettingLocked(uint64 peer) external view returns (uint256) {
        return _correspondents[peer].nettingLocked;
    }

    /// @notice Whether governance enabled netting with `peer`.
    function nettingEnabled(uint64 peer) external view returns (bool) {
        return _nettingEnabled[peer];
    }

    function _answerNetting(uint64 origin, uint256 request) internal {
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

    function _completeNetting(uint64 origin, uint256 amount) internal {
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
}
