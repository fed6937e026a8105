import { createHmac } from "node:crypto";
import type { Request, Response } from "express";
import { ApiError } from "./errors.js";
import { safeEqual } from "./slack-signature.js";

export interface GitHubWebhookDependencies {
  secret: string;
  logger: { info(fields: Record<string, unknown>, message: string): void };
}

/** `sha256=` + hex HMAC-SHA256 of the raw body with the webhook secret (`X-Hub-Signature-256`). */
export function githubSignature(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`;
}

export function verifyGitHubSignature(secret: string, rawBody: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  return safeEqual(githubSignature(secret, rawBody), header);
}

/**
 * `POST /github/webhook`, mounted with a raw body parser: 401 unless `X-Hub-Signature-256`
 * matches; `ping` is answered with the hook id; other events are logged and acknowledged (202).
 */
export function githubWebhookHandler(deps: GitHubWebhookDependencies): (req: Request, res: Response) => void {
  return (req, res) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifyGitHubSignature(deps.secret, rawBody, req.get("x-hub-signature-256"))) {
      throw new ApiError(
        401,
        "BadSignature",
        "X-Hub-Signature-256 is missing or does not match the body (HMAC-SHA256 with the webhook secret)",
      );
    }
    const event = req.get("x-github-event") ?? "";
    const delivery = req.get("x-github-delivery") ?? "";
    const body = parseJson(rawBody);
    if (event === "ping") {
      deps.logger.info({ delivery, hookId: body.hook_id }, "GitHub webhook ping");
      res.status(200).json({ ok: true, event, zen: typeof body.zen === "string" ? body.zen : "" });
      return;
    }
    deps.logger.info(
      {
        event,
        delivery,
        action: body.action,
        repository: (body.repository as { full_name?: unknown } | undefined)?.full_name,
      },
      "GitHub webhook event received (no action taken)",
    );
    res.status(202).json({ ok: true, event, handled: false });
  };
}

function parseJson(rawBody: Buffer): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(rawBody.toString("utf8") || "{}");
    return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    throw new ApiError(
      400,
      "BadPayload",
      "the webhook body is not JSON (configure the hook with content type application/json)",
    );
  }
}
