import { getAddress, isAddress, type Address } from "viem";
import { z } from "zod";

/**
 * The node's configuration: one file holding the routing table (every chain the node talks to) and
 * the roles to run. Keys never appear in it, only the names of the environment variables that hold
 * them, so a config file can be shared and committed.
 *
 * YAML is read with the failsafe schema (every scalar is a string) so that a chain code such as
 * `1e10` or `0123` is never silently turned into a number: the schema below converts numbers and
 * booleans itself and accepts real numbers too, for JSON files.
 */

export const ROLES = ["indexer", "api", "attester", "relayer", "watcher"] as const;
export type Role = (typeof ROLES)[number];

/** Chain code as written in addresses: lower-case hex, no `0x`, no leading zero, 1..2^64-1. */
export const chainCodeString = z
  .string()
  .regex(
    /^[1-9a-f][0-9a-f]{0,15}$/,
    "must be a chain code: lower-case hex without 0x or leading zeros, at most 16 digits",
  );

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v),
    z
      .number({ message: "must be a whole number" })
      .int("must be a whole number")
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`),
  );

/** A positive decimal number (YAML strings such as `1.5` are converted). */
const positive = (max: number) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v),
    z
      .number({ message: "must be a number" })
      .positive("must be more than 0")
      .max(max, `must be at most ${max}`),
  );

/**
 * The smallest `reorgBound` a chain may be given: the attester signs a snapshot only this many
 * blocks below the tip when the chain's RPC has no `finalized`/`safe` block. Below it a plain
 * proof-of-work or a badly run chain's reorg could replace a signed count (docs/protocol.md 3.8, A3).
 */
export const MIN_REORG_BOUND = 12;

const boolean = z.preprocess(
  (v) => (v === "true" ? true : v === "false" ? false : v),
  z.boolean({ message: "must be true or false" }),
);

const address = z
  .string()
  .refine((v) => isAddress(v, { strict: false }), "must be a 0x-prefixed 20-byte hex address")
  .refine(
    (v) => !/[A-F]/.test(v.slice(2)) || !/[a-f]/.test(v.slice(2)) || isAddress(v, { strict: true }),
    "has a wrong EIP-55 checksum",
  )
  .transform((v) => getAddress(v) as Address);

const httpUrl = z
  .string()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === "http:" || u.protocol === "https:";
    } catch {
      return false;
    }
  }, "must be an http(s) URL")
  .transform((v) => v.replace(/\/+$/, ""));

const envVarName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    "must be the NAME of an environment variable (keys are never written in the config)",
  );

export const contractsSchema = z.strictObject({
  registry: address.optional(),
  outbox: address,
  inbox: address,
  stakingHub: address,
  bank: address,
  /** The settlement token; when absent the CLI asks the bank for it. */
  token: address.optional(),
});

export const chainSchema = z.strictObject({
  name: z.string().min(1),
  /** EVM chain id (the EIP-712 domain of this chain's checkpoints). */
  chainId: integer(1),
  /**
   * JSON-RPC endpoints, tried in order with fallback. The home chain needs one; with
   * `relayer.handover: bundles` a peer needs none (the watcher and status use it where given).
   */
  rpc: z.array(httpUrl).default([]),
  contracts: contractsSchema.optional(),
  /** Entry nodes of this chain's community: their APIs serve its checkpoints and signatures. */
  nodes: z.array(httpUrl).default([]),
  /** Blocks below the tip before an event is believed. */
  confirmations: integer(0, 10_000).default(2),
  pollIntervalMs: integer(10).default(2_000),
  /** First block to index (the block the Outbox was deployed in). */
  startBlock: integer(0).default(0),
  /** Largest block range per eth_getLogs. */
  maxLogRange: integer(1).default(2_000),
  /**
   * Most JSON-RPC calls the node's reads send together as one HTTP request (a JSON-RPC batch);
   * 0 sends every call alone (for endpoints that refuse batches). Transactions are never batched.
   */
  rpcBatchSize: integer(0, 1_000).default(100),
  /**
   * The most the node pays per gas on this chain, in gwei, whatever its RPC says fees are: every
   * transaction it signs (replacements included) has maxFeePerGas (or gasPrice) at most this. A
   * lying or broken RPC cannot make a key pay its balance away as fees.
   */
  maxFeePerGasGwei: positive(10_000_000).default(500),
  /**
   * How long a transaction may stay pending before it is replaced with fees raised by a quarter
   * (from the fee the node itself signed, up to maxFeePerGasGwei); a key with one pending longer
   * is stuck (a metric and a health failure).
   */
  txTimeoutMs: integer(1_000).default(60_000),
  /**
   * The block tag the attester signs at or below: `finalized` (or `safe`, faster and weaker) where
   * the chain's client offers it.
   */
  finalityTag: z.enum(["finalized", "safe"]).default("finalized"),
  /**
   * Where the client has no finalized/safe block: the attester signs only snapshots at least this
   * many blocks below the tip (the deepest reorg the operator believes the chain can have).
   */
  reorgBound: integer(MIN_REORG_BOUND, 1_000_000).default(64),
  /**
   * Independent JSON-RPC endpoints (another provider than `rpc`) that must agree with `rpc` on the
   * block hash and the Outbox's root before the attester signs a snapshot: one lying RPC cannot get
   * a false root signed. Tried in order with fallback; never published by the API.
   */
  witnessRpc: z.array(httpUrl).default([]),
});

export const configSchema = z
  .strictObject({
    /** Our chain: attester and watcher home, the chain whose checkpoints our API serves. */
    home: chainCodeString,
    roles: z
      .array(z.enum(ROLES))
      .min(1, "name at least one role")
      .default([...ROLES]),
    chains: z
      .record(z.string(), chainSchema)
      .refine((c) => Object.keys(c).length > 0, "list at least one chain"),
    redis: z
      .strictObject({
        url: z
          .string()
          .regex(/^rediss?:\/\//, "must be a redis:// URL")
          .default("redis://127.0.0.1:6379"),
        /** Prefix of every key and queue, so several nodes (or tests) can share one Redis. */
        prefix: z
          .string()
          .regex(/^[A-Za-z0-9_.-]+$/)
          .default("distpos"),
      })
      .prefault({}),
    api: z
      .strictObject({
        host: z.string().default("127.0.0.1"),
        port: integer(0, 65535).default(7545),
        /** Largest message body accepted by POST /v1/messages, in bytes. */
        bodyLimit: integer(1024).default(65_536),
        /** Largest bundle accepted by POST /v1/bundles, in bytes (1,000 messages fit). */
        bundleBodyLimit: integer(1024).default(4_194_304),
        /** GET /v1/health answers 503 when a chain's index is more blocks than this behind. */
        maxIndexerLag: integer(0).default(50),
        /** Requests one client address may make per `rateLimitWindowMs` (429 beyond). */
        rateLimitMax: integer(1).default(6_000),
        rateLimitWindowMs: integer(100).default(60_000),
        /** How long /v1/health and message status reuse a chain read (ms). */
        statusCacheMs: integer(0).default(1_000),
      })
      .prefault({}),
    keys: z
      .strictObject({
        attester: envVarName.optional(),
        relayer: envVarName.optional(),
        watcher: envVarName.optional(),
        user: envVarName.optional(),
      })
      .prefault({}),
    attester: z
      .strictObject({
        /** Calls Outbox.snapshot() when this many messages are not yet snapshotted... */
        minNewMessages: integer(1).default(1),
        /** ...and at least this long after our previous snapshot call. */
        snapshotIntervalMs: integer(0).default(5_000),
        /** Whether this attester calls snapshot() at all (other attesters may do it). */
        snapshot: boolean.default(true),
      })
      .prefault({}),
    relayer: z
      .strictObject({
        /** Destination codes to deliver to; default every configured chain. */
        destinations: z.array(chainCodeString).optional(),
        /** Origin codes to carry messages from; default every configured chain. */
        origins: z.array(chainCodeString).optional(),
        /**
         * The most messages in one deliver; default none: batches are sized by the gas (as many
         * as keep the limit within maxBatchGas and the destination's block gas limit).
         */
        maxBatchMessages: integer(1, 5_000).optional(),
        maxBatchGas: integer(100_000).default(15_000_000),
        /**
         * The most bytes of calldata in one deliver: Geth-based clients refuse transactions over
         * 128 KB (txMaxSize) from their pool; a larger batch is split.
         */
        maxBatchBytes: integer(1_000).default(120_000),
        /** How long a batch waits for more messages before it is sent. */
        batchWaitMs: integer(0).default(300),
        /** Jobs one process holds at once per destination (the upper bound of a batch). */
        concurrency: integer(1).default(5_000),
        attempts: integer(1).default(10),
        backoffMs: integer(1).default(1_000),
        /**
         * How long a job stays taken by a relayer process that stopped answering (BullMQ lock);
         * after that another process (or the restarted one) takes it.
         */
        lockDurationMs: integer(1_000).default(30_000),
        /** Hand our home chain's outgoing messages to the destination's entry nodes. */
        push: boolean.default(true),
        /**
         * How messages cross (docs/protocol.md 4): `bundles` (the default), a node indexes its home
         * chain only, hands verified bundles (checkpoint, signatures, messages, proof) to the
         * destination's entry nodes, and delivers to its home Inbox from the bundles it accepted
         * (POST /v1/bundles), with no peer RPC; `messages`, one process follows every chain of the
         * routing table (each needs an RPC) and delivers between all of them from its own indexes.
         */
        handover: z.enum(["messages", "bundles"]).default("bundles"),
        /** With bundles: how often peers' entry nodes are asked what waits for us (GET /v1/bundles). */
        pullIntervalMs: integer(100).default(5_000),
        /**
         * Fee policy (docs/protocol.md 3.9, relayer/README.md "Fees"): a message whose fee plus
         * top-ups is below its delivery cost × (1 + minMarginPct/100) waits, status `underpaid`.
         */
        fees: z
          .strictObject({
            minMarginPct: z
              .preprocess(
                (v) => (typeof v === "string" && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v),
                z.number({ message: "must be a number" }).min(0, "must be at least 0").max(10_000),
              )
              .default(0),
            /** Deliver messages that carry no fee and no top-up (self-relay, demo, fee-less routes). */
            deliverUnpaid: boolean.default(true),
            /**
             * Settlement tokens one native token of a destination is worth, by its code: cost =
             * gas × gas price (wei, from the destination's RPC) × this. A destination without one
             * costs 0, so only fee-less messages are told apart there.
             */
            nativePrice: z
              .record(
                chainCodeString,
                z.string().regex(/^\d+(\.\d{1,18})?$/, "must be a decimal number"),
              )
              .default({}),
            /** Gas one message is counted at before the relayer measured its own deliveries. */
            gasPerMessage: integer(1).default(120_000),
          })
          .prefault({}),
      })
      .prefault({}),
    routes: z
      .strictObject({
        /**
         * Entry-node URLs this node's attester announces for the home community (a route record
         * signed with keys.attester, served by GET /v1/routes); empty announces nothing.
         */
        announce: z.array(httpUrl).max(16).default([]),
        /** Nodes asked for route records at start and on every pull (pinned by the operator). */
        bootstrap: z.array(httpUrl).default([]),
        /** How often route records are pulled from bootstrap and peers' entry nodes. */
        pullIntervalMs: integer(1_000).default(30_000),
        /** Lifetime of the record this node signs; it is signed again at half of it. */
        ttlSeconds: integer(60).default(86_400),
      })
      .prefault({}),
    indexer: z
      .strictObject({
        /** How long a dead indexer process keeps other processes from taking over its chains. */
        leaseTtlMs: integer(1_000).default(15_000),
      })
      .prefault({}),
    watcher: z
      .strictObject({
        pollIntervalMs: integer(10).default(2_000),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z
          .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
          .default("info"),
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => {
    if (!(cfg.home in cfg.chains)) {
      ctx.addIssue({
        code: "custom",
        path: ["home"],
        message: `chain ${cfg.home} is not listed under chains`,
      });
    }
    for (const key of ["destinations", "origins"] as const) {
      for (const [i, code] of (cfg.relayer[key] ?? []).entries()) {
        if (!(code in cfg.chains)) {
          ctx.addIssue({
            code: "custom",
            path: ["relayer", key, i],
            message: `chain ${code} is not listed under chains`,
          });
        }
      }
    }
    const needs: [Role, keyof typeof cfg.keys][] = [
      ["attester", "attester"],
      ["relayer", "relayer"],
      ["watcher", "watcher"],
    ];
    for (const [role, key] of needs) {
      if (cfg.roles.includes(role) && !cfg.keys[key]) {
        ctx.addIssue({
          code: "custom",
          path: ["keys", key],
          message: `role ${role} needs keys.${key} (the name of the env var holding its private key)`,
        });
      }
    }
    for (const [code, chain] of Object.entries(cfg.chains)) {
      const needed = code === cfg.home || cfg.relayer.handover !== "bundles";
      if (needed && chain.rpc.length === 0)
        ctx.addIssue({
          code: "custom",
          path: ["chains", code, "rpc"],
          message:
            code === cfg.home
              ? "needs at least one RPC URL (the home chain)"
              : "needs at least one RPC URL (relayer.handover messages indexes every chain; with bundles a peer needs none)",
        });
    }
    for (const [code, chain] of Object.entries(cfg.chains)) {
      if (chain.contracts) continue;
      if (code === cfg.home)
        ctx.addIssue({
          code: "custom",
          path: ["chains", code, "contracts"],
          message:
            "is required for the home chain (its registry, outbox, inbox, stakingHub and bank addresses, from its deployment record)",
        });
      else if (cfg.relayer.handover !== "bundles")
        ctx.addIssue({
          code: "custom",
          path: ["chains", code, "contracts"],
          message:
            "is required with relayer.handover messages (the node indexes every chain's contracts); with bundles a peer's come from the home RouteRegistry",
        });
    }
    const ids = new Map<number, string>();
    for (const [code, chain] of Object.entries(cfg.chains)) {
      const other = ids.get(chain.chainId);
      if (other) {
        ctx.addIssue({
          code: "custom",
          path: ["chains", code, "chainId"],
          message: `chain id ${chain.chainId} is also used by chain ${other}`,
        });
      }
      ids.set(chain.chainId, code);
    }
  });

export type NodeConfigInput = z.input<typeof configSchema>;
export type NodeConfig = z.output<typeof configSchema>;
export type ChainConfig = NodeConfig["chains"][string];
export type ChainContracts = NonNullable<ChainConfig["contracts"]>;
