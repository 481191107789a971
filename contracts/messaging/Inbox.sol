// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICorrespondentBank} from "../interfaces/ICorrespondentBank.sol";
import {IInbox} from "../interfaces/IInbox.sol";
import {IRouteRegistry} from "../interfaces/IRouteRegistry.sol";
import {BankMessages} from "../libraries/BankMessages.sol";
import {ChainAddress} from "../libraries/ChainAddress.sol";
import {CheckpointHash} from "../libraries/CheckpointHash.sol";
import {MerkleTree} from "../libraries/MerkleTree.sol";
// The layout constants are read by the assembly of `_checkRun`, which solhint does not see.
// solhint-disable no-unused-import
import {
    AMOUNT_OFFSET,
    DESTINATION_OFFSET,
    FEE_OFFSET,
    MESSAGE_HEADER_LENGTH,
    MESSAGE_VERSION,
    MessageCodec,
    NONCE_OFFSET,
    ORIGIN_OFFSET,
    RECIPIENT_OFFSET,
    SENDER_OFFSET
} from "../libraries/MessageCodec.sol";
// solhint-enable no-unused-import
import {AttesterMirror} from "../staking/AttesterMirror.sol";

/// @title Inbox
/// @notice Accepts batches of messages from enrolled origins under one signed checkpoint
/// (docs/protocol.md 3.3): checks the signers, the Merkle multiproof, the recipients' policies and
/// the signers' stake coverage, marks every message delivered, then executes each once. A failing
/// recipient is recorded and never blocks the batch; anyone may `retry` it.
/// @dev Gas: the route is read once per batch, the replay bitmap is written once per 256 nonces,
/// recipient policies are read once per run of equal recipients, and the only per-message external
/// call is the recipient's handler. Each message's header length is checked once; after a batch's
/// first message, a run of ordinary zero-amount calls to one recipient is checked in one assembly
/// loop (`_checkRun`), every other message by the general path (`_checkMessage`). Handlers run with exactly `handlerGasLimit` gas (the batch
/// reverts when that much cannot reach them) and at most `MAX_RETURN_DATA` bytes of what they
/// return are copied.
contract Inbox is IInbox, AttesterMirror, ReentrancyGuardTransient {
    using MessageCodec for bytes;

    /// @notice Most bytes of a failed handler's return data that are copied and logged.
    uint256 public constant MAX_RETURN_DATA = 256;

    /// @dev Gas kept beyond the handler's share for the CALL itself (cold account access 2,600 and
    /// the few opcodes between the check and the call).
    uint256 private constant HANDLER_CALL_OVERHEAD = 2_700;

    /// @dev `IMessageRecipient.handle.selector`, left-aligned in a word (a literal, so the call's
    /// assembly can write it without a stack slot; no handler would run if it were wrong).
    bytes32 private constant HANDLE_SELECTOR =
        0xf6879a6e00000000000000000000000000000000000000000000000000000000;

    /// @dev `deliver`'s messages are framed (docs/protocol.md 3.3): a two-byte count, then each
    /// message after its two-byte length (a message is at most 133 + 8,192 bytes).
    uint256 private constant MESSAGE_COUNT_BYTES = 2;
    uint256 private constant FRAME_LENGTH_BYTES = 2;

    /// @dev Bytes of one packed signature in `deliver` (r ‖ s ‖ v).
    uint256 private constant SIGNATURE_LENGTH = 65;

    /// @notice The routing table of this chain.
    IRouteRegistry public immutable registry;
    /// @notice This chain's DistPOS chain code (the destination of every message accepted here).
    uint64 public immutable localCode;
    /// @inheritdoc IInbox
    uint32 public immutable handlerGasLimit;
    /// @dev Gas left before a handler call that gives the callee all of `handlerGasLimit`: the
    /// caller keeps 1/64 (EIP-150) and pays the cold account access. Computed once.
    uint256 private immutable _handlerGasNeeded;

    /// @dev Replay bitmap: bit `nonce % 256` of word `nonce / 256`, per origin. The replay key of
    /// every message except system messages.
    mapping(uint64 origin => mapping(uint256 word => uint256 bits)) private _deliveredBits;
    /// @dev Replay key of system messages (stake reports, and every message of the peer's bank:
    /// bank-to-bank messages and value transfers): their id. A forged message squatting such a
    /// message's nonce cannot make the real one undeliverable
    /// (docs/protocol.md 3.3, "Replay key"). Other messages never read or write it.
    mapping(bytes32 id => bool) private _systemDelivered;
    mapping(bytes32 id => FailureKind) private _failures;
    mapping(address recipient => RecipientPolicy) private _policies;
    /// @dev The local CorrespondentBank, read from the registry on first use: it binds the local
    /// contracts once and for all, so the cache is exact.
    address private _localBank;
    /// @dev This Inbox's copy of each route's `InboxRoute` (three slots), pushed by the registry
    /// (`setRoute`) on every change, so that a batch reads its route without an external call.
    mapping(uint64 origin => IRouteRegistry.InboxRoute) private _routes;

    /// @notice The bank's payout is still pending, so the handler of a value transfer cannot run.
    error PayoutStillPending(bytes32 id);
    /// @notice The handler gas limit is zero.
    error ZeroHandlerGasLimit();

    /// @dev How a delivered message is executed (docs/protocol.md 3.3, 3.4).
    enum Kind {
        Call, // recipient.handle(origin, sender, 0, body)
        StakeReport, // applied to the mirror
        BankMessage, // localBank.onBankMessage(origin, nonce, body, first signer)
        ValueTransfer // localBank.payout(...), then recipient.handle(origin, originalSender, amount, userBody)
    }

    /// @dev What a batch needs to know about its origin, read once from `_routes`. `_checkRun`
    /// reads the peer's StakingHub and bank at the `ROUTE_*` offsets (third and fourth fields).
    struct Route {
        uint64 origin;
        bytes32 domainSeparator; // of the origin Outbox's checkpoints
        bytes32 peerStakingHub; // as a message sender
        bytes32 peerBank; // as a message sender
        address localBank; // read lazily (`_bank`): only when the peer's bank sent something
        uint16 minSigners;
        uint96 defaultCoverage;
    }

    /// @dev The checked messages of a batch and what they need of its signers. The first ten
    /// fields are read and written by the assembly of `_checkRun` at the `BATCH_*` offsets below
    /// (one 32-byte word per field, in declaration order): keep the two in step.
    struct Batch {
        bytes32[] ids;
        uint256[] nonces; // consumed by the multiproof; the execution pass reads nonces from calldata
        uint256 valueAtRisk;
        uint256 policyCoverage; // coverage demanded by recipients' own policies beyond the route default
        uint256 fees; // delivery fees the batch's messages carry (18 decimals), paid once at the end
        uint256 word; // the replay bitmap word being filled
        uint256 wordIndex; // its index (max: none yet)
        bytes32 policyRecipient; // `requiredCoverage` is this recipient's
        uint256 requiredCoverage;
        uint256 policyExcess; // requiredCoverage beyond the route default: a zero-amount message's policy share
        uint256 minSigners;
        bool stakeReport; // the batch carries a stake report: its signers need a majority (3.5)
        uint256 signerStake; // mirrored stake of the batch's signers together
        address[] signers; // recovered, ascending; a bank message gets the first (a price raise needs it)
        uint256 premiumBase; // amounts of the fee-paying messages: the signers' premium is a rate of it
        bytes kinds; // each message's `Kind`, worked out once by the checking pass (0, a call, by default)
    }

    // Memory offsets of `Batch` and `Route` fields for `_checkRun`'s assembly.
    uint256 private constant BATCH_NONCES = 0x20;
    uint256 private constant BATCH_VALUE_AT_RISK = 0x40;
    uint256 private constant BATCH_POLICY_COVERAGE = 0x60;
    uint256 private constant BATCH_FEES = 0x80;
    uint256 private constant BATCH_WORD = 0xa0;
    uint256 private constant BATCH_WORD_INDEX = 0xc0;
    uint256 private constant BATCH_POLICY_RECIPIENT = 0xe0;
    uint256 private constant BATCH_REQUIRED_COVERAGE = 0x100;
    uint256 private constant BATCH_POLICY_EXCESS = 0x120;
    uint256 private constant ROUTE_PEER_STAKING_HUB = 0x40;
    uint256 private constant ROUTE_PEER_BANK = 0x60;

    /// @param registry_ the route registry of this chain; its local code is read once here
    /// @param exposureWindow_ the exposure window W in seconds (a multiple of `BUCKETS`)
    /// @param handlerGasLimit_ the gas each recipient handler gets during `deliver`
    constructor(
        IRouteRegistry registry_,
        uint32 exposureWindow_,
        uint32 handlerGasLimit_
    ) AttesterMirror(exposureWindow_) {
        if (handlerGasLimit_ == 0) revert ZeroHandlerGasLimit();
        registry = registry_;
        localCode = registry_.localCode();
        handlerGasLimit = handlerGasLimit_;
        _handlerGasNeeded = uint256(handlerGasLimit_) + handlerGasLimit_ / 63 + HANDLER_CALL_OVERHEAD;
    }

    // ---------------------------------------------------------------------------------------------
    // Delivery
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IInbox
    /// @dev Checks in the order of docs/protocol.md 3.3: checkpoint and route; signers; messages,
    /// replay bits and multiproof; policy and coverage. Every message is marked delivered before any
    /// state-changing external call; then each is executed in order.
    function deliver(
        Checkpoint calldata checkpoint,
        bytes calldata signatures,
        bytes calldata messages,
        bytes32[] calldata proof
    ) external nonReentrant {
        // 1. A checkpoint of something, from an active route.
        // The empty tree's root is no tree of messages (a leaf is a message's id, never zero): the
        // proof-less path, which does not read the root, must not run under it either (Nomad).
        if (
            checkpoint.root == bytes32(0) || checkpoint.root == MerkleTree.EMPTY_ROOT || checkpoint.count == 0
        ) revert EmptyCheckpoint();
        if (_messageCount(messages) == 0) revert NoMessages();
        Route memory route = _readRoute(checkpoint.origin);

        // 2. Signers, and the mirrored stake they hold together.
        Batch memory batch;
        (batch.signers, batch.signerStake) = _recoverSigners(route, checkpoint, signatures);

        // 3. Messages (each marked delivered here), multiproof; what each needs of the signers.
        _checkMessages(route, checkpoint.count, messages, batch);
        if (proof.length == 0 && batch.ids.length == 1) {
            // The checkpoint's last message alone: the signers vouched for its id (2.6).
            if (batch.ids[0] != checkpoint.last || batch.nonces[0] != checkpoint.count - 1)
                revert InvalidProof();
        } else {
            // multiRoot works in place: on a copy of the ids (executed below) and on the nonces
            // themselves (the execution pass reads them from calldata). The signed count tells
            // empty subtrees apart.
            bytes32 root = MerkleTree.multiRoot(_copy(batch.ids), batch.nonces, proof, checkpoint.count);
            if (root != checkpoint.root) revert InvalidProof();
        }

        // 4. The strictest recipient policy, a majority for a mirror change, the policy cap, then
        // the signers' free stake. The accepted checkpoint and its signatures go to the log, where a
        // watcher finds them however `deliver` was called.
        if (batch.signers.length < batch.minSigners)
            revert TooFewSigners(batch.signers.length, batch.minSigners);
        if (batch.stakeReport) _requireMirrorQuorum(route.origin, batch.signerStake);
        if (batch.policyCoverage != 0) _chargePolicyCoverage(route.origin, batch.policyCoverage);
        uint256[] memory charges; // what each signer is charged, kept only for a premium (3.9)
        if (batch.premiumBase != 0) charges = new uint256[](batch.signers.length);
        _chargeCoverage(route.origin, batch.signers, batch.valueAtRisk, charges);
        _emitCheckpointAccepted(checkpoint, signatures);

        // 5. Execute, in order.
        _executeAll(route, batch, messages);

        // 6. The fees, once per batch, out of the origin's reserve (3.9).
        if (batch.fees != 0) _payFees(route.origin, batch, charges);
    }

    /// @inheritdoc IInbox
    /// @dev The handler gets all remaining gas and must succeed; a revert keeps the failure recorded.
    /// A value transfer's payout is asked for only when none was made (exactly-once, protocol.md
    /// 3.7): after `PayoutPending` the bank pays from its pending record (or reports it claimed);
    /// after `PayoutReverted` nothing was booked, so the payout is made afresh. `HandlerReverted`
    /// means the payout was made: only the handler runs.
    function retry(bytes calldata message) external nonReentrant {
        bytes32 id = message.id();
        FailureKind failed = _failures[id];
        if (failed == FailureKind.None) revert NotFailed(id);
        // A failure is only ever recorded for a message delivered here; check it all the same.
        uint64 origin = message.origin();
        if (message.destination() != localCode) revert NotFailed(id);
        // Any status: a message delivered before a pause can still be retried.
        (Route memory route, ) = _readRouteAnyStatus(origin);
        bytes32 sender = message.sender();
        bytes32 recipient = message.recipient();
        if (!_isMessageDelivered(route, sender, recipient, id, message.nonce())) revert NotFailed(id);
        delete _failures[id];
        // The batch's signers are gone: a retried bank message cannot raise a price (3.9).
        Kind kind = _kindOf(route, sender, recipient, message.amount(), message.body());
        _execute(route, id, message, kind, address(0), failed);
        emit Retried(id);
    }

    /// @inheritdoc IInbox
    function setRecipientPolicy(uint16 minSigners, uint96 requiredCoverage) external {
        _policies[msg.sender] = RecipientPolicy(minSigners, requiredCoverage);
        emit RecipientPolicySet(msg.sender, minSigners, requiredCoverage);
    }

    /// @inheritdoc IInbox
    function initializeMirror(
        uint64 origin,
        address[] calldata attesters,
        uint256[] calldata stakes
    ) external {
        if (msg.sender != address(registry)) revert NotRegistry(msg.sender);
        _initializeMirror(origin, attesters, stakes);
    }

    /// @inheritdoc IInbox
    function reseedMirror(
        uint64 origin,
        address[] calldata attesters,
        uint256[] calldata stakes,
        uint32 fromNonce
    ) external {
        if (msg.sender != address(registry)) revert NotRegistry(msg.sender);
        _reseedMirror(origin, attesters, stakes, fromNonce);
    }

    /// @inheritdoc IInbox
    function setRoute(uint64 origin, IRouteRegistry.InboxRoute calldata route) external {
        if (msg.sender != address(registry)) revert NotRegistry(msg.sender);
        _routes[origin] = route;
        emit RouteSet(origin, route.status, route.minSigners, route.defaultCoverage);
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IInbox
    function isDelivered(uint64 origin, uint32 nonce) external view returns (bool) {
        return _isDelivered(origin, nonce);
    }

    /// @inheritdoc IInbox
    /// @dev A message for another destination was never delivered here.
    function isMessageDelivered(bytes calldata message) external view returns (bool) {
        if (message.destination() != localCode) return false;
        (Route memory route, ) = _readRouteAnyStatus(message.origin());
        return
            _isMessageDelivered(route, message.sender(), message.recipient(), message.id(), message.nonce());
    }

    /// @inheritdoc IInbox
    function inboxRoute(uint64 origin) external view returns (IRouteRegistry.InboxRoute memory) {
        return _routes[origin];
    }

    /// @inheritdoc IInbox
    function failure(bytes32 id) external view returns (FailureKind) {
        return _failures[id];
    }

    /// @inheritdoc IInbox
    function recipientPolicy(address recipient) external view returns (RecipientPolicy memory) {
        return _policies[recipient];
    }

    /// @inheritdoc IInbox
    function mirroredStake(uint64 origin, address attester) external view returns (uint256) {
        return _mirroredStake(origin, attester);
    }

    /// @inheritdoc IInbox
    function exposure(uint64 origin, address attester) external view returns (uint256) {
        return _exposure(origin, attester);
    }

    /// @inheritdoc IInbox
    function freeCapacity(uint64 origin, address attester) external view returns (uint256) {
        return _freeCapacity(origin, attester);
    }

    /// @inheritdoc IInbox
    function exposureWindow() external view returns (uint32) {
        return _exposureWindow;
    }

    /// @inheritdoc IInbox
    function isMirrorInitialized(uint64 origin) external view returns (bool) {
        return _isMirrorInitialized(origin);
    }

    /// @inheritdoc IInbox
    function totalMirroredStake(uint64 origin) external view returns (uint256) {
        return _totalMirroredStake(origin);
    }

    /// @inheritdoc IInbox
    function policyCoverageAvailable(uint64 origin) external view returns (uint256) {
        return _policyCoverageAvailable(origin);
    }

    // ---------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------

    /// @dev Reads what a batch needs from this Inbox's copy of the route (three storage slots);
    /// reverts `OriginNotActive` unless the route is active (never enrolled or paused).
    function _readRoute(uint64 origin) private view returns (Route memory r) {
        IRouteRegistry.RouteStatus status;
        (r, status) = _readRouteAnyStatus(origin);
        if (status != IRouteRegistry.RouteStatus.Active) revert OriginNotActive(origin);
    }

    /// @dev The route's default policy, the peer's StakingHub and bank and the checkpoint domain
    /// separator (fixed at enrollment), with its status, from the copy the registry pushes
    /// (`setRoute`). A code never enrolled gives zeroes and status `None`.
    function _readRouteAnyStatus(
        uint64 origin
    ) private view returns (Route memory r, IRouteRegistry.RouteStatus status) {
        IRouteRegistry.InboxRoute storage packed = _routes[origin];
        status = packed.status;
        r.origin = origin;
        r.domainSeparator = packed.domainSeparator;
        r.peerStakingHub = ChainAddress.fromAddress(packed.stakingHub);
        r.peerBank = ChainAddress.fromAddress(packed.bank);
        r.minSigners = packed.minSigners;
        r.defaultCoverage = packed.defaultCoverage;
    }

    /// @dev Recovers the signers of `checkpoint` in the origin Outbox's EIP-712 domain from the
    /// packed 65-byte signatures: strictly increasing, each a mirrored attester; returns them with
    /// their summed mirrored stake. OpenZeppelin's ECDSA rejects high-s signatures.
    function _recoverSigners(
        Route memory route,
        Checkpoint calldata checkpoint,
        bytes calldata signatures
    ) private view returns (address[] memory signers, uint256 signerStake) {
        if (signatures.length % SIGNATURE_LENGTH != 0) revert SignaturesLength(signatures.length);
        uint64 origin = route.origin;
        bytes32 digest = CheckpointHash.digest(
            route.domainSeparator,
            origin,
            checkpoint.root,
            checkpoint.count,
            checkpoint.last
        );
        uint256 n = signatures.length / SIGNATURE_LENGTH;
        signers = new address[](n);
        address previous;
        for (uint256 i = 0; i < n; ++i) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly ("memory-safe") {
                let at := add(signatures.offset, mul(i, SIGNATURE_LENGTH))
                r := calldataload(at)
                s := calldataload(add(at, 0x20))
                v := byte(0, calldataload(add(at, 0x40)))
            }
            address signer = ECDSA.recover(digest, v, r, s);
            if (signer <= previous) revert SignersNotAscending(i);
            uint256 stake = _mirroredStake(origin, signer);
            if (stake == 0) revert UnknownSigner(signer);
            signerStake += stake;
            signers[i] = signer;
            previous = signer;
        }
    }

    /// @dev Step 6: the batch's fees, premium base, signers and their charges to the local bank.
    function _payFees(uint64 origin, Batch memory batch, uint256[] memory charges) private {
        ICorrespondentBank(_bank()).payFees(
            origin,
            msg.sender,
            batch.fees,
            batch.premiumBase,
            batch.signers,
            charges
        );
    }

    /// @dev Checks every message (step 3): framing, header, order, replay bit (set here, before any
    /// external call); and sums what the batch needs of its signers.
    function _checkMessages(
        Route memory route,
        uint32 count,
        bytes calldata messages,
        Batch memory batch
    ) private {
        uint256 n = _messageCount(messages);
        batch.ids = new bytes32[](n);
        batch.nonces = new uint256[](n);
        batch.kinds = new bytes(n);
        batch.minSigners = 1;
        batch.wordIndex = type(uint256).max;
        uint256 at = MESSAGE_COUNT_BYTES;
        for (uint256 i = 0; i < n;) {
            bytes calldata m;
            (m, at) = _frameAt(messages, at);
            _checkMessage(route, count, m, batch, i);
            // The common case in bulk: the messages after it that `_checkRun` takes (it needs a
            // recipient's policy and a replay word already loaded, so never the first).
            unchecked {
                (i, at) = _checkRun(route, count, messages, batch, i + 1, at);
            }
        }
        // Every byte is a framed message: nothing trails the last one.
        if (at != messages.length) revert MessagesMalformed(at);
        _deliveredBits[route.origin][batch.wordIndex] = batch.word;
    }

    /// @dev Checks message `i`, `m`, in full, any kind (the general path of `_checkMessages`).
    function _checkMessage(
        Route memory route,
        uint32 count,
        bytes calldata m,
        Batch memory batch,
        uint256 i
    ) private {
        (bytes32 id, uint32 nonce) = _checkHeader(m, route.origin, count);
        if (i != 0 && nonce <= batch.nonces[i - 1]) revert MessagesNotAscending(i);
        _put(batch.ids, i, id);
        _put(batch.nonces, i, nonce);
        // From here on the header's length is checked: its fields are read without the check.
        (Kind kind, bool system) = _bookKind(route, batch, m, i);
        _markDelivered(batch, route.origin, id, nonce, system);
        _addNeeds(route, batch, m, kind);
    }

    /// @dev Works out message `i`'s kind, once for the batch (the execution pass reads it from
    /// `batch.kinds`), and whether it is a system message, replay-keyed by id: a stake report, or
    /// any message of the peer's bank. A pure call never touches the system replay mapping.
    function _bookKind(
        Route memory route,
        Batch memory batch,
        bytes calldata m,
        uint256 i
    ) private returns (Kind kind, bool system) {
        bytes32 sender = m.senderUnchecked();
        kind = _kindOf(route, sender, m.recipientUnchecked(), m.amountUnchecked(), m.bodyUnchecked());
        if (kind != Kind.Call) batch.kinds[i] = bytes1(uint8(kind));
        system = kind == Kind.StakeReport || sender == route.peerBank;
    }

    /// @dev The fast path of `_checkMessages`: checks and books messages `i`, `i + 1`, … (the first
    /// framed at byte `at` of `messages`) while each is an ordinary call (not from the peer's
    /// StakingHub or bank) with a zero amount, to the previous message's recipient, in the replay
    /// word already loaded, well framed and formed and passing every check of `_checkMessage`;
    /// returns the index and frame offset of the first message it does not take (the count and
    /// `messages.length` when none). It has the same effects as `_checkMessage` for those messages
    /// and none for the one it stops at, which `_checkMessages` then frames and checks in full (and
    /// reverts on, with its error, when it is invalid).
    // One assembly loop is the point of this function (solhint counts its lines).
    // solhint-disable-next-line function-max-lines
    function _checkRun(
        Route memory route,
        uint256 count,
        bytes calldata messages,
        Batch memory batch,
        uint256 i,
        uint256 at
    ) private view returns (uint256, uint256) {
        uint256 destinationCode = localCode;
        assembly ("memory-safe") {
            // Up to the batch's count (its ids: one per message).
            for {} lt(i, mload(mload(batch))) {
                i := add(i, 1)
            } {
                // The frame as `_frameAt` reads it, or stop: its length, then the message.
                if gt(add(at, FRAME_LENGTH_BYTES), messages.length) {
                    break
                }
                let length := shr(240, calldataload(add(messages.offset, at)))
                if lt(length, MESSAGE_HEADER_LENGTH) {
                    break
                }
                if gt(add(add(at, FRAME_LENGTH_BYTES), length), messages.length) {
                    break
                }
                let m := add(add(messages.offset, at), FRAME_LENGTH_BYTES)
                // An ordinary zero-amount call to the run's recipient.
                {
                    let sender := calldataload(add(m, SENDER_OFFSET))
                    if or(
                        eq(sender, mload(add(route, ROUTE_PEER_STAKING_HUB))),
                        eq(sender, mload(add(route, ROUTE_PEER_BANK)))
                    ) {
                        break
                    }
                    let recipient := calldataload(add(m, RECIPIENT_OFFSET))
                    if or(
                        iszero(recipient),
                        iszero(eq(recipient, mload(add(batch, BATCH_POLICY_RECIPIENT))))
                    ) {
                        break
                    }
                }
                if calldataload(add(m, AMOUNT_OFFSET)) {
                    break
                }
                // Header: version, origin, destination, nonce below the count and ascending.
                if iszero(eq(shr(248, calldataload(m)), MESSAGE_VERSION)) {
                    break
                }
                if iszero(eq(shr(192, calldataload(add(m, ORIGIN_OFFSET))), mload(route))) {
                    break
                }
                if iszero(eq(shr(192, calldataload(add(m, DESTINATION_OFFSET))), destinationCode)) {
                    break
                }
                let nonce := shr(224, calldataload(add(m, NONCE_OFFSET)))
                if iszero(lt(nonce, count)) {
                    break
                }
                if i {
                    let previous := mload(add(add(mload(add(batch, BATCH_NONCES)), 0x20), shl(5, sub(i, 1))))
                    if iszero(gt(nonce, previous)) {
                        break
                    }
                }
                // Replay: a clear bit of the loaded word.
                if iszero(eq(shr(8, nonce), mload(add(batch, BATCH_WORD_INDEX)))) {
                    break
                }
                if and(mload(add(batch, BATCH_WORD)), shl(and(nonce, 0xff), 1)) {
                    break
                }
                // Needs: the run's required coverage (below 2^96) plus the fee (below 2^128) is
                // the value at risk; a sum that would overflow is left to the checked path. (The
                // sums are computed again when taken: a variable fewer on a full stack.)
                let fee := shr(128, calldataload(add(m, FEE_OFFSET)))
                if lt(
                    add(
                        mload(add(batch, BATCH_VALUE_AT_RISK)),
                        add(mload(add(batch, BATCH_REQUIRED_COVERAGE)), fee)
                    ),
                    mload(add(batch, BATCH_VALUE_AT_RISK))
                ) {
                    break
                }
                if lt(
                    add(mload(add(batch, BATCH_POLICY_COVERAGE)), mload(add(batch, BATCH_POLICY_EXCESS))),
                    mload(add(batch, BATCH_POLICY_COVERAGE))
                ) {
                    break
                }
                // Taken: the id (as MessageCodec.id: keccak256 of the message, in scratch memory
                // past the free pointer), the replay bit and the sums.
                calldatacopy(mload(0x40), m, length)
                mstore(add(add(mload(batch), 0x20), shl(5, i)), keccak256(mload(0x40), length))
                mstore(add(add(mload(add(batch, BATCH_NONCES)), 0x20), shl(5, i)), nonce)
                mstore(add(batch, BATCH_WORD), or(mload(add(batch, BATCH_WORD)), shl(and(nonce, 0xff), 1)))
                mstore(
                    add(batch, BATCH_VALUE_AT_RISK),
                    add(
                        mload(add(batch, BATCH_VALUE_AT_RISK)),
                        add(mload(add(batch, BATCH_REQUIRED_COVERAGE)), fee)
                    )
                )
                mstore(
                    add(batch, BATCH_POLICY_COVERAGE),
                    add(mload(add(batch, BATCH_POLICY_COVERAGE)), mload(add(batch, BATCH_POLICY_EXCESS)))
                )
                mstore(add(batch, BATCH_FEES), add(mload(add(batch, BATCH_FEES)), fee))
                at := add(add(at, FRAME_LENGTH_BYTES), length)
            }
        }
        return (i, at);
    }

    /// @dev Checks one message's length and header against the checkpoint; returns its id and nonce.
    function _checkHeader(
        bytes calldata m,
        uint64 origin,
        uint32 count
    ) private view returns (bytes32 id, uint32 nonce) {
        m.checkLength();
        id = m.id();
        uint8 version = m.versionUnchecked();
        if (version != MessageCodec.VERSION) revert UnsupportedVersion(id, version);
        uint64 messageOrigin = m.originUnchecked();
        if (messageOrigin != origin) revert WrongOrigin(id, messageOrigin);
        uint64 destination = m.destinationUnchecked();
        if (destination != localCode) revert WrongDestination(id, destination);
        nonce = m.nonceUnchecked();
        if (nonce >= count) revert NonceBeyondCount(id, nonce, count);
    }

    /// @dev Adds one message's policy and value at risk to `batch`: max(amount, required coverage),
    /// plus the value a system message moves. The recipient's policy is read only when the recipient
    /// differs from the previous message's (batches often run to one recipient).
    // solhint-disable-next-line function-max-lines
    function _addNeeds(Route memory route, Batch memory batch, bytes calldata m, Kind kind) private view {
        bytes32 recipient = m.recipientUnchecked();
        if (recipient != batch.policyRecipient || batch.policyRecipient == bytes32(0)) {
            batch.policyRecipient = recipient;
            RecipientPolicy memory policy =
                ChainAddress.isEvmAddress(recipient)
                    ? _policies[address(uint160(uint256(recipient)))]
                    : RecipientPolicy(0, 0);
            uint256 requiredSigners = policy.minSigners != 0 ? policy.minSigners : route.minSigners;
            uint256 required = policy.requiredCoverage != 0 ? policy.requiredCoverage : route.defaultCoverage;
            batch.requiredCoverage = required;
            batch.policyExcess = required > route.defaultCoverage ? required - route.defaultCoverage : 0;
            if (requiredSigners > batch.minSigners) batch.minSigners = requiredSigners;
        }
        uint256 amount = m.amountUnchecked();
        // value = max(amount, required coverage). What a recipient's own policy demands beyond the
        // route's default, value − max(amount, default), is capped at half the mirrored total live
        // at once (3.5, "Policy coverage"): no recipient choosing its coverage can exhaust the
        // signers. Before the fee: a fee is no policy's (issue 17). A zero amount (every pure
        // message) takes the run's precomputed share.
        uint256 value;
        if (amount == 0) {
            value = batch.requiredCoverage;
            uint256 excess = batch.policyExcess;
            if (excess != 0) batch.policyCoverage += excess;
        } else {
            uint256 required = batch.requiredCoverage;
            value = amount > required ? amount : required;
            uint256 base = amount > route.defaultCoverage ? amount : route.defaultCoverage;
            if (value > base) batch.policyCoverage += value - base;
        }
        // A fee is paid out of the origin's reserve here like value: it is value at risk (3.8).
        uint256 fee = m.feeUnchecked();
        if (fee != 0) {
            value += fee;
            // Below 2^128 each, one per message: the sum cannot overflow.
            unchecked {
                batch.fees += fee;
            }
            // The underwriting premium is a rate of the amount carried (3.9).
            batch.premiumBase += amount;
        }

        if (kind == Kind.StakeReport) {
            // No value at risk: a majority of the mirrored stake must sign it instead.
            batch.stakeReport = true;
        } else if (kind == Kind.BankMessage) {
            value += ICorrespondentBank(route.localBank).bankMessageCoverage(
                route.origin,
                m.nonceUnchecked(),
                m.bodyUnchecked()
            );
        }
        if (value != 0) batch.valueAtRisk += value;
    }

    /// @dev Replay: checks and sets the message's bit. Nonces ascend, so each bitmap word is read
    /// once and written once (when the batch moves past it, and at the end of `_checkMessages`).
    /// A system message is keyed by its id instead: it reverts only when that id was delivered, and
    /// sets its nonce bit without checking it (a forged message may have squatted the nonce).
    function _markDelivered(
        Batch memory batch,
        uint64 origin,
        bytes32 id,
        uint256 nonce,
        bool system
    ) private {
        uint256 wordIndex = nonce >> 8;
        uint256 word = batch.word;
        if (wordIndex != batch.wordIndex) {
            mapping(uint256 => uint256) storage bitmap = _deliveredBits[origin];
            if (batch.wordIndex != type(uint256).max) bitmap[batch.wordIndex] = word;
            batch.wordIndex = wordIndex;
            word = bitmap[wordIndex];
        }
        uint256 bit = 1 << (nonce & 0xff);
        if (system) {
            if (_systemDelivered[id]) revert AlreadyDelivered(id);
            _systemDelivered[id] = true;
        } else if (word & bit != 0) {
            revert AlreadyDelivered(id);
        }
        batch.word = word | bit;
    }

    /// @dev Whether a message was delivered, by its replay key: a system message by id, any other by
    /// its nonce bit. A view: the local bank is read from the cache or, before it, the registry.
    function _isMessageDelivered(
        Route memory route,
        bytes32 sender,
        bytes32 recipient,
        bytes32 id,
        uint32 nonce
    ) private view returns (bool) {
        bool system =
            (sender == route.peerStakingHub && recipient == ChainAddress.fromAddress(address(this))) ||
                (sender == route.peerBank && sender != bytes32(0));
        return system ? _systemDelivered[id] : _isDelivered(route.origin, nonce);
    }

    /// @dev How a message executes: the one place its kind is worked out (a call unless the peer's
    /// StakingHub or bank sent it). Looks the local bank up the first time the peer's bank turns
    /// out to be the sender (it is bound once, so keeping it for the batch is exact).
    function _kindOf(
        Route memory route,
        bytes32 sender,
        bytes32 recipient,
        uint256 amount,
        bytes calldata body
    ) private returns (Kind) {
        if (sender != route.peerStakingHub && sender != route.peerBank) return Kind.Call;
        if (sender == route.peerStakingHub && recipient == ChainAddress.fromAddress(address(this))) {
            return Kind.StakeReport;
        }
        if (sender != route.peerBank) return Kind.Call;
        if (route.localBank == address(0)) route.localBank = _bank();
        if (recipient == ChainAddress.fromAddress(route.localBank)) return Kind.BankMessage;
        if (
            amount != 0 &&
            body.length >= BankMessages.TRANSFER_HEADER_LENGTH &&
            BankMessages.kind(body) == BankMessages.TRANSFER
        ) return Kind.ValueTransfer;
        // Anything else from the peer's bank is an ordinary call whose amount moves nothing.
        return Kind.Call;
    }

    /// @dev Step 5: executes every delivered message, in order, each by its kind as the checking
    /// pass worked it out. Never reverts for a recipient's fault: a failure is recorded for `retry`.
    /// Every field is read from the message without the length check: `_checkMessages` checked it.
    function _executeAll(Route memory route, Batch memory batch, bytes calldata messages) private {
        bytes32[] memory ids = batch.ids;
        bytes memory kinds = batch.kinds;
        // A bank message gets the batch's first signer (a price raise needs it, 3.9).
        address firstSigner = batch.signers.length != 0 ? batch.signers[0] : address(0);
        uint256 n = ids.length;
        uint256 at = MESSAGE_COUNT_BYTES;
        for (uint256 i = 0; i < n;) {
            bytes32 id = _get(ids, i);
            _emitDelivered(id);
            bytes calldata m;
            (m, at) = _checkedFrameAt(messages, at);
            _execute(route, id, m, _kindAt(kinds, i), firstSigner, FailureKind.None);
            unchecked {
                ++i;
            }
        }
    }

    /// @dev Runs one message by its kind (docs/protocol.md 3.3, 3.4): the one execution path of
    /// `deliver` and `retry`. In a batch (`failed` is `None`) each call gets exactly
    /// `handlerGasLimit` gas and a failure is recorded; on `retry` (`failed` is what was recorded)
    /// each call gets all the gas left and a failure reverts, so the failure stays recorded. A value
    /// transfer's payout is asked for unless `failed` says it was made (`HandlerReverted`).
    function _execute(
        Route memory route,
        bytes32 id,
        bytes calldata m,
        Kind kind,
        address firstSigner,
        FailureKind failed
    ) private {
        uint64 origin = route.origin;
        bool retrying = failed != FailureKind.None;
        // The common case first. A stake report's and a bank message's recipients are this Inbox and
        // the local bank: EVM addresses.
        bytes32 recipient = m.recipientUnchecked();
        if (!ChainAddress.isEvmAddress(recipient)) {
            if (retrying) revert ChainAddress.NotEvmAddress(recipient);
            // A value transfer to an account that is not an EVM address is never paid here.
            _recordNotEvm(id, recipient, kind == Kind.ValueTransfer);
            return;
        }
        address target = address(uint160(uint256(recipient)));
        if (kind == Kind.Call) {
            // Any message of a sender other than the peer's bank is a call: its amount moves nothing.
            _callHandle(id, target, origin, m.senderUnchecked(), 0, m.bodyUnchecked(), retrying);
            return;
        }
        if (kind == Kind.StakeReport) {
            _applyStakeReport(origin, m.bodyUnchecked(), m.nonceUnchecked());
            return;
        }
        if (kind == Kind.BankMessage) {
            _call(
                id,
                target,
                abi.encodeCall(
                    ICorrespondentBank.onBankMessage,
                    (origin, m.nonceUnchecked(), m.bodyUnchecked(), firstSigner)
                ),
                retrying
            );
            return;
        }
        // Kind.ValueTransfer: pay from the origin's reserve, then run the handler (if any) with the
        // original sender. A payout that is not made holds the handler back until `retry`.
        uint256 amount = m.amountUnchecked();
        if (failed != FailureKind.HandlerReverted && !_payout(route, id, target, amount, retrying)) return;
        (bytes32 originalSender, bytes calldata userBody) = BankMessages.decodeTransfer(m.bodyUnchecked());
        if (userBody.length != 0) _callHandle(id, target, origin, originalSender, amount, userBody, retrying);
    }

    /// @dev A value transfer's payout from `route`'s reserve. In a batch: whether it was made; one
    /// that is not made is recorded, by whether the bank booked it (`PayoutPending`) or its call
    /// reverted and booked nothing (`PayoutReverted`); `HandlerReverted` later means it was paid, so
    /// `retry` never asks for it again (the bank keeps no record of a paid transfer). On `retry`: a
    /// payout still pending reverts `PayoutStillPending`, a reverting one reverts with its reason.
    function _payout(
        Route memory route,
        bytes32 id,
        address target,
        uint256 amount,
        bool retrying
    ) private returns (bool paid) {
        ICorrespondentBank bank = ICorrespondentBank(route.localBank);
        if (retrying) {
            if (!bank.payout(route.origin, id, target, amount)) revert PayoutStillPending(id);
            return true;
        }
        try bank.payout(route.origin, id, target, amount) returns (bool made) {
            if (!made) _recordFailure(id, FailureKind.PayoutPending, "");
            return made;
        } catch {
            _recordFailure(id, FailureKind.PayoutReverted, _returnData());
            return false;
        }
    }

    /// @dev `handle(origin, sender, amount, body)` on `target`, bounded in a batch and not on
    /// `retry` (see `_callAt`); the calldata is written in scratch memory, never allocated, so a batch's
    /// memory does not grow with its messages.
    function _callHandle(
        bytes32 id,
        address target,
        uint64 originCode,
        bytes32 sender,
        uint256 amount,
        bytes calldata body,
        bool retrying
    ) private {
        uint256 ptr;
        uint256 size;
        assembly ("memory-safe") {
            ptr := mload(0x40)
            let padded := and(add(body.length, 0x1f), not(0x1f))
            // Zero the body's last word first (clean padding; a no-op slot when the body is empty).
            mstore(add(ptr, add(0x84, padded)), 0)
            mstore(ptr, HANDLE_SELECTOR)
            mstore(add(ptr, 0x04), originCode)
            mstore(add(ptr, 0x24), sender)
            mstore(add(ptr, 0x44), amount)
            mstore(add(ptr, 0x64), 0x80)
            mstore(add(ptr, 0x84), body.length)
            calldatacopy(add(ptr, 0xa4), body.offset, body.length)
            size := add(0xa4, padded)
        }
        if (retrying) {
            _callAt(id, target, ptr, size, true);
            return;
        }
        // `_callAt`'s batch branch written out: the call of almost every message.
        uint256 limit = _requireHandlerGas();
        bool ok;
        assembly ("memory-safe") {
            ok := call(limit, target, 0, ptr, size, 0, 0)
        }
        if (!ok) _recordFailure(id, FailureKind.HandlerReverted, _returnData());
    }

    /// @dev Calls `target` with `data` (see `_callAt`).
    function _call(bytes32 id, address target, bytes memory data, bool retrying) private {
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(data, 0x20)
        }
        _callAt(id, target, ptr, data.length, retrying);
    }

    /// @dev Calls `target` with the `size` bytes of memory at `ptr`. In a batch: with exactly
    /// `handlerGasLimit` gas, reverting the whole batch when the callee could not get its full limit
    /// (EIP-150 keeps 1/64 back), so a relayer cannot make a handler fail by starving it; a failure
    /// is recorded with at most `MAX_RETURN_DATA` bytes of what the callee returned. On `retry`:
    /// with all the gas left, and a failure reverts with its reason. Alike in both: a call to an
    /// account without code succeeds (as in the batch, so a retry cannot fail where delivery passed).
    function _callAt(bytes32 id, address target, uint256 ptr, uint256 size, bool retrying) private {
        bool ok;
        if (retrying) {
            assembly ("memory-safe") {
                ok := call(gas(), target, 0, ptr, size, 0, 0)
                if iszero(ok) {
                    let fmp := mload(0x40)
                    returndatacopy(fmp, 0, returndatasize())
                    revert(fmp, returndatasize())
                }
            }
            return;
        }
        uint256 limit = _requireHandlerGas();
        assembly ("memory-safe") {
            ok := call(limit, target, 0, ptr, size, 0, 0)
        }
        if (!ok) _recordFailure(id, FailureKind.HandlerReverted, _returnData());
    }

    /// @dev Returns `handlerGasLimit`, reverting `InsufficientGasForHandler` unless a call made
    /// right after this gives the callee all of it: the caller keeps 1/64 (EIP-150) and pays the
    /// cold account access, both covered here.
    function _requireHandlerGas() private view returns (uint256 limit) {
        limit = handlerGasLimit;
        if (gasleft() < _handlerGasNeeded) revert InsufficientGasForHandler();
    }

    /// @dev At most `MAX_RETURN_DATA` bytes of the last call's return data (a callee cannot make us
    /// pay for copying a huge revert reason).
    function _returnData() private pure returns (bytes memory reason) {
        assembly ("memory-safe") {
            let size := returndatasize()
            if gt(size, MAX_RETURN_DATA) {
                size := MAX_RETURN_DATA
            }
            reason := mload(0x40)
            mstore(reason, size)
            returndatacopy(add(reason, 0x20), 0, size)
            mstore(0x40, add(add(reason, 0x20), and(add(size, 0x1f), not(0x1f))))
        }
    }

    /// @dev A message to an account that is not an EVM address cannot run here; it is recorded
    /// (visible, never silently dropped) and stays failed (`retry` reverts `NotEvmAddress`). A value
    /// transfer is recorded `PayoutReverted`: it was not paid.
    function _recordNotEvm(bytes32 id, bytes32 recipient, bool valueTransfer) private {
        _recordFailure(
            id,
            valueTransfer ? FailureKind.PayoutReverted : FailureKind.HandlerReverted,
            abi.encodeWithSelector(ChainAddress.NotEvmAddress.selector, recipient)
        );
    }

    /// @dev The local bank: read from the registry once (reverts `NotBound` before the binding),
    /// then from this contract's storage.
    function _bank() private returns (address bank) {
        bank = _localBank;
        if (bank == address(0)) {
            bank = registry.local().bank;
            _localBank = bank;
        }
    }

    /// @dev Emits `CheckpointAccepted` with the packed signatures exactly as `deliver` got them
    /// (`_recoverSigners` checked that they are whole 65-byte signatures), or with none when
    /// `deliver` is the transaction's own call: its caller is the transaction's sender and has no
    /// code (an EIP-7702 delegated account has), so the transaction's input is this very call and
    /// holds them (docs/protocol.md 3.5). The log data is written once, in its ABI encoding
    /// `(count, last, bytes)`, in scratch memory past the free pointer, and logged from there: the
    /// same log as `emit`, without the ABI encoder's copies.
    function _emitCheckpointAccepted(Checkpoint calldata checkpoint, bytes calldata signatures) private {
        bytes32 topic = CheckpointAccepted.selector;
        uint64 originCode = checkpoint.origin;
        bytes32 root = checkpoint.root;
        uint32 count = checkpoint.count;
        bytes32 last = checkpoint.last;
        assembly ("memory-safe") {
            let length := signatures.length
            if and(eq(caller(), origin()), iszero(extcodesize(caller()))) {
                length := 0
            }
            let data := mload(0x40)
            mstore(data, count)
            mstore(add(data, 0x20), last)
            mstore(add(data, 0x40), 0x60)
            mstore(add(data, 0x60), length)
            calldatacopy(add(data, 0x80), signatures.offset, length)
            mstore(add(add(data, 0x80), length), 0) // zero padding up to the next word
            log3(data, add(0x80, and(add(length, 31), not(31))), topic, originCode, root)
        }
    }

    /// @dev `emit Delivered(id)`: a log with no data, from scratch space (no memory is touched).
    function _emitDelivered(bytes32 id) private {
        bytes32 topic = Delivered.selector;
        assembly ("memory-safe") {
            log2(0x00, 0x00, topic, id)
        }
    }

    /// @dev Copies a bytes32 array.
    function _copy(bytes32[] memory source) private pure returns (bytes32[] memory target) {
        target = new bytes32[](source.length);
        assembly ("memory-safe") {
            mcopy(add(target, 0x20), add(source, 0x20), shl(5, mload(source)))
        }
    }

    /// @dev `array[i] = value` without the bounds check: `i` is below the batch size the arrays
    /// were allocated with (one element per message).
    function _put(bytes32[] memory array, uint256 i, bytes32 value) private pure {
        assembly ("memory-safe") {
            mstore(add(add(array, 0x20), shl(5, i)), value)
        }
    }

    /// @dev `array[i] = value` without the bounds check (see the bytes32 overload).
    function _put(uint256[] memory array, uint256 i, uint256 value) private pure {
        assembly ("memory-safe") {
            mstore(add(add(array, 0x20), shl(5, i)), value)
        }
    }

    /// @dev `array[i]` without the bounds check (see `_put`).
    function _get(bytes32[] memory array, uint256 i) private pure returns (bytes32 value) {
        assembly ("memory-safe") {
            value := mload(add(add(array, 0x20), shl(5, i)))
        }
    }

    /// @dev `Kind(kinds[i])` without the bounds check (one byte per message, see `_put`).
    function _kindAt(bytes memory kinds, uint256 i) private pure returns (Kind kind) {
        assembly ("memory-safe") {
            kind := byte(0, mload(add(add(kinds, 0x20), i)))
        }
    }

    /// @dev How many messages `messages` frames: its first two bytes (0 when it has fewer).
    function _messageCount(bytes calldata messages) private pure returns (uint256 n) {
        if (messages.length < MESSAGE_COUNT_BYTES) return 0;
        assembly ("memory-safe") {
            n := shr(240, calldataload(messages.offset))
        }
    }

    /// @dev The message framed at byte `at` of `messages` (a two-byte length, then the message) and
    /// the offset of the next frame; reverts `MessagesMalformed(at)` when the frame runs past the end.
    function _frameAt(
        bytes calldata messages,
        uint256 at
    ) private pure returns (bytes calldata m, uint256 next) {
        uint256 start = at + FRAME_LENGTH_BYTES;
        if (start > messages.length) revert MessagesMalformed(at);
        uint256 length;
        assembly ("memory-safe") {
            length := shr(240, calldataload(add(messages.offset, at)))
        }
        next = start + length;
        if (next > messages.length) revert MessagesMalformed(at);
        m = messages[start:next];
    }

    /// @dev `_frameAt` without its bounds checks, for the execution pass only: `_checkMessages`
    /// framed the same bytes already.
    function _checkedFrameAt(
        bytes calldata messages,
        uint256 at
    ) private pure returns (bytes calldata m, uint256 next) {
        assembly ("memory-safe") {
            let length := shr(240, calldataload(add(messages.offset, at)))
            m.offset := add(add(messages.offset, at), FRAME_LENGTH_BYTES)
            m.length := length
            next := add(add(at, FRAME_LENGTH_BYTES), length)
        }
    }

    function _recordFailure(bytes32 id, FailureKind kind, bytes memory reason) private {
        _failures[id] = kind;
        emit HandlerFailed(id, kind, reason);
    }

    function _isDelivered(uint64 origin, uint32 nonce) private view returns (bool) {
        return (_deliveredBits[origin][nonce >> 8] >> (nonce & 0xff)) & 1 == 1;
    }
}
