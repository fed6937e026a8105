import { pino, type Logger } from "pino";

export type { Logger };

/** One JSON logger for the process; tokens and Slack secrets never reach the log. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { app: "aegis" },
    redact: {
      paths: ["req.headers.authorization", "headers.authorization", "token", "*.token", "signingSecret"],
      censor: "[redacted]",
    },
  });
}
