/**
 * The logging surface the runtime needs. It matches pino's `(fields, message)` call shape, so a
 * pino logger (or a child logger carrying `{controller}`) can be passed as is, without the
 * runtime depending on pino. Put errors under `err` so pino's serializer keeps message and stack.
 */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

/** Discards everything; the default when no logger is injected. */
export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
