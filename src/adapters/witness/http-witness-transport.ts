// The HTTP edge of witness publishing: POST <prefix>/add-checkpoint with a time limit. What to
// send and what the answer means is evidence/publish/witness-publisher.ts's business.
import type { WitnessResponse, WitnessTransport } from "../../ports/witness.js";

const TIMEOUT_MS = 10_000;
/** A witness answers with a few signature lines or a size: anything this long is not one. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export class HttpWitnessTransport implements WitnessTransport {
  private readonly endpoint: URL;

  constructor(readonly url: string) {
    const prefix = new URL(url);
    if (prefix.protocol !== "https:" && prefix.protocol !== "http:") {
      throw new Error(`witness URL ${url} must be http:// or https://`);
    }
    this.endpoint = new URL(`${prefix.pathname.replace(/\/$/, "")}/add-checkpoint`, prefix);
  }

  async addCheckpoint(body: string): Promise<WitnessResponse> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        body,
        headers: { "content-type": "text/plain; charset=utf-8" },
        signal: AbortSignal.timeout(TIMEOUT_MS),
        redirect: "error",
      });
    } catch (err) {
      throw new Error(`witness ${this.url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const text = await response.text();
    if (Buffer.byteLength(text) > MAX_RESPONSE_BYTES) {
      throw new Error(`witness ${this.url}: answered with ${Buffer.byteLength(text)} bytes, more than a witness sends`);
    }
    return { status: response.status, contentType: response.headers.get("content-type") ?? "", body: text };
  }
}
