import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { safeEqual, slackSignature, verifySlackSignature } from "../../../src/http/slack-signature.js";

const secret = "8f742231b10e8888abcd99yyyzzz85a5";
const nowMs = 1_531_420_618_000;

describe("Slack v0 signatures", () => {
  it("matches Slack's documented example", () => {
    // From api.slack.com/authentication/verifying-requests-from-slack.
    const body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    expect(slackSignature(secret, "1531420618", body)).toBe(
      "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    );
  });

  it("accepts a correct signature within the window and refuses stale, future, malformed or wrong ones", () => {
    const rawBody = Buffer.from("payload=%7B%7D");
    const timestamp = String(nowMs / 1000);
    const signature = slackSignature(secret, timestamp, rawBody);
    expect(verifySlackSignature({ signingSecret: secret, timestamp, signature, rawBody, nowMs })).toEqual({ ok: true });
    expect(
      verifySlackSignature({ signingSecret: secret, timestamp, signature, rawBody, nowMs: nowMs + 301_000 }).ok,
    ).toBe(false);
    expect(
      verifySlackSignature({ signingSecret: secret, timestamp, signature, rawBody, nowMs: nowMs - 301_000 }).ok,
    ).toBe(false);
    expect(verifySlackSignature({ signingSecret: secret, timestamp: "12a", signature, rawBody, nowMs }).ok).toBe(false);
    expect(verifySlackSignature({ signingSecret: secret, timestamp, signature: undefined, rawBody, nowMs }).ok).toBe(
      false,
    );
    expect(verifySlackSignature({ signingSecret: "other", timestamp, signature, rawBody, nowMs }).ok).toBe(false);
    expect(
      verifySlackSignature({ signingSecret: secret, timestamp, signature: signature.toUpperCase(), rawBody, nowMs }).ok,
    ).toBe(false);
  });

  it("refuses any change to the body", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), (bytes, index) => {
        const rawBody = Buffer.from(bytes);
        const timestamp = String(nowMs / 1000);
        const signature = slackSignature(secret, timestamp, rawBody);
        const tampered = Buffer.from(rawBody);
        const at = index % tampered.length;
        tampered[at] = (tampered[at] ?? 0) ^ 0x01;
        return !verifySlackSignature({ signingSecret: secret, timestamp, signature, rawBody: tampered, nowMs }).ok;
      }),
    );
  });

  it("compares in constant time whatever the lengths", () => {
    expect(safeEqual("abc", "abc")).toBe(true);
    expect(safeEqual("abc", "abd")).toBe(false);
    expect(safeEqual("abc", "abcd")).toBe(false);
    expect(safeEqual("", "")).toBe(true);
  });
});
