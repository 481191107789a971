import { readFile } from "node:fs/promises";

import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import type { Hex } from "viem";

import { domainOf } from "../checkpoints.js";
import { ChainStore } from "../indexer/store.js";
import { errorText } from "../log.js";
import type { NodeContext } from "../node.js";
import {
  bytes32ToAddress,
  decodeMessage,
  formatChainAddress,
  formatChainCode,
  HEADER_LENGTH,
  MAX_BODY_BYTES,
  MESSAGE_VERSION,
  messageId,
  type Message,
} from "../protocol/index.js";
import { BundleRefusedError, bundleToJson } from "../handover/bundle.js";
import type { BundleHandover } from "../handover/outbound.js";
import { BundleInbox } from "../handover/inbound.js";
import { recordToJson } from "../routes/record.js";
import { destinationStatuses, StatusRequestError, statusRequestIds } from "./deliveryStatus.js";
import { cachedHealth, redisReady } from "./health.js";
import { lookupAddress, lookupTransaction, messageJourney } from "./journey.js";
import { registerOperatorMetrics, type Wallet } from "./operatorMetrics.js";
import { acceptedCheckpoints } from "./acceptedCheckpoints.js";
import { homeRoutes } from "./routeState.js";
import { chainWithContracts } from "./chains.js";
import { routeFees } from "./fees.js";

const ID = /^0x[0-9a-fA-F]{64}$/;

/** The explorer's files, served as they are (no build step); next to this module or the bundle's. */
const EXPLORER = new URL("../api/explorer/", import.meta.url);
const EXPLORER_FILES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "explorer.js": "text/javascript; charset=utf-8",
  "explorer.css": "text/css; charset=utf-8",
};

/** Paths that read Redis: answered 503 at once while Redis is unreachable, never stalled. */
const NEEDS_REDIS = /^\/v1\/(messages|bundles|proofs|checkpoints|tx|address)(\/|$)/;

export interface ApiOptions {
  /** The node's own keys' addresses, whose balances /metrics reports. */
  wallets?: Wallet[];
  /** The origin side of the hand-over (relayer.handover: bundles): serves GET /v1/bundles. */
  handover?: BundleHandover;
}
const CODE = /^[1-9a-f][0-9a-f]{0,15}$/;

/** A 4xx answer: `error` says what is wrong with the request. */
function bad(reply: FastifyReply, status: number, error: string) {
  return reply.code(status).send({ error });
}

function qualified(code: bigint, account: Hex): string {
  try {
    return formatChainAddress({ code, account: bytes32ToAddress(account) });
  } catch {
    return `${formatChainCode(code)}x${account.slice(2)}`;
  }
}

/** A message as JSON: numbers that may exceed 2^53 as strings, chain codes in hex. */
export function messageJson(m: Message) {
  return {
    version: m.version,
    nonce: m.nonce,
    origin: formatChainCode(m.origin),
    sender: m.sender,
    from: qualified(m.origin, m.sender),
    destination: formatChainCode(m.destination),
    recipient: m.recipient,
    to: qualified(m.destination, m.recipient),
    amount: m.amount.toString(),
    /** Delivery fee it carries (18 decimals; top-ups are messages of their own). */
    fee: m.fee.toString(),
    body: m.body,
  };
}

/**
 * The node API (see relayer/README.md): health, checkpoints with signatures, message status,
 * Merkle proofs, the hand-over of messages by peer nodes, the routing table, metrics.
 */
