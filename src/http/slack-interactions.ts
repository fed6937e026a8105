import type { Request, Response } from "express";
import { z } from "zod";
import type { Identity } from "../api/identity.js";
import { ApiError } from "./errors.js";
import { DecisionRefusedError, recordDecision, type DecisionDependencies } from "../approval/index.js";
import {
  APPROVE_ACTION_ID,
  REJECT_ACTION_ID,
  SLACK_USERS_CONFIGMAP,
  type ReplayGuard,
  type SlackIdentityMap,
  type SlackIdentityResolution,
} from "../ports/notify.js";
import { verifySlackSignature } from "./slack-signature.js";

/** Accepted interaction ids are remembered this long: twice Slack's timestamp window. */
export const REPLAY_TTL_SECONDS = 600;

export interface SlackInteractionDependencies {
  signingSecret: string;
  identities: SlackIdentityMap;
  replay: ReplayGuard;
  decisions: DecisionDependencies;
  logger: {
    info(fields: Record<string, unknown>, message: string): void;
    warn(fields: Record<string, unknown>, message: string): void;
    error(fields: Record<string, unknown>, message: string): void;
  };
  /** Only response URLs under this prefix are called back. Default `https://hooks.slack.com/`. */
  responseUrlPrefix?: string;
  /** Posts an ephemeral reply to Slack's response_url. Default: fetch. */
  postResponse?: (url: string, body: Record<string, unknown>) => Promise<void>;
}

const payloadSchema = z.object({
  type: z.string(),
  trigger_id: z.string().optional(),
  response_url: z.string().optional(),
  user: z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional() }),
  container: z.object({ message_ts: z.string().optional() }).loose().optional(),
  actions: z
    .array(z.object({ action_id: z.string(), value: z.string().optional(), action_ts: z.string().optional() }).loose())
    .default([]),
});
type SlackPayload = z.infer<typeof payloadSchema>;

/** Reads the signed form body Slack posts: `payload=<json>`. */
function parsePayload(rawBody: Buffer): SlackPayload {
  const payload = new URLSearchParams(rawBody.toString("utf8")).get("payload");
  if (!payload) throw new ApiError(400, "BadPayload", "expected a form field payload=<json>");
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch (error) {
    throw new ApiError(
      400,
      "BadPayload",
      `payload is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success)
    throw new ApiError(
      400,
      "BadPayload",
      `payload does not look like a Slack interaction: ${parsed.error.issues[0]?.message ?? ""}`,
    );
  return parsed.data;
}

/** The interaction's unique id: its trigger id, else the message and action timestamps. */
export function interactionId(payload: SlackPayload): string | undefined {
  const action = payload.actions[0];
  if (payload.trigger_id) return `slack:trigger:${payload.trigger_id}`;
  if (payload.container?.message_ts && action?.action_ts)
    return `slack:action:${payload.container.message_ts}:${action.action_ts}`;
  return undefined;
}

function parseTarget(value: string | undefined): { namespace: string; name: string } {
  const [namespace = "", name = "", ...rest] = (value ?? "").split("/");
  if (!namespace || !name || rest.length > 0)
    throw new ApiError(400, "BadPayload", `button value ${JSON.stringify(value ?? "")} is not NAMESPACE/NAME`);
  return { namespace, name };
}

function checkSignature(req: Request, deps: SlackInteractionDependencies): Buffer {
  const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const check = verifySlackSignature({
    signingSecret: deps.signingSecret,
    timestamp: req.get("x-slack-request-timestamp"),
    signature: req.get("x-slack-signature"),
    rawBody,
    nowMs: deps.decisions.now().getTime(),
  });
  if (!check.ok) throw new ApiError(401, "BadSignature", check.reason);
  return rawBody;
}

async function refuseReplay(payload: SlackPayload, deps: SlackInteractionDependencies): Promise<void> {
  const id = interactionId(payload);
  if (!id)
    throw new ApiError(400, "BadPayload", "the interaction has neither trigger_id nor message and action timestamps");
  let first: boolean;
  try {
    first = await deps.replay.firstSeen(id, REPLAY_TTL_SECONDS);
  } catch (error) {
    throw new ApiError(
      503,
      "ReplayCheckUnavailable",
      `cannot check for replays, so the decision is refused: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!first)
    throw new ApiError(409, "Replay", `interaction ${id} was already handled; a replayed request changes nothing`);
}

type Mapped = Extract<SlackIdentityResolution, { status: "mapped" }>;

/**
 * The decision's comment, which the webhook's approval.decision record carries: the Slack user,
 * and the version of the map and the entry that made them this username.
 */
export function slackDecisionComment(payload: Pick<SlackPayload, "user">, mapped: Mapped): string {
  const slackUser = `${payload.user.id}${payload.user.username ? ` (${payload.user.username})` : ""}`;
  const { configMap, resourceVersion, uid } = mapped.mapping;
  return `Slack user ${slackUser}, mapped to ${mapped.username} by ConfigMap ${configMap} resourceVersion ${resourceVersion} uid ${uid} entry ${mapped.entryHash}`;
}

async function decide(payload: SlackPayload, mapped: Mapped, deps: SlackInteractionDependencies): Promise<string> {
  const action = payload.actions.find((a) => a.action_id === APPROVE_ACTION_ID || a.action_id === REJECT_ACTION_ID);
  if (!action) return "";
  const { namespace, name } = parseTarget(action.value);
  const decision = action.action_id === APPROVE_ACTION_ID ? "Approve" : "Reject";
  // A username only: the map cannot grant groups, and Kubernetes has no API to look them up, so
  // RBAC bindings and approver rules that name groups do not apply to decisions from Slack.
  const identity: Identity = { username: mapped.username, groups: [] };
  const view = await recordDecision(
    { identity, namespace, name, decision, comment: slackDecisionComment(payload, mapped), via: "slack" },
    deps.decisions,
  );
  deps.logger.info(
    {
      slackUser: payload.user.id,
      user: identity.username,
      request: `${namespace}/${name}`,
      decision,
      mapping: mapped.mapping,
      entryHash: mapped.entryHash,
    },
    "decision recorded from Slack",
  );
  return `You (${identity.username}) ${decision === "Approve" ? "approved" : "rejected"} ${namespace}/${name}: it is now ${view.phase} (${view.approvals}/${view.requiredApprovals} approvals).`;
}

/**
 * `POST /slack/interactions`, mounted with a raw body parser: the v0 signature and the
 * 5-minute window first (401), then the replay guard (409), then the mapped username (no groups)
 * and the same rules and write path as the REST API, recorded `via: slack` with the map's version
 * and entry in the comment. Problems a user can fix are answered with 200 and an ephemeral
 * message, so Slack shows them instead of a failure.
 */
export function slackInteractionsHandler(
  deps: SlackInteractionDependencies,
): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const payload = parsePayload(checkSignature(req, deps));
    await refuseReplay(payload, deps);
    const text = await answer(payload, deps);
    if (text && payload.response_url) respondEphemeral(payload.response_url, text, deps);
    res.status(200).json({ ok: true, response_type: "ephemeral", replace_original: false, text });
  };
}

