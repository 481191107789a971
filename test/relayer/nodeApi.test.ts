/**
 * The node API client (relayer/nodeApi/) against real HTTP servers on localhost: each failure is
 * its own NodeApiError subclass naming the URL, the size limit holds while an answer streams in
 * (and for an error answer too), and the typed endpoints build their requests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { expect } from "chai";

import {
  getNodeMessage,
  getNodeRoutes,
  nodeRequest,
  postBundle,
} from "../../relayer/nodeApi/index.js";
import type { messageJourney } from "../../relayer/api/journey.js";
import type { messageJson } from "../../relayer/api/server.js";
import type { BundleJson } from "../../relayer/handover/bundle.js";
import type { MessageJourney, MessageJson } from "../../relayer/nodeApi/types.js";
import {
  NodeAnswerNotJsonError,
  NodeAnswerTooLargeError,
  NodeApiError,
  NodeHttpError,
  NodeUnreachableError,
} from "../../relayer/sdk/errors.js";
import { freePort } from "./helpers/proc.js";

// The shapes the client declares for answers the server builds inline are the server's (a type
// error here otherwise); `destination` is built as a record there and checked by the e2e tests.
type ServerJourney = NonNullable<Awaited<ReturnType<typeof messageJourney>>>;
export const journeyShape = (j: Omit<ServerJourney, "message" | "destination">) =>
  j satisfies Omit<MessageJourney, "message" | "destination">;
export const messageShape = (m: ReturnType<typeof messageJson>): MessageJson => m;

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

describe("node API client", function () {
  this.timeout(60_000);
  const servers: { close(): void; closeAllConnections(): void }[] = [];
  after(() => servers.forEach((s) => (s.closeAllConnections(), s.close())));

  /** A server answering every request with `handler` (after reading the request body). */
  const serve = async (handler: Handler): Promise<string> => {
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => handler(req, res, body));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  const failure = async (p: Promise<unknown>): Promise<NodeApiError> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e, "the request should have failed").to.be.instanceOf(NodeApiError);
    return e as NodeApiError;
  };

  /** Streams `total` bytes of JSON-looking filler; returns how many the server got to write. */
  const stream = (total: number, status: number) => {
    const sent = { bytes: 0 };
    const handler: Handler = (_req, res) => {
      res.writeHead(status, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (sent.bytes < total && !res.destroyed) {
          sent.bytes += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    };
    return { sent, handler };
  };

  it("answers the typed body of an endpoint, the base URL's trailing slash ignored", async function () {
    let asked = "";
    const node = await serve((req, res) => {
      asked = `${req.method} ${req.url}`;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ home: "a1", records: [] }));
    });
    expect(await getNodeRoutes(`${node}/`)).to.deep.equal({ home: "a1", records: [] });
    expect(asked).to.equal("GET /v1/routes");
  });

  it("posts JSON and reads an HTTP refusal's error text and reason code", async function () {
    let received: { method?: string; type?: string; body?: string } = {};
    const node = await serve((req, res, body) => {
      received = { method: req.method, type: req.headers["content-type"], body };
      res.writeHead(409, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "every message delivered", reason: "already-delivered" }));
    });
    const bundle = { checkpoint: { count: 3 } } as unknown as BundleJson;
    const e = await failure(postBundle(node, bundle));
    expect(e).to.be.instanceOf(NodeHttpError);
    const http = e as NodeHttpError;
    expect(http.status).to.equal(409);
    expect(http.serverError).to.equal("every message delivered");
    expect(http.refusal).to.equal("already-delivered");
    expect(http.message).to.equal(`node ${node}/v1/bundles: HTTP 409: every message delivered`);
    expect(received).to.deep.equal({
      method: "POST",
      type: "application/json",
      body: JSON.stringify(bundle),
    });
  });

  it("makes a 404 an answer where the endpoint means 'not known', an error elsewhere", async function () {
    const node = await serve((_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "message not known to this node" }));
    });
    expect(await getNodeMessage(node, `0x${"ab".repeat(32)}`)).to.equal(undefined);
    const e = await failure(getNodeRoutes(node));
    expect(e).to.be.instanceOf(NodeHttpError);
    expect((e as NodeHttpError).status).to.equal(404);
  });

  it("stops reading an answer over the size limit while it streams, and a declared one at once", async function () {
    const big = stream(100 * 1024 * 1024, 200);
    const node = await serve(big.handler);
    const e = await failure(nodeRequest(node, "/v1/routes", { maxBytes: 100_000 }));
    expect(e).to.be.instanceOf(NodeAnswerTooLargeError);
    expect(e.message).to.equal(`node ${node}/v1/routes: answer exceeds 100000 bytes`);
    await new Promise((r) => setTimeout(r, 200));
    expect(big.sent.bytes, "bytes the node got to send").to.be.below(8 * 1024 * 1024);

    const declared = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "5000000" });
      res.write("[");
    });
    const d = await failure(nodeRequest(declared, "/v1/routes", { maxBytes: 100_000 }));
    expect(d).to.be.instanceOf(NodeAnswerTooLargeError);
  });

  it("reads a bounded part of an error answer: a huge one is still an HTTP error", async function () {
    const big = stream(100 * 1024 * 1024, 503);
    const node = await serve(big.handler);
    const e = await failure(nodeRequest(node, "/v1/health"));
    expect(e).to.be.instanceOf(NodeHttpError);
    expect((e as NodeHttpError).status).to.equal(503);
    await new Promise((r) => setTimeout(r, 200));
    expect(big.sent.bytes, "bytes the node got to send").to.be.below(8 * 1024 * 1024);
  });

  it("tells an answer that is not JSON", async function () {
    const node = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>a proxy's page</html>");
    });
    const e = await failure(nodeRequest(node, "/v1/health"));
    expect(e).to.be.instanceOf(NodeAnswerNotJsonError);
    expect(e.message).to.match(/not JSON/);
  });

  it("names an unreachable node and one that does not answer in time", async function () {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const e = await failure(nodeRequest(dead, "/v1/health"));
    expect(e).to.be.instanceOf(NodeUnreachableError);
    expect(e.message).to.equal(`node ${dead}/v1/health: ECONNREFUSED`);

    const tarpit = await serve(() => undefined);
    const t = await failure(nodeRequest(tarpit, "/v1/health", { timeoutMs: 300 }));
    expect(t).to.be.instanceOf(NodeUnreachableError);
    expect(t.message).to.equal(`node ${tarpit}/v1/health: no answer within 300 ms`);
  });
});
