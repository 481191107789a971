import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import type { Hex } from "viem";

import { failureKindName, readInboxStatus } from "../chain/inboxStatus.js";
import { domainOf } from "../checkpoints.js";
import { ChainStore } from "../indexer/store.js";
import { errorText } from "../log.js";
import type { NodeContext } from "../node.js";
import {
  bytes32ToAddress,
  decodeMessage,
  formatChainAddress,
  formatChainCode,
  MAX_BODY_BYTES,
  MESSAGE_VERSION,
  messageId,
  type Message,
} from "../protocol/index.js";

const ID = /^0x[0-9a-fA-F]{64}$/;
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
    body: m.body,
  };
}

/**
 * The node API (see relayer/README.md): health, checkpoints with signatures, message status,
 * Merkle proofs, the hand-over of messages by peer nodes, the routing table, metrics.
 */
export function buildApi(ctx: NodeContext): FastifyInstance {
  const { cfg } = ctx;
  const app = Fastify({ logger: false, bodyLimit: cfg.api.bodyLimit });
  const log = ctx.log.child({ role: "api" });

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
    const redisOk = await ctx.redis
      .ping()
      .then(() => true)
      .catch(() => false);
    const chains: Record<string, unknown> = {};
    if (redisOk) {
      for (const chain of cfg.chainList) {
        const cursor = await ctx.store(chain.code).cursor();
        chains[chain.codeHex] = {
          name: chain.name,
          indexedBlock: cursor?.block ?? null,
          leaves: cursor?.leaves ?? 0,
        };
      }
    }
    return reply.code(redisOk ? 200 : 503).send({
      status: redisOk ? "ok" : "redis unavailable",
      home: cfg.home,
      roles: cfg.roles,
      chains,
    });
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
    const chain = cfg.chain(origin);
    const domain = domainOf(chain);
    return reply.send({
      origin: formatChainCode(origin),
      evmChainId: chain.chainId,
      outbox: domain.verifyingContract,
      root: cp.root,
      count: cp.count,
      signatures: cp.signatures,
    });
  };

  app.get("/v1/checkpoints/latest", async (req, reply) => {
    const origin = originParam(req.query);
    if (typeof origin === "string") return bad(reply, 400, origin);
    return sendCheckpoint(reply, origin);
  });

  app.get<{ Params: { count: string } }>("/v1/checkpoints/:count", async (req, reply) => {
    const origin = originParam(req.query);
    if (typeof origin === "string") return bad(reply, 400, origin);
    if (!/^[1-9]\d{0,9}$/.test(req.params.count) || Number(req.params.count) > 0xffffffff) {
      return bad(reply, 400, "count must be a positive uint32");
    }
    return sendCheckpoint(reply, origin, Number(req.params.count));
  });

  /** The encoded message with id `id`: indexed on its origin, or handed over by a peer. */
  const findMessage = async (id: Hex) => {
    const stored = await ChainStore.message(ctx.redis, cfg.redis.prefix, id);
    if (stored) return { encoded: stored.message, stored };
    const pushed = await ctx.redis.get(`${cfg.redis.prefix}:pushed:${id.toLowerCase()}`);
    return pushed ? { encoded: pushed as Hex, stored: undefined } : undefined;
  };

  app.get<{ Params: { id: string } }>("/v1/messages/:id", async (req, reply) => {
    const id = req.params.id;
    if (!ID.test(id)) return bad(reply, 400, "id must be 0x followed by 64 hex digits");
    const found = await findMessage(id as Hex);
    if (!found) return bad(reply, 404, "message not known to this node");
    const m = decodeMessage(found.encoded);
    const destinationKnown = cfg.chainList.some((c) => c.code === m.destination);
    let destination: Record<string, unknown> = {
      chain: formatChainCode(m.destination),
      status: "unknown",
    };
    const delivery = await ChainStore.delivery(ctx.redis, cfg.redis.prefix, id as Hex);
    if (delivery) {
      destination = {
        chain: formatChainCode(m.destination),
        status: delivery.status,
        block: delivery.block,
        tx: delivery.tx,
        ...(delivery.status === "failed"
          ? { failureKind: failureKindName(delivery.kind ?? 0), reason: delivery.reason }
          : {}),
      };
    } else if (destinationKnown) {
      const chain = cfg.chain(m.destination);
      const onChain = await readInboxStatus(
        ctx.client(m.destination),
        chain.contracts.inbox,
        found.encoded,
      );
      destination = { chain: chain.codeHex, ...onChain, confirmed: false };
    }
    return reply.send({
      id: messageId(found.encoded),
      message: messageJson(m),
      encoded: found.encoded,
      origin: found.stored
        ? {
            chain: formatChainCode(m.origin),
            status: "dispatched",
            nonce: m.nonce,
            block: found.stored.block,
            tx: found.stored.tx,
          }
        : { chain: formatChainCode(m.origin), status: "handed-over" },
      destination,
    });
  });

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
        const snap = (await view.snapshots()).find((s) => s.count > stored.nonce);
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
    if ((encoded.length - 2) / 2 - 117 > MAX_BODY_BYTES)
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

  app.get("/v1/routes", async (_req, reply) => {
    return reply.send({
      home: cfg.home,
      chains: cfg.chainList.map((c) => ({
        code: c.codeHex,
        name: c.name,
        chainId: c.chainId,
        rpc: c.rpc,
        contracts: c.contracts,
        nodes: c.nodes,
        confirmations: c.confirmations,
        startBlock: c.startBlock,
      })),
    });
  });

  app.get("/metrics", async (_req, reply) => {
    return reply
      .header("content-type", ctx.metrics.registry.contentType)
      .send(await ctx.metrics.registry.metrics());
  });

  return app;
}
