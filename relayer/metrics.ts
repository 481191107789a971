import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The node's Prometheus metrics, one registry per node instance (so several nodes can live in one
 * process, as in tests). Served by the API at GET /metrics. Names are documented in
 * relayer/README.md.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly rpcErrors = new Counter({
    name: "distpos_rpc_errors_total",
    help: "Failed JSON-RPC calls",
    labelNames: ["chain", "op"],
    registers: [this.registry],
  });
  readonly indexedBlock = new Gauge({
    name: "distpos_indexer_block",
    help: "Last block indexed (below tip - confirmations)",
    labelNames: ["chain"],
    registers: [this.registry],
  });
  readonly indexedLeaves = new Gauge({
    name: "distpos_indexer_leaves",
    help: "Outbox leaves indexed",
    labelNames: ["chain"],
    registers: [this.registry],
  });
  readonly reorgs = new Counter({
    name: "distpos_indexer_reorgs_total",
    help: "Reorgs detected (block hash changed below the cursor)",
    labelNames: ["chain"],
    registers: [this.registry],
  });
  readonly treeMismatches = new Counter({
    name: "distpos_indexer_root_mismatches_total",
    help: "Indexed tree disagreeing with an on-chain root twice in a row (index rolled back or rebuilt)",
    labelNames: ["chain"],
    registers: [this.registry],
  });
  readonly snapshotsCalled = new Counter({
    name: "distpos_attester_snapshot_calls_total",
    help: "Outbox.snapshot() transactions sent",
    registers: [this.registry],
  });
  readonly checkpointsSigned = new Counter({
    name: "distpos_attester_checkpoints_signed_total",
    help: "Checkpoints signed",
    registers: [this.registry],
  });
  readonly signRefused = new Counter({
    name: "distpos_attester_sign_refused_total",
    help: "Checkpoints not signed because our root differs from the chain's",
    registers: [this.registry],
  });
  readonly signedCount = new Gauge({
    name: "distpos_attester_signed_count",
    help: "Highest count signed",
    registers: [this.registry],
  });
  readonly messagesQueued = new Counter({
    name: "distpos_relay_messages_queued_total",
    help: "Messages added to a destination queue",
    labelNames: ["destination", "source"],
    registers: [this.registry],
  });
  readonly messagesDelivered = new Counter({
    name: "distpos_relay_messages_delivered_total",
    help: "Messages whose delivery this node confirmed",
    labelNames: ["origin", "destination", "by"],
    registers: [this.registry],
  });
  readonly batches = new Counter({
    name: "distpos_relay_batches_total",
    help: "deliver() transactions",
    labelNames: ["destination", "outcome"],
    registers: [this.registry],
  });
  readonly simulationReverts = new Counter({
    name: "distpos_relay_simulation_reverts_total",
    help: "deliver() simulations (or gas estimates) that reverted, by the Inbox error named",
    labelNames: ["destination", "error"],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: "distpos_relay_batch_messages",
    help: "Messages per deliver()",
    labelNames: ["destination"],
    buckets: [1, 2, 5, 10, 20, 50, 100, 200],
    registers: [this.registry],
  });
  readonly batchGas = new Histogram({
    name: "distpos_relay_batch_gas",
    help: "Gas used per deliver()",
    labelNames: ["destination"],
    buckets: [1e5, 3e5, 1e6, 3e6, 1e7, 3e7],
    registers: [this.registry],
  });
  readonly underpaid = new Counter({
    name: "distpos_relay_underpaid_total",
    help: "Judgements of a message (with its top-ups) as underpaid: held for a top-up (relayer.fees)",
    labelNames: ["origin", "destination"],
    registers: [this.registry],
  });
  /** Route labels: origin and destination chain codes (hex). Amounts in whole tokens. */
  readonly feesEarned = new Counter({
    name: "distpos_relay_fees_earned_tokens_total",
    help: "Delivery fees the messages this relayer delivered carried (settlement tokens), per route",
    labelNames: ["origin", "destination"],
    registers: [this.registry],
  });
  readonly gasSpentWei = new Counter({
    name: "distpos_relay_gas_spent_wei_total",
    help: "What this relayer's deliver transactions cost (gas used x effective gas price, wei), per route",
    labelNames: ["origin", "destination"],
    registers: [this.registry],
  });
  readonly gasSpentTokens = new Counter({
    name: "distpos_relay_gas_spent_tokens_total",
    help: "The same cost in settlement tokens (relayer.fees.nativePrice of the destination; 0 without one), per route",
    labelNames: ["origin", "destination"],
    registers: [this.registry],
  });
  readonly relayFailures = new Counter({
    name: "distpos_relay_failures_total",
    help: "Failed delivery attempts",
    labelNames: ["destination", "reason"],
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: "distpos_relay_dead_letters_total",
    help: "Messages moved to the dead-letter queue",
    labelNames: ["destination"],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "distpos_relay_queue_depth",
    help: "Jobs waiting or delayed per destination",
    labelNames: ["destination", "state"],
    registers: [this.registry],
  });
  readonly signaturesFetched = new Counter({
    name: "distpos_relay_signatures_fetched_total",
    help: "Valid checkpoint signatures fetched from entry nodes",
    labelNames: ["origin"],
    registers: [this.registry],
  });
  readonly watcherChecked = new Counter({
    name: "distpos_watcher_signatures_checked_total",
    help: "Checkpoint signatures checked against the home Outbox",
    labelNames: ["source"],
    registers: [this.registry],
  });
  readonly fraudProofs = new Counter({
    name: "distpos_watcher_fraud_proofs_total",
    help: "Fraud proofs sent (proveFraud or proveLastLeafFraud)",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly txs = new Counter({
    name: "distpos_transactions_total",
    help: "Transactions sent",
    labelNames: ["chain", "label", "outcome"],
    registers: [this.registry],
  });
  readonly nonceResyncs = new Counter({
    name: "distpos_nonce_resyncs_total",
    help: "Nonce re-read from the chain after a nonce error or a dropped transaction",
    labelNames: ["chain", "reason"],
    registers: [this.registry],
  });
  readonly nonceGaps = new Counter({
    name: "distpos_nonce_gaps_total",
    help: "Nonces below a pending transaction of ours that no transaction held (e.g. a reorg removed it), filled",
    labelNames: ["chain"],
    registers: [this.registry],
  });
  readonly feeCapped = new Counter({
    name: "distpos_fee_capped_total",
    help: "Fees the RPC's estimate put above chains.<code>.maxFeePerGasGwei (signed at the cap: reason estimate) or replacements not sent because the fee signed is at the cap (reason bump)",
    labelNames: ["chain", "reason"],
    registers: [this.registry],
  });
  readonly senderStuck = new Gauge({
    name: "distpos_sender_stuck",
    help: "1 while a key has a transaction pending past its receipt timeout or a nonce gap not filled yet",
    labelNames: ["chain", "sender"],
    registers: [this.registry],
  });
  readonly handoverWaits = new Counter({
    name: "distpos_handover_waits_total",
    help: "Messages held back from a hand-over for want of signatures that cover them (state waiting), or that no staked signers could ever carry (refused); once per change of reason",
    labelNames: ["destination", "state"],
    registers: [this.registry],
  });
  readonly pushesReceived = new Counter({
    name: "distpos_api_messages_pushed_total",
    help: "Messages handed over by peer nodes",
    labelNames: ["outcome"],
    registers: [this.registry],
  });

  constructor(defaults = false) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: "distpos_" });
  }
}
