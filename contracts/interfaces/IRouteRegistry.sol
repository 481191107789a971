// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IRouteRegistry
/// @notice The routing table of one DistPOS deployment: one record per connected peer chain,
/// enrolled by the community's governance. Every other contract of the suite reads it.
interface IRouteRegistry {
    /// @notice Lifecycle of a route. `None` = never enrolled; a route is enrolled once and can
    /// only move between `Active` and `Paused` afterwards (its identity never changes).
    enum RouteStatus {
        None,
        Active,
        Paused
    }

    /// @notice What this chain knows about one peer chain. Addresses are the peer's contracts on
    /// the peer chain.
    struct Route {
        uint64 evmChainId; // the peer's EVM chain id (EIP-712 domain of its checkpoints)
        address outbox; // peer Outbox (verifyingContract of its checkpoints)
        address inbox; // peer Inbox (recipient of our stake reports)
        address stakingHub; // peer StakingHub (sender of its stake reports)
        address bank; // peer CorrespondentBank (sender of value and reserve reports)
        uint8 settlementDecimals; // decimals of the peer's settlement token
        uint16 minSigners; // default policy: minimum distinct signers per checkpoint
        uint96 defaultCoverage; // default policy: value at risk of any message, 18 decimals
        uint64 unbondingDelay; // the peer StakingHub's unbonding delay U (our window W must be < U)
    }

    /// @notice What the Inbox needs of a route for every batch, kept by the registry next to the
    /// full record in three storage slots (`status ‖ minSigners ‖ stakingHub`,
    /// `bank ‖ defaultCoverage`, `domainSeparator`) and pushed on every change to the local Inbox
    /// (`IInbox.setRoute`), which keeps the same three slots so that a batch reads them without a call.
    struct InboxRoute {
        RouteStatus status; // `None` for a code never enrolled (every other field is then zero)
        uint16 minSigners; // default policy: minimum distinct signers per checkpoint
        address stakingHub; // peer StakingHub (sender of its stake reports)
        address bank; // peer CorrespondentBank (sender of value and reserve reports)
        uint96 defaultCoverage; // default policy: value at risk of any message, 18 decimals
        bytes32 domainSeparator; // EIP-712 domain of the peer Outbox's checkpoints
    }

    /// @notice This chain's own suite, bound once at deployment (the contracts reference each
    /// other, so they cannot all be constructor arguments).
    struct LocalContracts {
        address outbox;
        address inbox;
        address stakingHub;
        address bank;
    }

    /// @notice Emitted once, when the deployer binds this chain's own contracts.
    event LocalContractsBound(LocalContracts local);
    /// @notice Emitted when governance enrolls a peer chain.
    event RouteEnrolled(uint64 indexed code, Route route);
    /// @notice Emitted when governance pauses or resumes a route.
    event RouteStatusChanged(uint64 indexed code, RouteStatus status);
    /// @notice Emitted when governance changes a route's default security policy.
    event RoutePolicyChanged(uint64 indexed code, uint16 minSigners, uint96 defaultCoverage);

    error UnknownRoute(uint64 code);
    error RouteAlreadyEnrolled(uint64 code);
    error InvalidRoute(string reason);
    error RouteNotActive(uint64 code);
    /// @notice `reseedMirror` needs the route paused first (no delivery while its mirror changes).
    error RouteNotPaused(uint64 code);
    error AlreadyBound();
    error NotBound();

    /// @notice This chain's own contracts; reverts `NotBound` before `bindLocalContracts`.
    function local() external view returns (LocalContracts memory);

    /// @notice This chain's own DistPOS chain code.
    function localCode() external view returns (uint64);

    /// @notice The record of peer `code`; reverts `UnknownRoute` when never enrolled.
    function route(uint64 code) external view returns (Route memory);

    /// @notice Status of peer `code` (`None` when never enrolled).
    function status(uint64 code) external view returns (RouteStatus);

    /// @notice The EIP-712 domain separator of the peer's checkpoints, cached at enrollment.
    function domainSeparator(uint64 code) external view returns (bytes32);

    /// @notice What the Inbox needs of peer `code` per batch (status, default policy, the peer's
    /// StakingHub and bank, the checkpoint domain separator), from three storage slots. Never
    /// reverts: a code never enrolled gives a record with status `None` and zero fields.
    function inboxRoute(uint64 code) external view returns (InboxRoute memory);

    /// @notice All enrolled peer codes, in enrollment order.
    function peers() external view returns (uint64[] memory);
}
