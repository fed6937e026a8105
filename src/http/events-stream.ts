import type { Request, Response } from "express";
import type { BusMessage, EventBus } from "../ports/bus.js";
import type { ReadScope } from "./access.js";

export interface EventStreamOptions {
  /** The authenticated caller's read scope (set by the API's /api middleware). */
  scopeOf: (res: Response) => ReadScope;
  /** A comment line keeps proxies from closing an idle stream. Default 20 s. */
  heartbeatMs?: number;
  /** Streams beyond this many are refused with 503, so a client loop cannot exhaust the process. */
  maxClients?: number;
  /** Streams one user may hold open at once (tabs, phones); beyond it 429. Default 8. */
  maxPerUser?: number;
}

/** Topics whose key is `namespace/name` of the object that changed. */
const NAMESPACED_TOPICS: ReadonlySet<BusMessage["topic"]> = new Set(["approval", "selfhealing"]);

/**
 * `GET /api/events`: server-sent events fed by the event bus, for authenticated callers. Each
 * bus message becomes one event named after its topic whose data is `{topic, key, data}`.
 * Messages are hints: the dashboard re-reads the API when one arrives, so a lost message costs
 * freshness only. A caller gets a namespaced hint only for namespaces they may read; threat and
 * evidence hints carry their key and data only for those who may read every namespace (others
 * get the bare topic: enough to refresh their view).
 */
export function eventStreamHandler(bus: EventBus, options: EventStreamOptions): (req: Request, res: Response) => void {
  const heartbeatMs = options.heartbeatMs ?? 20_000;
  const maxClients = options.maxClients ?? 200;
  const maxPerUser = options.maxPerUser ?? 8;
  const perUser = new Map<string, number>();
  let clients = 0;
  return (req, res) => {
    if (!(req.get("accept") ?? "").includes("text/event-stream")) {
      res.status(406).json({
        error: "NotAcceptable",
        message: "GET /api/events is a server-sent event stream: send Accept: text/event-stream",
      });
      return;
    }
    const scope = options.scopeOf(res);
    const user = scope.identity.username;
    if ((perUser.get(user) ?? 0) >= maxPerUser) {
      res
        .status(429)
        .json({ error: "TooManyStreams", message: `${user} has ${maxPerUser} event streams open; close one first` });
      return;
    }
    if (clients >= maxClients) {
      res.status(503).json({ error: "TooManyStreams", message: `at most ${maxClients} event streams at once` });
      return;
    }
    clients += 1;
    perUser.set(user, (perUser.get(user) ?? 0) + 1);
    res.status(200).set({
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.flushHeaders();
    res.write("retry: 3000\n: connected\n\n");
    const unsubscribe = bus.subscribe((message) => {
      void visibleTo(scope, message).then(
        (visible) => {
          if (visible && !res.writableEnded) res.write(formatEvent(visible));
        },
        // The review failed (API server away): the hint is dropped; the next re-read catches up.
        () => undefined,
      );
    });
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), heartbeatMs);
    heartbeat.unref();
    req.once("close", () => {
      clients -= 1;
      const open = (perUser.get(user) ?? 1) - 1;
      if (open > 0) perUser.set(user, open);
      else perUser.delete(user);
      clearInterval(heartbeat);
      unsubscribe();
    });
  };
}

/** The message as this caller may see it, or null when it is about a namespace they may not read. */
async function visibleTo(scope: ReadScope, message: BusMessage): Promise<BusMessage | null> {
  if (message.topic === "policy") return message;
  if (NAMESPACED_TOPICS.has(message.topic)) {
    const namespace = message.key.split("/")[0] ?? "";
    return (await scope.mayRead(namespace)) ? message : null;
  }
  return (await scope.readsEveryNamespace()) ? message : { topic: message.topic, key: "" };
}

/** One SSE frame; JSON never contains a raw newline, so one `data:` line is enough. */
export function formatEvent(message: BusMessage): string {
  const payload = JSON.stringify({ topic: message.topic, key: message.key, data: message.data ?? {} });
  return `event: ${message.topic}\ndata: ${payload}\n\n`;
}
