import { Queue } from "bullmq";
import type { Command } from "commander";

import { silentLogger } from "../../log.js";
import { bullPrefix, deadLetterName, RelayQueues, type RelayJobData } from "../../relay/queue.js";
import { CliError, EXIT, type Context } from "../context.js";
import type { Exec } from "../main.js";

export function defineDlq(program: Command, exec: Exec): void {
  program
    .command("dlq")
    .description("messages the relayer gave up on (dead letters): list them, or queue them again")
    .option("--destination <code>", "one destination (default: every destination relayed to)")
    .option("--retry", "queue them again, once the cause is fixed")
    .action(exec(runDlq));
}

type Dead = RelayJobData & { error?: string; failedAt?: string; requeued?: boolean };

export async function runDlq(
  ctx: Context,
  o: { destination?: string; retry?: boolean },
): Promise<number> {
  const cfg = ctx.config();
  const destinations = o.destination
    ? [ctx.chainEntry(o.destination, "--destination").codeHex]
    : (cfg.relayer.destinations ?? cfg.chainList.map((c) => c.codeHex));
  const connection = await ctx.redis();
  const queues = new RelayQueues(cfg, connection, silentLogger);
  const found: Dead[] = [];
  try {
    for (const destination of destinations) {
      const dead = new Queue<Dead>(deadLetterName(destination), {
        connection,
        prefix: bullPrefix(cfg),
      });
      try {
        for (const job of await dead.getWaiting()) {
          const entry = { ...job.data, requeued: false };
          if (o.retry) {
            // The failed job keeps its id in the relay queue: remove it so the id can be queued again.
            await queues.queue(destination).remove(job.data.id.toLowerCase());
            const { error: _error, failedAt: _failedAt, requeued: _r, ...data } = job.data;
            await queues.enqueue([data], data.source);
            await job.remove();
            entry.requeued = true;
          }
          found.push(entry);
        }
      } finally {
        await dead.close();
      }
    }
  } catch (e) {
    throw new CliError(
      `redis.url ${cfg.redis.url} (${cfg.file}): ${(e as Error).message.split("\n")[0]}`,
      EXIT.chain,
    );
  } finally {
    await queues.close().catch(() => undefined);
    connection.disconnect();
  }
  const lines = found.map(
    (d) =>
      `${d.id}  ${d.origin} -> ${d.destination}  nonce ${d.nonce}  ${d.requeued ? "queued again" : (d.error ?? "")}`,
  );
  ctx.print(found.length ? lines.join("\n") : "no dead letters", found);
  return EXIT.ok;
}
