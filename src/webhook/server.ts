import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { admissionReviewSchema, formatZodIssues, reviewOf, type AdmissionResponse } from "./admission-review.js";
import type { AdmissionHandler } from "./handler.js";
import type { Logger } from "../ports/logger.js";

/** Fits an UPDATE of two 3 MiB objects plus the envelope, as controller-runtime allows. */
export const MAX_ADMISSION_BODY_BYTES = 7 * 1024 * 1024;
export const ADMISSION_PATH = "/validate";

export interface TlsMaterial {
  key: string;
  cert: string;
}

export interface AdmissionOutcome {
  allowed: boolean;
  kind: string;
  durationMs: number;
  error?: boolean;
}

export interface WebhookServerOptions {
  host: string;
  port: number;
  tls: TlsMaterial;
  /**
   * PEM of the CA (or CAs) the callers' client certificates must chain to (mutual TLS). Set, a
   * caller without such a certificate fails the TLS handshake and never reaches HTTP; unset,
   * any caller that reaches the port is served (as before).
   */
  clientCa?: string | undefined;
  handler: AdmissionHandler;
  /** `warn` (optional) hears of refused TLS clients, at most once a minute. */
  logger: Pick<Logger, "error"> & Partial<Pick<Logger, "warn">>;
  onOutcome?: (outcome: AdmissionOutcome) => void;
  /**
   * SO_REUSEPORT: more processes may listen on the same port, and the kernel spreads connections
   * across them (Linux). Off by default: a second process on a taken port is an error.
   */
  reusePort?: boolean;
}

/** How often refused TLS clients are logged at most (a scanner must not flood the log). */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The HTTPS admission endpoint. Bad input gets a 4xx with a clear message; nothing crashes it.
 * With `clientCa`, only callers presenting a certificate that chains to it complete the TLS
 * handshake (the API server, through its AdmissionConfiguration): nobody else's bytes are parsed.
 */
export class WebhookServer {
  private readonly server: Server;
  private tls: TlsMaterial;
  private clientCa: string | undefined;
  /** TLS clients refused (no certificate, an untrusted one, or a failed handshake) since start. */
  refusedClients = 0;
  private refusedSinceLog = 0;
  private lastRefusalLog = 0;
  private draining = false;
  private lastRequestAt = 0;

  constructor(private readonly options: WebhookServerOptions) {
    this.tls = options.tls;
    this.clientCa = options.clientCa;
    const mutual = options.clientCa !== undefined;
    // requestCert and rejectUnauthorized belong to the server and survive setSecureContext;
    // the trusted CAs belong to the secure context and are passed again on every swap.
    this.server = createServer(
      { ...this.secureContextOptions(), minVersion: "TLSv1.2", requestCert: mutual, rejectUnauthorized: mutual },
      (req, res) => {
        this.serve(req, res).catch((error: unknown) => this.fail(res, error));
      },
    );
    this.server.keepAliveTimeout = 65_000;
    if (mutual) this.server.on("tlsClientError", (error, socket) => this.refused(error, socket));
  }

