import { z } from "zod";
import type { BusMessage, BusTopic } from "../../ports/bus.js";
import type { Logger } from "../../ports/logger.js";

/** The channel every replica publishes hints on and subscribes to. */
export const DEFAULT_BUS_CHANNEL = "aegis:events";

/** Hints are small; anything larger is treated as malformed rather than parsed. */
export const MAX_BUS_MESSAGE_BYTES = 64 * 1024;

const topics = ["approval", "policy", "threat", "evidence", "selfhealing"] as const satisfies readonly BusTopic[];

/** What travels between replicas: a BusMessage whose origin the publishing bus has stamped. */
const wireMessageSchema = z.strictObject({
  topic: z.enum(topics),
  key: z.string().min(1).max(1024),
  data: z.record(z.string(), z.unknown()).optional(),
  origin: z.string().min(1).max(256),
});

export type WireMessage = BusMessage & { readonly origin: string };

export type DecodeResult = { ok: true; message: WireMessage } | { ok: false; reason: string };

/** Serialises a stamped message; throws (with the topic and key) when `data` is not JSON. */
export function encodeBusMessage(message: WireMessage): string {
  try {
    return JSON.stringify({
      topic: message.topic,
      key: message.key,
      ...(message.data === undefined ? {} : { data: message.data }),
      origin: message.origin,
    });
  } catch (error) {
    throw new Error(
      `bus message ${message.topic} ${message.key} is not serialisable: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/** Parses and validates a message from the wire; never throws (other replicas may run other versions). */
export function decodeBusMessage(text: string): DecodeResult {
  if (Buffer.byteLength(text, "utf8") > MAX_BUS_MESSAGE_BYTES)
    return { ok: false, reason: `larger than ${MAX_BUS_MESSAGE_BYTES} bytes` };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const parsed = wireMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join(".") || "message"}: ${issue.message}`);
    return { ok: false, reason: issues.join("; ") };
  }
  const { data, ...rest } = parsed.data;
  return { ok: true, message: data === undefined ? rest : { ...rest, data } };
}

/**
 * Calls every handler with `message`. A throwing handler is logged and does not stop delivery to
 * the others: one broken subscriber (a closed SSE stream) must not starve the controllers.
 */
export function deliverToHandlers(
  handlers: Iterable<(message: BusMessage) => void>,
  message: BusMessage,
  logger: Logger,
): void {
  for (const handler of handlers) {
    try {
      handler(message);
    } catch (error) {
      logger.warn({ err: error, topic: message.topic, key: message.key }, "a bus subscriber failed on a message");
    }
  }
}
