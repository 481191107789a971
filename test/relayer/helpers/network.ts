/**
 * The one fixture of the node's end-to-end suites: a served two-chain network (`serveNetwork`),
 * a Redis client, a fresh key prefix per test, and the clean-up every such suite needs (node
 * processes killed, keys deleted, network closed). `useServedNetwork` registers the mocha hooks;
 * the suite's own hooks, registered after it, run after its `before` and after its `afterEach`.
 */
import type { Redis } from "ioredis";

import type { TestChain } from "../../helpers/suite.js";
import {
  clearPrefix,
  newRedis,
  REDIS_URL,
  serveNetwork,
  testPrefix,
  type ServedNetwork,
  type ServeOptions,
} from "./net.js";
import { killAll } from "./proc.js";

/** A Redis the suite starts for itself (e.g. one a test kills), instead of the shared one. */
export interface PrivateRedis {
  url: string;
  close(): Promise<void>;
}

export interface FixtureOptions extends ServeOptions {
  /** Put in every Redis prefix, so a leftover key names its suite. */
  name: string;
  /**
   * The suite starts its nodes in `before` and keeps them for all its tests: they are killed in
   * `after`, not after each test (and prefixes taken in `before` are cleared then too).
   */
  nodesPerSuite?: boolean;
  /** Starts the suite's own Redis; the fixture's client connects to it and ignores its errors. */
  privateRedis?: () => Promise<PrivateRedis>;
}

/** The served network, plus what the suite reads its nodes' state with. */
export interface ServedNetworkFixture extends ServedNetwork {
  /** The first two chains: A (origin of most tests) and B. */
  readonly a: TestChain;
  readonly b: TestChain;
  readonly redis: Redis;
  /** The URL the nodes' `redis.url` must name (the shared Redis, or the private one). */
  readonly redisUrl: string;
  /** This test's Redis key prefix (fresh before each test, its keys deleted after it). */
  readonly prefix: string;
  /** Another fresh prefix, deleted with the test's (or, taken in `before`, with the suite's). */
  newPrefix(name: string): string;
}

/**
 * Serves a network for the enclosing `describe` and returns its handles; they are readable from
 * the suite's first `before` hook on (reading one earlier throws, naming it).
 */
export function useServedNetwork(options: FixtureOptions): ServedNetworkFixture {
  const { name, nodesPerSuite, privateRedis, ...serve } = options;
  let net: ServedNetwork | undefined;
  let redis: Redis | undefined;
  let ownRedis: PrivateRedis | undefined;
  let prefix: string | undefined;
  let inTest = false;
  const testPrefixes: string[] = [];
  const suitePrefixes: string[] = [];
  const ready = <T>(what: string, v: T | undefined): T => {
    if (v === undefined)
      throw new Error(
        `useServedNetwork(${name}): ${what} read before the fixture's before hook ran; read it in a hook or test`,
      );
    return v;
  };
  const take = (label: string) => {
    const p = testPrefix(label);
    // Nodes that outlive a test may still write under its prefix: cleared once they are killed.
    (inTest && !nodesPerSuite ? testPrefixes : suitePrefixes).push(p);
    return p;
  };

  before(async function () {
    this.timeout(Math.max(this.timeout(), 300_000)); // deploying the suites is slow on a busy machine
    if (privateRedis) {
      ownRedis = await privateRedis();
      redis = newRedis(ownRedis.url);
      redis.on("error", () => undefined); // a test may kill its private Redis on purpose
    } else redis = newRedis();
    net = await serveNetwork(serve);
  });
  after(async function () {
    await killAll();
    for (const p of suitePrefixes.splice(0)) if (!ownRedis) await clearPrefix(redis!, p);
    await net?.close();
    redis?.disconnect();
    await ownRedis?.close();
  });
  beforeEach(() => {
    inTest = true;
    prefix = take(name);
  });
  afterEach(async function () {
    if (!nodesPerSuite) await killAll();
    // A private Redis goes with the suite; the shared one keeps nothing of the test.
    for (const p of testPrefixes.splice(0)) if (!ownRedis) await clearPrefix(redis!, p);
    inTest = false;
  });

  const chain = (i: number) => {
    const c = ready("the network", net).chains[i];
    if (!c) throw new Error(`useServedNetwork(${name}): the network has no chain #${i}`);
    return c;
  };
  return {
    get chains() {
      return ready("the network", net).chains;
    },
    get rpcs() {
      return ready("the network", net).rpcs;
    },
    get chainEntries() {
      return ready("the network", net).chainEntries;
    },
    close: () => ready("the network", net).close(),
    get a() {
      return chain(0);
    },
    get b() {
      return chain(1);
    },
    get redis() {
      return ready("redis", redis);
    },
    get redisUrl() {
      return ownRedis?.url ?? REDIS_URL;
    },
    get prefix() {
      return ready("the test's prefix (taken in beforeEach)", prefix);
    },
    newPrefix: take,
  };
}