  /** Whether callers must present a client certificate (mutual TLS). */
  get requiresClientCertificate(): boolean {
    return this.clientCa !== undefined;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(
        { port: this.options.port, host: this.options.host, reusePort: this.options.reusePort ?? false },
        () => resolve(),
      );
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** Swaps the serving certificate without dropping connections or requests in flight. */
  updateCertificate(tls: TlsMaterial): void {
    this.tls = tls;
    this.server.setSecureContext(this.secureContextOptions());
  }

  /**
   * Swaps the trusted client CA (a rotated CA file) for new connections; connections already
   * authenticated keep going. Only on a server started with `clientCa`: mutual TLS cannot be
   * switched on or off while running.
   */
  updateClientCa(clientCa: string): void {
    if (this.clientCa === undefined) throw new Error("this webhook server was started without a client CA");
    this.clientCa = clientCa;
    this.server.setSecureContext(this.secureContextOptions());
  }

  /**
   * The first half of a graceful stop: from now on every response carries `Connection: close`,
   * so the API server opens new connections (to the replicas still in the Service) instead of
   * reusing one to this replica; resolves once no admission has arrived for `quietMs` (the API
   * server stopped routing here), or after `maxMs`. Closing while the API server still routes
   * here resets the keep-alive connection it just wrote a review on, and the admission fails.
   */
  async drain(options: { quietMs?: number; maxMs?: number } = {}): Promise<void> {
    const quietMs = options.quietMs ?? 2000;
    const maxMs = options.maxMs ?? 8000;
    this.draining = true;
    const started = Date.now();
    while (Date.now() - Math.max(this.lastRequestAt, started) < quietMs && Date.now() - started < maxMs) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async close(): Promise<void> {
    this.draining = true;
    this.server.closeIdleConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private secureContextOptions(): { key: string; cert: string; ca?: string } {
    const context = { key: this.tls.key, cert: this.tls.cert };
    return this.clientCa === undefined ? context : { ...context, ca: this.clientCa };
  }

  private refused(error: Error, socket: TLSSocket): void {
    this.refusedClients += 1;
    this.refusedSinceLog += 1;
    socket.destroy();
    const now = Date.now();
    if (!this.options.logger.warn || now - this.lastRefusalLog < REFUSAL_LOG_INTERVAL_MS) return;
    this.options.logger.warn(
      { remoteAddress: socket.remoteAddress, reason: error.message, refused: this.refusedSinceLog },
      "webhook: refused TLS clients without a certificate from the client CA (--webhook-client-ca)",
    );
    this.lastRefusalLog = now;
    this.refusedSinceLog = 0;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    this.lastRequestAt = Date.now();
    if (this.draining) res.setHeader("Connection", "close");
    // The handshake already refused such callers (rejectUnauthorized); this guards a regression.
    if (this.clientCa !== undefined && !(req.socket as TLSSocket).authorized) {
      throw new HttpError(403, "aegis webhook: a client certificate from the configured client CA is required");
    }
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "POST" || path !== ADMISSION_PATH) {
      throw new HttpError(404, `aegis webhook: only POST ${ADMISSION_PATH} is served`);
    }
    const contentType = req.headers["content-type"] ?? "";
    if (!contentType.toLowerCase().startsWith("application/json")) {
      throw new HttpError(
        415,
        `aegis webhook: content-type must be application/json, got ${JSON.stringify(contentType)}`,
      );
    }
    const review = parseReview(await readBody(req));
    let response: AdmissionResponse;
    try {
      response = await this.options.handler(review.request);
    } catch (error) {
      // controller-runtime's Errored(500): the API server applies failurePolicy (Fail) to it.
      this.options.logger.error(
        { err: error, uid: review.request.uid, kind: review.request.kind.kind },
        "admission handler failed",
      );
      response = {
        uid: review.request.uid,
        allowed: false,
        status: { code: 500, message: `aegis: internal error: ${errorText(error)}` },
      };
      this.options.onOutcome?.({
        allowed: false,
        kind: review.request.kind.kind,
        durationMs: performance.now() - started,
        error: true,
      });
      return sendJson(res, 200, reviewOf(response));
    }
    this.options.onOutcome?.({
      allowed: response.allowed,
      kind: review.request.kind.kind,
      durationMs: performance.now() - started,
    });
    sendJson(res, 200, reviewOf(response));
  }

  private fail(res: ServerResponse, error: unknown): void {
    const status = error instanceof HttpError ? error.statusCode : 500;
    if (status === 500) this.options.logger.error({ err: error }, "admission request failed");
    if (!res.headersSent) sendJson(res, status, { error: errorText(error) });
    else res.destroy();
  }
}

function parseReview(body: string): ReturnType<typeof admissionReviewSchema.parse> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new HttpError(400, `aegis webhook: body is not JSON: ${errorText(error)}`);
  }
  const parsed = admissionReviewSchema.safeParse(json);
  if (!parsed.success)
    throw new HttpError(400, `aegis webhook: not an AdmissionReview v1: ${formatZodIssues(parsed.error)}`);
  return parsed.data;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_ADMISSION_BODY_BYTES) {
    req.resume();
    throw new HttpError(413, `aegis webhook: body of ${declared} bytes exceeds ${MAX_ADMISSION_BODY_BYTES}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_ADMISSION_BODY_BYTES) {
      req.resume();
      throw new HttpError(413, `aegis webhook: body exceeds ${MAX_ADMISSION_BODY_BYTES} bytes`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
