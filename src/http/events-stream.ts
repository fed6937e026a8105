import type { Request, Response } from "express";
import type { BusMessage, EventBus } from "../ports/bus.js";

export interface EventStreamOptions {
  /** A comment line keeps proxies from closing an idle stream. Default 20 s. */
  heartbeatMs?: number;
  /** Streams beyond this many are refused with 503, so a client loop cannot exhaust the process. */
  maxClients?: number;
}

/**
 * `GET /api/events`: server-sent events fed by the event bus. Each bus message becomes one event
 * named after its topic whose data is `{topic, key, data}`. Messages are hints: the dashboard
 * re-reads the API when one arrives, so a lost message costs freshness only.
 */
export function eventStreamHandler(
  bus: EventBus,
  options: EventStreamOptions = {},
): (req: Request, res: Response) => void {
  const heartbeatMs = options.heartbeatMs ?? 20_000;
  const maxClients = options.maxClients ?? 200;
  let clients = 0;
  return (req, res) => {
    if (!(req.get("accept") ?? "").includes("text/event-stream")) {
      res.status(406).json({
        error: "NotAcceptable",
        message: "GET /api/events is a server-sent event stream: send Accept: text/event-stream (EventSource does)",
      });
      return;
    }
    if (clients >= maxClients) {
      res.status(503).json({ error: "TooManyStreams", message: `at most ${maxClients} event streams at once` });
      return;
    }
    clients += 1;
    res.status(200).set({
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.flushHeaders();
    res.write("retry: 3000\n: connected\n\n");
    const unsubscribe = bus.subscribe((message) => res.write(formatEvent(message)));
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), heartbeatMs);
    heartbeat.unref();
    req.once("close", () => {
      clients -= 1;
      clearInterval(heartbeat);
      unsubscribe();
    });
  };
}

/** One SSE frame; JSON never contains a raw newline, so one `data:` line is enough. */
export function formatEvent(message: BusMessage): string {
  const payload = JSON.stringify({ topic: message.topic, key: message.key, data: message.data ?? {} });
  return `event: ${message.topic}\ndata: ${payload}\n\n`;
}
