import { Redis } from "ioredis";
import type { PublicClient } from "viem";

import { CheckpointStore } from "./checkpoints.js";
import { publicClientFor } from "./chain/clients.js";
import type { LoadedConfig } from "./config/load.js";
import { ChainStore } from "./indexer/store.js";
import { ChainView } from "./indexer/view.js";
import { createLogger, type Logger } from "./log.js";
import { Metrics } from "./metrics.js";
import { RelayQueues } from "./relay/queue.js";
import { RouteTable } from "./routes/table.js";

/**
 * What every role of one node shares: the config, one logger and metrics registry, the Redis
 * connections, a client per chain, and the read views of every chain's index.
 */
export class NodeContext {
  readonly redis: Redis;
  /** For BullMQ: commands wait through a Redis outage instead of failing. */
  readonly bullConnection: Redis;
  readonly clients = new Map<bigint, PublicClient>();
  readonly stores = new Map<bigint, ChainStore>();
  readonly views = new Map<bigint, ChainView>();
  readonly checkpoints: CheckpointStore;
  readonly queues: RelayQueues;
  /** Route records signed by stake: the peers' entry nodes (relayer/routes/). */
  readonly routes: RouteTable;
  /** Aborted when the node stops: every wait on a transaction ends at once. */
  readonly shutdown = new AbortController();

  constructor(
    readonly cfg: LoadedConfig,
    readonly log: Logger = createLogger(cfg.log.level, { node: cfg.home }),
    readonly metrics: Metrics = new Metrics(true),
  ) {
    const redisLog = log.child({ component: "redis" });
    let lastError = "";
    const onError = (e: Error) => {
      // ioredis reports every reconnection attempt; log each distinct problem once.
      if (e.message !== lastError) redisLog.warn({ err: e.message }, "redis connection error");
      lastError = e.message;
    };
    this.redis = new Redis(cfg.redis.url, {
      maxRetriesPerRequest: 2,
      retryStrategy: (n) => Math.min(n * 100, 2_000),
      // Commands issued in the same turn of the event loop (the roles' polling reads, a batch's
      // per-message reads) leave in one socket write instead of one write each.
      enableAutoPipelining: true,
    });
    this.redis.on("error", onError);
    this.redis.on("ready", () => (lastError = ""));
    this.bullConnection = new Redis(cfg.redis.url, {
      maxRetriesPerRequest: null,
      retryStrategy: (n) => Math.min(n * 100, 2_000),
    });
    this.bullConnection.on("error", onError);
    for (const chain of cfg.chainList) {
      this.clients.set(chain.code, publicClientFor(chain));
      const store = new ChainStore(this.redis, cfg.redis.prefix, chain.code);
      this.stores.set(chain.code, store);
      this.views.set(chain.code, new ChainView(store));
    }
    this.checkpoints = new CheckpointStore(this.redis, cfg.redis.prefix);
    this.queues = new RelayQueues(
      cfg,
      this.bullConnection,
      log.child({ component: "queue" }),
      metrics,
    );
    this.routes = new RouteTable(this);
  }

  client(code: bigint): PublicClient {
    const c = this.clients.get(code);
    if (!c) throw new Error(`chain ${code.toString(16)} is not in the routing table`);
    return c;
  }

  view(code: bigint): ChainView {
    const v = this.views.get(code);
    if (!v) throw new Error(`chain ${code.toString(16)} is not in the routing table`);
    return v;
  }

  store(code: bigint): ChainStore {
    const s = this.stores.get(code);
    if (!s) throw new Error(`chain ${code.toString(16)} is not in the routing table`);
    return s;
  }

  async close(): Promise<void> {
    await this.queues.close().catch(() => undefined);
    this.redis.disconnect();
    this.bullConnection.disconnect();
  }
}
