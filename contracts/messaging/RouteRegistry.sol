// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";
import {IInbox} from "../interfaces/IInbox.sol";
import {IOutbox} from "../interfaces/IOutbox.sol";
import {CheckpointHash} from "../libraries/CheckpointHash.sol";

/// @title RouteRegistry
/// @notice The routing table of one DistPOS deployment and the binding of its own contracts.
/// @dev Governance (a timelock in production) enrolls each peer once, seeds the mirror of the peer's
/// attester set once, and may pause, resume or tune the default policy afterwards. It can never
/// re-enroll a peer, change a peer's contracts, or re-seed a mirror: those would let it forge the
/// peer's attester set and spend the peer's reserve.
contract RouteRegistry is IRouteRegistry, Ownable {
    uint64 private immutable _localCode;

    LocalContracts private _local;
    mapping(uint64 code => Route) private _routes;
    /// @dev Status, default policy, peer StakingHub and bank, domain separator: the part of a route
    /// the Inbox reads per batch, packed (see `InboxRoute`). The status and the domain separator
    /// live only here; the policy and the two peer addresses also in `_routes`. The local Inbox
    /// keeps a copy, pushed on every change (`IInbox.setRoute`).
    mapping(uint64 code => InboxRoute) private _inboxRoutes;
    uint64[] private _peers;

    /// @param localCode_ this chain's DistPOS chain code (non-zero; by convention the EVM chain id)
    /// @param initialOwner the deployer, who binds the local contracts and then hands ownership over
    constructor(uint64 localCode_, address initialOwner) Ownable(initialOwner) {
        if (localCode_ == 0) revert InvalidRoute("local code is zero");
        _localCode = localCode_;
    }

    /// @notice Binds this chain's own Outbox, Inbox, StakingHub and CorrespondentBank. Once only.
    /// @dev The four contracts reference each other, so they read one another from here.
    function bindLocalContracts(LocalContracts calldata local_) external onlyOwner {
        if (_local.outbox != address(0)) revert AlreadyBound();
        if (
            local_.outbox == address(0) ||
            local_.inbox == address(0) ||
            local_.stakingHub == address(0) ||
            local_.bank == address(0)
        ) revert InvalidRoute("zero local contract");
        _local = local_;
        emit LocalContractsBound(local_);
    }

    /// @notice Enrolls peer `code` as an active route.
    /// @dev Our Inbox's exposure window must be shorter than the peer's unbonding delay, or stake
    /// could leave the peer's StakingHub while the value it vouched for here is still at risk.
    /// Messages from the peer are accepted only once its mirror is seeded (`initializeMirror`):
    /// the peer's attesters can allocate stake to us only after the peer enrolled us, so the two
    /// steps are apart.
    function enrollRoute(uint64 code, Route calldata route_) external onlyOwner {
        LocalContracts memory local_ = _requireBound();
        if (code == 0 || code == _localCode) revert InvalidRoute("peer code is zero or our own");
        if (_inboxRoutes[code].status != RouteStatus.None) revert RouteAlreadyEnrolled(code);
        if (route_.evmChainId == 0) revert InvalidRoute("evm chain id is zero");
        if (
            route_.outbox == address(0) ||
            route_.inbox == address(0) ||
            route_.stakingHub == address(0) ||
            route_.bank == address(0)
        ) revert InvalidRoute("zero peer contract");
        if (route_.settlementDecimals > 18) revert InvalidRoute("settlement decimals above 18");
        if (route_.minSigners == 0) revert InvalidRoute("minSigners is zero");
        if (uint256(IInbox(local_.inbox).exposureWindow()) >= route_.unbondingDelay) {
            revert InvalidRoute("exposure window not below the peer's unbonding delay");
        }

        _routes[code] = route_;
        _inboxRoutes[code] = InboxRoute({
            status: RouteStatus.Active,
            minSigners: route_.minSigners,
            stakingHub: route_.stakingHub,
            bank: route_.bank,
            defaultCoverage: route_.defaultCoverage,
            domainSeparator: CheckpointHash.domainSeparator(route_.evmChainId, route_.outbox)
        });
        _peers.push(code);
        emit RouteEnrolled(code, route_);
        IOutbox(local_.outbox).setRouteStatus(code, RouteStatus.Active);
        IInbox(local_.inbox).setRoute(code, _inboxRoutes[code]);
    }

    /// @notice Seeds, once, the local Inbox's mirror of peer `code`'s attester set with a trusted
    /// snapshot: each attester's allocation to us on the peer's StakingHub (18 decimals).
    /// @dev Like an IBC client's trusted state: afterwards only stake reports change the mirror.
    function initializeMirror(
        uint64 code,
        address[] calldata attesters,
        uint256[] calldata stakes
    ) external onlyOwner {
        LocalContracts memory local_ = _requireBound();
        if (_inboxRoutes[code].status == RouteStatus.None) revert UnknownRoute(code);
        if (attesters.length != stakes.length) revert InvalidRoute("attesters and stakes differ in length");
        IInbox(local_.inbox).initializeMirror(code, attesters, stakes);
    }

    /// @notice Governance recovery of a captured or broken mirror (docs/protocol.md 3.5, "Recovery"):
    /// while the route is paused, replaces the listed entries of the local Inbox's mirror of peer
    /// `code` with a trusted snapshot (each attester's allocation to us on the peer, 18 decimals; 0
    /// removes an entry) and makes every stake report dispatched before `fromNonce` unable to raise
    /// them again. It moves no funds and delivers nothing; `resumeRoute` reopens the route. The
    /// owner is the community's timelock, so the change is public for its delay before it applies.
    /// @param code a paused peer
    /// @param attesters the entries to set; any entry not listed keeps its stake
    /// @param stakes each attester's allocation to us on the peer (0 removes it)
    /// @param fromNonce the peer Outbox's count when the snapshot was taken
    function reseedMirror(
        uint64 code,
        address[] calldata attesters,
        uint256[] calldata stakes,
        uint32 fromNonce
    ) external onlyOwner {
        LocalContracts memory local_ = _requireBound();
        RouteStatus current = _inboxRoutes[code].status;
        if (current == RouteStatus.None) revert UnknownRoute(code);
        if (current != RouteStatus.Paused) revert RouteNotPaused(code);
        IInbox(local_.inbox).reseedMirror(code, attesters, stakes, fromNonce);
    }

    /// @notice Pauses an active route: no dispatch to it, no delivery from it.
    function pauseRoute(uint64 code) external onlyOwner {
        _setStatus(code, RouteStatus.Paused);
    }

    /// @notice Resumes a paused route.
    function resumeRoute(uint64 code) external onlyOwner {
        _setStatus(code, RouteStatus.Active);
    }

    /// @notice Changes a route's default security policy (applies to recipients without their own).
    function setRoutePolicy(uint64 code, uint16 minSigners, uint96 defaultCoverage) external onlyOwner {
        InboxRoute storage packed = _inboxRoutes[code];
        if (packed.status == RouteStatus.None) revert UnknownRoute(code);
        if (minSigners == 0) revert InvalidRoute("minSigners is zero");
        _routes[code].minSigners = minSigners;
        _routes[code].defaultCoverage = defaultCoverage;
        packed.minSigners = minSigners;
        packed.defaultCoverage = defaultCoverage;
        emit RoutePolicyChanged(code, minSigners, defaultCoverage);
        // The local Inbox keeps its own copy (a delivery then makes no call to the registry).
        IInbox(_local.inbox).setRoute(code, packed);
    }

    /// @inheritdoc IRouteRegistry
    function local() external view returns (LocalContracts memory) {
        return _requireBound();
    }

    /// @inheritdoc IRouteRegistry
    function localCode() external view returns (uint64) {
        return _localCode;
    }

    /// @inheritdoc IRouteRegistry
    function route(uint64 code) external view returns (Route memory) {
        if (_inboxRoutes[code].status == RouteStatus.None) revert UnknownRoute(code);
        return _routes[code];
    }

    /// @inheritdoc IRouteRegistry
    function status(uint64 code) external view returns (RouteStatus) {
        return _inboxRoutes[code].status;
    }

    /// @inheritdoc IRouteRegistry
    function domainSeparator(uint64 code) external view returns (bytes32) {
        InboxRoute storage packed = _inboxRoutes[code];
        if (packed.status == RouteStatus.None) revert UnknownRoute(code);
        return packed.domainSeparator;
    }

    /// @inheritdoc IRouteRegistry
    function inboxRoute(uint64 code) external view returns (InboxRoute memory) {
        return _inboxRoutes[code];
    }

    /// @inheritdoc IRouteRegistry
    function peers() external view returns (uint64[] memory) {
        return _peers;
    }

    function _setStatus(uint64 code, RouteStatus next) private {
        InboxRoute storage packed = _inboxRoutes[code];
        RouteStatus current = packed.status;
        if (current == RouteStatus.None) revert UnknownRoute(code);
        if (current == next) return;
        packed.status = next;
        emit RouteStatusChanged(code, next);
        // The local Outbox and Inbox keep their own copies (a dispatch then makes no external call,
        // nor a delivery a call to the registry); the local contracts are bound before any route
        // is enrolled.
        IOutbox(_local.outbox).setRouteStatus(code, next);
        IInbox(_local.inbox).setRoute(code, packed);
    }

    function _requireBound() private view returns (LocalContracts memory local_) {
        local_ = _local;
        if (local_.outbox == address(0)) revert NotBound();
    }
}
