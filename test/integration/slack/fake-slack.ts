// A local stand-in for slack.com/api that checks what Slack checks: POST, the bot token as
// `Authorization: Bearer xoxb-…`, a form or JSON body with channel/text/blocks (and ts for
// updates). It also takes response_url callbacks at /response/….
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SlackCall {
  method: string;
  path: string;
  authorization: string;
  contentType: string;
  body: Record<string, unknown>;
}

export interface FakeSlack {
  apiUrl: string;
  responseUrl: (id: string) => string;
  calls: SlackCall[];
  responses: SlackCall[];
  /** Next chat.postMessage fails with this Slack error (once). */
  failNext(error: string): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (text += chunk));
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}

function parseBody(contentType: string, text: string): Record<string, unknown> {
  if (contentType.startsWith("application/json")) return JSON.parse(text) as Record<string, unknown>;
  const form = Object.fromEntries(new URLSearchParams(text));
  // WebClient form-encodes nested values (blocks) as JSON strings.
  return Object.fromEntries(
    Object.entries(form).map(([key, value]) => [key, key === "blocks" ? (JSON.parse(value) as unknown) : value]),
  );
}

function slackAnswer(call: SlackCall, token: string, counter: number): Record<string, unknown> {
  if (call.method !== "POST") return { ok: false, error: "method_not_allowed" };
  if (call.authorization !== `Bearer ${token}`) return { ok: false, error: "not_authed" };
  const { channel, ts, blocks, text } = call.body;
  if (typeof channel !== "string" || !channel) return { ok: false, error: "channel_not_found" };
  if (!Array.isArray(blocks) || typeof text !== "string") return { ok: false, error: "invalid_blocks" };
  if (call.path === "/api/chat.postMessage")
    return { ok: true, channel: "C0DEPLOYS", ts: `1700000000.${String(counter).padStart(6, "0")}` };
  if (call.path === "/api/chat.update") {
    if (channel !== "C0DEPLOYS" || typeof ts !== "string") return { ok: false, error: "message_not_found" };
    return { ok: true, channel, ts };
  }
  return { ok: false, error: "unknown_method" };
}

export async function startFakeSlack(token = "xoxb-test-token"): Promise<FakeSlack> {
  const calls: SlackCall[] = [];
  const responses: SlackCall[] = [];
  let failure: string | undefined;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const contentType = req.headers["content-type"] ?? "";
      const call: SlackCall = {
        method: req.method ?? "",
        path: (req.url ?? "").split("?")[0] ?? "",
        authorization: req.headers.authorization ?? "",
        contentType,
        body: parseBody(contentType, await readBody(req)),
      };
      res.setHeader("content-type", "application/json");
      if (call.path.startsWith("/response/")) {
        responses.push(call);
        res.end('{"ok":true}');
        return;
      }
      calls.push(call);
      const answer =
        failure && call.path === "/api/chat.postMessage"
          ? { ok: false, error: failure }
          : slackAnswer(call, token, calls.length);
      failure = undefined;
      res.end(JSON.stringify(answer));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    apiUrl: `${base}/api/`,
    responseUrl: (id) => `${base}/response/${id}`,
    calls,
    responses,
    failNext: (error) => {
      failure = error;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
