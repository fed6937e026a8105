import { createHmac, timingSafeEqual } from "node:crypto";

/** Slack refuses requests older than this; so do we (Slack's own recommendation). */
export const SLACK_TIMESTAMP_TOLERANCE_SECONDS = 300;

export interface SlackSignatureInput {
  signingSecret: string;
  /** `X-Slack-Request-Timestamp`: Unix seconds. */
  timestamp: string | undefined;
  /** `X-Slack-Signature`: `v0=` + hex HMAC-SHA256. */
  signature: string | undefined;
  rawBody: Buffer;
  nowMs: number;
  toleranceSeconds?: number;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret. */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: Buffer | string): string {
  const hmac = createHmac("sha256", signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest("hex")}`;
}

/** Checks Slack's v0 request signature and its 5-minute timestamp window (timing-safe compare). */
export function verifySlackSignature(input: SlackSignatureInput): SignatureCheck {
  const tolerance = input.toleranceSeconds ?? SLACK_TIMESTAMP_TOLERANCE_SECONDS;
  if (!input.timestamp || !/^\d{1,12}$/.test(input.timestamp))
    return { ok: false, reason: "missing or malformed X-Slack-Request-Timestamp" };
  if (!input.signature) return { ok: false, reason: "missing X-Slack-Signature" };
  const ageSeconds = Math.abs(input.nowMs / 1000 - Number(input.timestamp));
  if (ageSeconds > tolerance)
    return {
      ok: false,
      reason: `request timestamp is ${Math.round(ageSeconds)}s from now (allowed: ${tolerance}s); refusing a possible replay`,
    };
  const expected = slackSignature(input.signingSecret, input.timestamp, input.rawBody);
  return safeEqual(expected, input.signature)
    ? { ok: true }
    : { ok: false, reason: "X-Slack-Signature does not match the request body" };
}

/** Constant-time string comparison that also tolerates different lengths. */
export function safeEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(actual, "utf8");
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
