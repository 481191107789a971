import { pino, type Logger } from "pino";

export type { Logger };

/**
 * The node's logger: JSON, one line per event. Every line about a message carries `msgId`, so
 * `grep <id>` over the logs of all roles and processes tells that message's story.
 */
export function createLogger(
  level: string = process.env.DISTPOS_LOG_LEVEL ?? "info",
  base: Record<string, unknown> = {},
): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A silent logger for unit tests and library use. */
export const silentLogger: Logger = pino({ level: "silent" });

/**
 * Plain text of any thrown value, short enough for a log line. viem's errors keep the RPC's own
 * answer in `details` (e.g. anvil's "BlockOutOfRangeError: block height is 0 but requested was
 * 5" behind "Invalid parameters were provided to the RPC method."): it is kept, or the line would
 * not say what went wrong.
 */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const short = (e as { shortMessage?: string }).shortMessage;
    const details = (e as { details?: unknown }).details;
    const head = (short ?? e.message).split("\n")[0]!;
    const detail =
      typeof details === "string" && details && !head.includes(details)
        ? `: ${details.split("\n")[0]}`
        : "";
    return `${head}${detail}`.slice(0, 500);
  }
  return String(e).slice(0, 500);
}
