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

/** Plain text of any thrown value, short enough for a log line. */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const short = (e as { shortMessage?: string }).shortMessage;
    return (short ?? e.message).split("\n")[0]!.slice(0, 500);
  }
  return String(e).slice(0, 500);
}
