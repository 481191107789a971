import type { AddressInfo } from "node:net";

import type { FastifyInstance } from "fastify";
import { privateKeyToAccount } from "viem/accounts";

import { buildApi } from "./api/server.js";
import { Attester } from "./attester/attester.js";
import { BundleHandover } from "./handover/outbound.js";
import { RelayerPresence } from "./handover/presence.js";
import { BundlePuller } from "./handover/pull.js";
import { ConfigError, readKey, type LoadedConfig } from "./config/load.js";
import { ChainIndexer } from "./indexer/indexer.js";
import type { StoredMessage } from "./indexer/store.js";
import { errorText, type Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { NodeContext } from "./node.js";
import { postMessage } from "./nodeApi/index.js";
import { DestinationRelay } from "./relay/relay.js";
import { relays } from "./relay/queue.js";
import { settleRelayed } from "./relay/relayed.js";
import { requeueMessage } from "./relay/requeue.js";
import { Watcher } from "./watcher/watcher.js";

/** How long `stop()` lets the roles finish before it closes the node under them. */
export const STOP_DEADLINE_MS = 3_000;

export interface RunningNode {
  ctx: NodeContext;
  /** Base URL of the API when the api role runs. */
  apiUrl?: string;
  indexers: ChainIndexer[];
  attester?: Attester;
  relays: DestinationRelay[];
  watcher?: Watcher;
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  metrics?: Metrics;
  env?: NodeJS.ProcessEnv;
  /** Indexer lease TTL (how long a dead indexer blocks a successor). */
  leaseTtlMs?: number;
  /** BullMQ lock duration / stalled check (how long a dead relayer's jobs stay taken). */
  lockDurationMs?: number;
}

/** Hands our home chain's new messages to their destination's entry nodes (SMTP-style). */
function pushToPeers(ctx: NodeContext, messages: StoredMessage[]): void {
  for (const m of messages) {
    for (const node of ctx.routes.peerEntryNodes(m.destination)) {
      void postMessage(node, m.message, { timeoutMs: 5_000, maxBytes: 64_000 })
        .then((answer) =>
          ctx.log.debug(
            { msgId: m.id, node, status: answer?.status },
            "message handed to peer node",
          ),
        )
        .catch((e: unknown) =>
          ctx.log.debug(
            { msgId: m.id, node, err: errorText(e) },
            "peer node did not take the message",
          ),
        );
    }
  }
}

/**
 * Starts the roles the config names. Keys are read (and checked) before anything starts, so a
 * missing or malformed key fails at once with the config field and the env var named.
 */
export async function startNode(
  cfg: LoadedConfig,
  options: StartOptions = {},
): Promise<RunningNode> {
  const env = options.env ?? process.env;
  const keys = {
    attester: cfg.roles.includes("attester") ? readKey(cfg, "attester", env) : undefined,
    relayer: cfg.roles.includes("relayer") ? readKey(cfg, "relayer", env) : undefined,
    watcher: cfg.roles.includes("watcher") ? readKey(cfg, "watcher", env) : undefined,
  };
  // The attester key signs our community's route record, whether or not the attester role runs.
  const routeSigner =
    keys.attester ??
    (cfg.routes.announce.length && cfg.keys.attester ? readKey(cfg, "attester", env) : undefined);
  const ctx = new NodeContext(cfg, options.log, options.metrics);
  const log = ctx.log;
  const node: RunningNode = { ctx, indexers: [], relays: [], stop: async () => undefined };
  // With bundles (relayer.handover) a node follows its home chain only: it indexes it, hands its
  // outgoing messages over as bundles, and delivers to it from the bundles peers hand it.
  const bundles = cfg.relayer.handover === "bundles";
  const destinations = bundles
    ? [cfg.home]
    : (cfg.relayer.destinations ?? cfg.chainList.map((c) => c.codeHex));
  const handover = bundles ? new BundleHandover(ctx) : undefined;
  const puller = bundles && keys.relayer ? new BundlePuller(ctx) : undefined;

  // The API first: a port taken by another process stops the node before any role started.
  let api: FastifyInstance | undefined;
  if (cfg.roles.includes("api")) {
    const wallets = [
      ...(keys.attester ? [{ role: "attester", key: keys.attester, chains: [cfg.home] }] : []),
      ...(keys.relayer ? [{ role: "relayer", key: keys.relayer, chains: destinations }] : []),
      ...(keys.watcher ? [{ role: "watcher", key: keys.watcher, chains: [cfg.home] }] : []),
    ].map(({ role, key, chains }) => ({
      role,
      address: privateKeyToAccount(key).address,
      chains,
    }));
    api = buildApi(ctx, { wallets, handover });
    try {
      await api.listen({ host: cfg.api.host, port: cfg.api.port });
    } catch (e) {
      await api.close().catch(() => undefined);
      await ctx.close();
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL")
        throw new ConfigError(cfg.file, [
          {
            path: code === "EADDRNOTAVAIL" ? "api.host" : "api.port",
            message:
              code === "EADDRINUSE"
                ? `port ${cfg.api.port} on ${cfg.api.host} is already in use by another process: choose a free port (0 = any free port)`
                : code === "EACCES"
                  ? `port ${cfg.api.port} on ${cfg.api.host} needs privileges this process lacks: choose a port above 1023`
                  : `${cfg.api.host} is not an address of this machine`,
          },
        ]);
      throw e;
    }
    const address = api.server.address() as AddressInfo;
    node.apiUrl = `http://${cfg.api.host}:${address.port}`;
    log.info({ url: node.apiUrl }, "api listening");
  }

  // Route records: our community's signed by our attester, the peers' pulled and verified.
  ctx.routes.start(routeSigner);

  if (cfg.roles.includes("indexer")) {
    // With messages the schema requires every chain's contracts (it indexes them all).
    const indexed = bundles
      ? [cfg.homeChain]
      : cfg.chainList.map((c) => cfg.chainWithContracts(c.code));
    for (const chain of indexed) {
      const ix = new ChainIndexer({
        chain,
        client: ctx.client(chain.code),
        store: ctx.store(chain.code),
        view: ctx.view(chain.code),
        log,
        metrics: ctx.metrics,
        leaseTtlMs: options.leaseTtlMs ?? cfg.indexer.leaseTtlMs,
        onDeliveriesReverted: async (ids) => {
          for (const id of ids) {
            const { outcome } = await requeueMessage(ctx, id);
            log.info({ msgId: id, outcome }, "reverted delivery: message queued again");
          }
        },
        // Deliveries our relayer confirmed that the index, past their blocks, does not hold: a
        // reorg removed them before the index read them (relay/relayed.ts).
        afterCommit: async (indexedTo) => {
          const gone = await settleRelayed(ctx.redis, cfg.redis.prefix, chain.code, indexedTo);
          if (!gone.length) return;
          log.warn(
            { chain: chain.codeHex, count: gone.length, indexedTo, msgIds: gone.slice(0, 20) },
            "confirmed deliveries are not on the chain the index follows (a reorg removed them): queueing them again",
          );
          for (const id of gone) {
            const { outcome } = await requeueMessage(ctx, id);
            log.info({ msgId: id, outcome }, "reverted delivery: message queued again");
          }
        },
        onMessages: async (messages) => {
          if (handover) return handover.add(messages);
          await ctx.queues.enqueue(
            messages.map((m) => ({
              id: m.id,
              origin: m.origin.toString(16),
              destination: m.destination.toString(16),
              nonce: m.nonce,
              message: m.message,
            })),
            "indexer",
          );
          if (chain.code === cfg.homeChain.code && cfg.relayer.push)
            pushToPeers(
              ctx,
              messages.filter((m) => relays(cfg, m.origin, m.destination)),
            );
        },
      });
      node.indexers.push(ix);
      ix.start();
    }
  }

  if (keys.attester) {
    node.attester = new Attester(ctx, keys.attester);
    node.attester.start();
  }

  if (keys.relayer) {
    for (const code of destinations) {
      const relay = new DestinationRelay(ctx, cfg.chainWithContracts(code), keys.relayer, {
        lockDurationMs: options.lockDurationMs ?? cfg.relayer.lockDurationMs,
        stalledIntervalMs: options.lockDurationMs ?? cfg.relayer.lockDurationMs,
      });
      relay.start();
      node.relays.push(relay);
    }
  }

  // Entry nodes take bundles only while a relayer of the home chain runs on their Redis.
  const presence = bundles && keys.relayer ? new RelayerPresence(ctx) : undefined;
  if (keys.relayer) {
    await presence?.start();
    puller?.start();
  }
  // The origin side needs no key: any node indexing our home chain hands its messages over (two
  // nodes of one community pushing the same bundle is harmless, the receiver queues by id).
  if (cfg.roles.includes("indexer")) handover?.start();

  if (keys.watcher) {
    node.watcher = new Watcher(ctx, keys.watcher);
    node.watcher.start();
  }

  node.stop = async () => {
    // Waits on transactions end at once (they stay in the mempool; the next start reads the nonce
    // back from the chain); whatever still holds a role after STOP_DEADLINE_MS is abandoned: a
    // relay job left active is taken again after lockDurationMs, an indexer round re-read.
    ctx.shutdown.abort();
    const roles = (async () => {
      await Promise.all(node.relays.map((r) => r.stop().catch(() => undefined)));
      await handover?.stop().catch(() => undefined);
      await puller?.stop().catch(() => undefined);
      await presence?.stop().catch(() => undefined);
      await node.watcher?.stop().catch(() => undefined);
      await node.attester?.stop().catch(() => undefined);
      await Promise.all(node.indexers.map((i) => i.stop().catch(() => undefined)));
      await ctx.routes.stop().catch(() => undefined);
      await api?.close().catch(() => undefined);
      return true;
    })();
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      roles,
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_DEADLINE_MS))),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      log.warn(
        { deadlineMs: STOP_DEADLINE_MS },
        "roles still busy at the stop deadline: stopping anyway",
      );
      // The API closes after the roles: a role still busy must not leave the port held (a node
      // embedded in another process, such as a test, would keep that process alive).
      await api?.close().catch(() => undefined);
    }
    await ctx.close();
    log.info("node stopped");
  };
  log.info(
    { home: cfg.home, roles: cfg.roles, chains: cfg.chainList.map((c) => c.codeHex) },
    "node started",
  );
  return node;
}