export function buildApi(ctx: NodeContext, options: ApiOptions = {}): FastifyInstance {
  const { cfg } = ctx;
  const app = Fastify({ logger: false, bodyLimit: cfg.api.bodyLimit });
  const log = ctx.log.child({ role: "api" });
  registerOperatorMetrics(ctx, options.wallets ?? []);
  // Every client address (a peer node, a browser, a flood) gets its own budget of requests; a
  // client over it is answered 429 at once, before any handler work, and the others go on.
  // (A hook of ours rather than the plugin's global one, which would only see routes declared
  // after the plugin loaded.)
  void app.register(rateLimit, {
    global: false,
    max: cfg.api.rateLimitMax,
    timeWindow: cfg.api.rateLimitWindowMs,
    cache: 10_000,
  });
  // The operator's probes (Prometheus, a load balancer's health check) are exempt: they poll
  // often from one address, and both answer from cached reads.
  let limiter: ReturnType<FastifyInstance["rateLimit"]> | undefined;
  app.addHook("onRequest", async (req, reply) => {
    const path = req.url.split("?")[0];
    if (path === "/metrics" || path === "/v1/health") return;
    limiter ??= app.rateLimit();
    await limiter.call(app, req, reply);
  });

  // Read-only endpoints may be read by any page (the explorer of another node, a dashboard);
  // the hand-over (POST) stays same-origin: peer nodes post from servers, not browsers.
  app.addHook("onRequest", async (req, reply) => {
    if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") {
      reply.header("access-control-allow-origin", "*");
      reply.header("access-control-allow-methods", "GET, HEAD, OPTIONS");
    }
    if (req.method === "OPTIONS") {
      const asked = String(req.headers["access-control-request-method"] ?? "GET").toUpperCase();
      if (asked !== "GET" && asked !== "HEAD") reply.removeHeader("access-control-allow-origin");
      return reply.code(204).send();
    }
    if (NEEDS_REDIS.test(req.url) && !(await redisReady(ctx)))
      return reply
        .code(503)
        .send({ error: `temporarily unavailable: redis is not connected (${ctx.redis.status})` });
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err.statusCode && err.statusCode < 500) return bad(reply, err.statusCode, err.message);
    log.warn({ err: errorText(err) }, "request failed");
    return reply.code(503).send({ error: `temporarily unavailable: ${errorText(err)}` });
  });

  const originParam = (q: unknown): bigint | string => {
    const origin = (q as { origin?: string }).origin ?? cfg.home;
    if (!CODE.test(origin))
      return `origin must be a chain code (lower-case hex), got ${JSON.stringify(origin)}`;
    const code = BigInt(`0x${origin}`);
    if (!cfg.chainList.some((c) => c.code === code))
      return `chain ${origin} is not in this node's routing table`;
    return code;
  };

  app.get("/v1/health", async (_req, reply) => {
    const health = await cachedHealth(ctx);
    return reply.code(health.status === "ok" ? 200 : 503).send(health);
  });

  const sendCheckpoint = async (reply: FastifyReply, origin: bigint, count?: number) => {
    const cp =
      count === undefined
        ? await ctx.checkpoints.latest(origin)
        : await ctx.checkpoints.get(origin, count);
    if (!cp)
      return bad(
        reply,
        404,
        count === undefined ? "no signed checkpoint yet" : `no signatures known for count ${count}`,
      );
    const chain = await chainWithContracts(ctx, origin);
    const domain = domainOf(chain);
    return reply.send({
      origin: formatChainCode(origin),
      evmChainId: chain.chainId,
      outbox: domain.verifyingContract,
      root: cp.root,
      count: cp.count,
      last: cp.last,
      signatures: cp.signatures,
    });
  };

  app.get("/v1/checkpoints/latest", async (req, reply) => {
    const origin = originParam(req.query);
    if (typeof origin === "string") return bad(reply, 400, origin);
    return sendCheckpoint(reply, origin);
  });

  // What our Inbox accepted from an origin (its watcher without an RPC of ours reads it here).
  app.get<{ Querystring: { origin?: string; from?: string } }>(
    "/v1/checkpoints/accepted",
    async (req, reply) => {
      if (req.query.origin === undefined)
        return bad(reply, 400, "origin (a chain code) is required");
      const origin = originParam(req.query);
      if (typeof origin === "string") return bad(reply, 400, origin);
      if (origin === cfg.homeChain.code)
        return bad(
          reply,
          400,
          "origin must be a peer chain (our Inbox accepts only peers' checkpoints)",
        );
      const from = req.query.from ?? "0";
      if (!/^\d{1,10}$/.test(from)) return bad(reply, 400, "from must be a block number");
      return reply.send(await acceptedCheckpoints(ctx, origin, Number(from)));
    },
  );

  app.get<{ Params: { count: string } }>("/v1/checkpoints/:count", async (req, reply) => {
    const origin = originParam(req.query);
    if (typeof origin === "string") return bad(reply, 400, origin);
    if (!/^[1-9]\d{0,9}$/.test(req.params.count) || Number(req.params.count) > 0xffffffff) {
      return bad(reply, 400, "count must be a positive uint32");
    }
    return sendCheckpoint(reply, origin, Number(req.params.count));
  });

  app.get<{ Params: { id: string } }>("/v1/messages/:id", async (req, reply) => {
    const id = req.params.id;
    if (!ID.test(id)) return bad(reply, 400, "id must be 0x followed by 64 hex digits");
    const journey = await messageJourney(ctx, id as Hex, messageJson);
    if (!journey) return bad(reply, 404, "message not known to this node");
    return reply.send(journey);
  });

  // Many messages' delivery on our home chain at once: the origin's nodes follow what they handed
  // over with it (one request per ≤ 200 messages, not one per message).
  app.post("/v1/messages/status", async (req, reply) => {
    let ids: string[];
    try {
      ids = statusRequestIds(req.body);
    } catch (e) {
      if (e instanceof StatusRequestError) return bad(reply, 400, e.message);
      throw e;
    }
    return reply.send({ messages: await destinationStatuses(ctx, ids) });
  });

  app.get<{ Params: { hash: string } }>("/v1/tx/:hash", async (req, reply) => {
    const hash = req.params.hash;
    if (!ID.test(hash)) return bad(reply, 400, "hash must be 0x followed by 64 hex digits");
    const found = await lookupTransaction(ctx, hash as Hex);
    if (!found)
      return bad(reply, 404, "no chain of this node's routing table has this transaction");
    return reply.send(found);
  });

  app.get<{ Params: { address: string } }>("/v1/address/:address", async (req, reply) => {
    try {
      return reply.send(await lookupAddress(ctx, req.params.address));
    } catch (e) {
      if (e instanceof RangeError || (e as Error).name === "ChainAddressError")
        return bad(reply, 400, (e as Error).message);
      throw e;
    }
  });

  app.get("/v1/routes/state", async (_req, reply) => {
    if (!(await redisReady(ctx)))
      return reply.code(503).send({ error: "temporarily unavailable: redis is not connected" });
    return reply.send({ home: cfg.home, routes: await homeRoutes(ctx) });
  });

  const explorerFile = async (reply: FastifyReply, file: string) => {
    const type = EXPLORER_FILES[file];
    if (!type) return bad(reply, 404, "no such explorer file");
    return reply
      .header("content-type", type)
      .header("cache-control", "no-cache")
      .send(await readFile(new URL(file, EXPLORER)));
  };
  app.get("/explorer", async (_req, reply) => reply.redirect("/explorer/"));
  app.get("/explorer/", async (_req, reply) => explorerFile(reply, "index.html"));
  app.get<{ Params: { file: string } }>("/explorer/:file", async (req, reply) =>
    explorerFile(reply, req.params.file),
  );

  app.get<{ Params: { id: string }; Querystring: { count?: string } }>(
    "/v1/proofs/:id",
    async (req, reply) => {
      const id = req.params.id;
      if (!ID.test(id)) return bad(reply, 400, "id must be 0x followed by 64 hex digits");
      const stored = await ChainStore.message(ctx.redis, cfg.redis.prefix, id as Hex);
      if (!stored) return bad(reply, 404, "message not indexed by this node");
      const view = ctx.view(stored.origin);
      const { tree } = await view.sync();
      let count: number;
      if (req.query.count !== undefined) {
        if (!/^\d{1,10}$/.test(req.query.count))
          return bad(reply, 400, "count must be a whole number");
        count = Number(req.query.count);
      } else {
        const snap = await view.snapshotCovering(stored.nonce);
        if (!snap)
          return bad(reply, 404, `no snapshot covers nonce ${stored.nonce} yet; pass ?count=`);
        count = snap.count;
      }
      if (count <= stored.nonce)
        return bad(reply, 400, `count ${count} does not include nonce ${stored.nonce}`);
      if (count > tree.count)
        return bad(reply, 400, `count ${count} is beyond the ${tree.count} leaves indexed`);
      return reply.send({
        id: stored.id,
        origin: formatChainCode(stored.origin),
        nonce: stored.nonce,
        count,
        root: tree.rootAt(count),
        proof: tree.proof(stored.nonce, count),
      });
    },
  );

  app.post("/v1/messages", async (req, reply) => {
    const body = req.body as { message?: unknown } | undefined;
    const encoded = body?.message;
    if (typeof encoded !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(encoded)) {
      ctx.metrics.pushesReceived.inc({ outcome: "invalid" });
      return bad(reply, 400, 'body must be {"message": "0x<hex bytes>"}');
    }
    let m: Message;
    try {
      m = decodeMessage(encoded as Hex);
    } catch (e) {
      ctx.metrics.pushesReceived.inc({ outcome: "invalid" });
      return bad(reply, 400, `not a DistPOS message: ${errorText(e)}`);
    }
    const id = messageId(encoded as Hex);
    const reject = (status: number, reason: string) => {
      ctx.metrics.pushesReceived.inc({ outcome: "rejected" });
      log.info({ msgId: id, reason }, "pushed message rejected");
      return bad(reply, status, reason);
    };
    if (m.version !== MESSAGE_VERSION)
      return reject(422, `unsupported message version ${m.version}`);
    if ((encoded.length - 2) / 2 - HEADER_LENGTH > MAX_BODY_BYTES)
      return reject(422, `body over ${MAX_BODY_BYTES} bytes`);
    if (m.destination !== cfg.homeChain.code)
      return reject(
        422,
        `destination ${formatChainCode(m.destination)} is not this node's chain ${cfg.home}`,
      );
    if (!cfg.chainList.some((c) => c.code === m.origin) || m.origin === m.destination) {
      return reject(422, `origin ${formatChainCode(m.origin)} is not in this node's routing table`);
    }
    // When we index the origin, the message must be its leaf at that nonce.
    const { tree } = await ctx.view(m.origin).sync();
    if (m.nonce < tree.count && tree.leaf(m.nonce).toLowerCase() !== id.toLowerCase()) {
      return reject(422, `not the message the origin Outbox holds at nonce ${m.nonce}`);
    }
    const pushedKey = `${cfg.redis.prefix}:pushed:${id.toLowerCase()}`;
    const fresh = (await ctx.redis.set(pushedKey, encoded, "NX")) === "OK";
    await ctx.queues.enqueue(
      [
        {
          id,
          origin: formatChainCode(m.origin),
          destination: formatChainCode(m.destination),
          nonce: m.nonce,
          message: encoded as Hex,
        },
      ],
      "push",
    );
    ctx.metrics.pushesReceived.inc({ outcome: fresh ? "accepted" : "duplicate" });
    if (fresh)
      log.info(
        { msgId: id, origin: formatChainCode(m.origin), nonce: m.nonce },
        "message handed over by a peer",
      );
    return reply.code(fresh ? 202 : 200).send({ id, status: fresh ? "accepted" : "known" });
  });

  // The hand-over of bundles (docs/protocol.md 4.2): verified against our own chain before
  // anything is stored or queued; a refusal names its reason.
  const bundles = cfg.relayer.handover === "bundles" ? new BundleInbox(ctx) : undefined;
  app.post("/v1/bundles", { bodyLimit: cfg.api.bundleBodyLimit }, async (req, reply) => {
    if (!bundles) return bad(reply, 404, "this node does not take bundles (relayer.handover)");
    try {
      const { checkpoint, acceptance } = await bundles.accept(req.body);
      log.info(
        {
          origin: formatChainCode(checkpoint.origin),
          count: checkpoint.count,
          accepted: acceptance.accepted.length,
          known: acceptance.known.length,
          delivered: acceptance.delivered.length,
        },
        "bundle accepted",
      );
      return reply.code(acceptance.accepted.length ? 202 : 200).send(acceptance);
    } catch (e) {
      if (!(e instanceof BundleRefusedError)) throw e;
      ctx.metrics.pushesReceived.inc({ outcome: "rejected" });
      log.info({ reason: e.reason, detail: e.message }, "bundle refused");
      return reply.code(e.status).send({ error: e.message, reason: e.reason });
    }
  });

  // Pull (docs/protocol.md 4.2): what waits here for a destination, as a bundle, so that a lost
  // push only delays. Anyone may ask: a bundle holds nothing that is not public on our chain.
  app.get<{ Querystring: { destination?: string; after?: string } }>(
    "/v1/bundles",
    async (req, reply) => {
      const handover = options.handover;
      if (!handover)
        return bad(reply, 404, "this node does not hand bundles over (relayer.handover)");
      const destination = req.query.destination ?? "";
      if (!CODE.test(destination))
        return bad(reply, 400, "destination must be a chain code (lower-case hex)");
      const after = req.query.after ?? "-1";
      if (!/^(-1|\d{1,10})$/.test(after))
        return bad(reply, 400, "after must be a nonce (or -1, the default)");
      const bundle = await handover.bundleFor(BigInt(`0x${destination}`), Number(after));
      if (!bundle)
        return bad(reply, 404, "nothing waiting for that destination under a signed checkpoint");
      return reply.send(bundleToJson(bundle));
    },
  );

  // The route records this node holds, each signed by a staked attester of its community and
  // verified here; never the config's RPC URLs, contracts or settings (a reader verifies the
  // records against its own chain and takes contracts from its own RouteRegistry).
  app.get("/v1/routes", async (_req, reply) => {
    return reply.send({
      home: cfg.home,
      records: ctx.routes.records().map((h) => recordToJson(h.record)),
    });
  });

  app.get("/v1/fees", async (_req, reply) => reply.send({ routes: await routeFees(ctx.metrics) }));

  app.get("/metrics", async (_req, reply) => {
    return reply
      .header("content-type", ctx.metrics.registry.contentType)
      .send(await ctx.metrics.registry.metrics());
  });

  return app;
}