async function resolveSlackUser(
  payload: SlackPayload,
  deps: SlackInteractionDependencies,
): Promise<{ mapped: Mapped } | { text: string }> {
  let resolution: SlackIdentityResolution;
  try {
    resolution = await deps.identities.resolve(payload.user.id);
  } catch (error) {
    deps.logger.warn({ err: error, slackUser: payload.user.id }, "Slack identity map unavailable");
    return {
      text: `AEGIS could not resolve your Slack user, so it did not record your decision: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (resolution.status === "mapped") return { mapped: resolution };
  if (resolution.status === "unmapped")
    return {
      text: `Your Slack user ${payload.user.id} is not mapped to a Kubernetes identity: ask an admin to add it to the ConfigMap ${SLACK_USERS_CONFIGMAP} in AEGIS's namespace, with a Kubernetes username only (e.g. "${payload.user.id}: alice").`,
    };
  deps.logger.error(
    {
      slackUser: payload.user.id,
      problem: resolution.problem,
      mapping: resolution.mapping,
      entryHash: resolution.entryHash,
    },
    "Slack identity map entry refused: no decision taken",
  );
  return {
    text: `AEGIS did not record your decision: your entry in the ConfigMap ${SLACK_USERS_CONFIGMAP} maps nobody: ${resolution.problem}. Ask an admin to map "${payload.user.id}" to a Kubernetes username only.`,
  };
}

async function answer(payload: SlackPayload, deps: SlackInteractionDependencies): Promise<string> {
  const resolved = await resolveSlackUser(payload, deps);
  if ("text" in resolved) return resolved.text;
  try {
    return await decide(payload, resolved.mapped, deps);
  } catch (error) {
    if (error instanceof DecisionRefusedError && (error.refusal === "NotAnApprover" || error.refusal === "Forbidden"))
      return `AEGIS did not record your decision: ${error.message} (a decision from Slack carries your username only, never groups: approver rules and RBAC bindings that name groups do not count for it)`;
    if (error instanceof DecisionRefusedError || (error instanceof ApiError && error.status < 500))
      return `AEGIS did not record your decision: ${error.message}`;
    deps.logger.warn({ err: error, slackUser: payload.user.id }, "Slack decision failed");
    return `AEGIS could not record your decision: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function respondEphemeral(url: string, text: string, deps: SlackInteractionDependencies): void {
  const prefix = deps.responseUrlPrefix ?? "https://hooks.slack.com/";
  if (!url.startsWith(prefix)) {
    deps.logger.warn({ url }, "Slack response_url outside the allowed prefix; not calling it");
    return;
  }
  const post = deps.postResponse ?? defaultPostResponse;
  post(url, { response_type: "ephemeral", replace_original: false, text }).catch((error: unknown) =>
    deps.logger.warn({ err: error }, "could not answer Slack through response_url"),
  );
}

async function defaultPostResponse(url: string, body: Record<string, unknown>): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`response_url answered HTTP ${response.status}`);
}
