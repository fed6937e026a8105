import type { KnownBlock } from "@slack/types";
import { requestPageUrl, type ApprovalView } from "../../api/approval-view.js";
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from "../../ports/notify.js";

/** What AEGIS posts: `text` is the notification fallback, `blocks` the message itself. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** Slack's mrkdwn needs only &, < and > escaped; everything else is shown as typed. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const OUTCOME_ICON: Record<string, string> = {
  Approved: ":white_check_mark:",
  Rejected: ":no_entry:",
  Expired: ":hourglass:",
  Used: ":white_check_mark:",
  ReviewRequired: ":rotating_light:",
  Pending: ":lock:",
};

function describe(view: ApprovalView): KnownBlock[] {
  const target = `${view.target.kind} ${view.target.namespace}/${view.target.name}`;
  const factors = view.risk.factors.map(
    (factor) =>
      `• ${escapeMrkdwn(factor.name)} +${factor.points}${factor.detail ? ` — ${escapeMrkdwn(factor.detail)}` : ""}`,
  );
  const blocks: KnownBlock[] = [
    {
      type: "section",
      text: {
        type: "mrkdwn",
        text: view.breakGlass
          ? `:rotating_light: *${escapeMrkdwn(target)}* was changed by BREAK-GLASS (${escapeMrkdwn(view.breakGlass.user)}: “${escapeMrkdwn(view.breakGlass.reason)}”); review it by ${view.reviewDueAt ?? "?"}`
          : `${OUTCOME_ICON[view.phase] ?? ""} *${escapeMrkdwn(target)}* change needs approval`,
      },
    },
    {
      type: "section",
      fields: [
        { type: "mrkdwn", text: `*Request*\n\`${escapeMrkdwn(`${view.namespace}/${view.name}`)}\`` },
        { type: "mrkdwn", text: `*Requester*\n${escapeMrkdwn(view.requester.username)}` },
        { type: "mrkdwn", text: `*Risk*\n${view.risk.score}/100` },
        { type: "mrkdwn", text: `*Policy*\n${escapeMrkdwn(view.policies.join(", "))}` },
      ],
    },
    { type: "section", text: { type: "mrkdwn", text: `*Change*\n${escapeMrkdwn(view.summary || "(no summary)")}` } },
  ];
  if (factors.length > 0) blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: factors.join("\n") }] });
  if (view.reason)
    blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `Reason: ${escapeMrkdwn(view.reason)}` }] });
  return blocks;
}

/** The message for a Pending request: details plus Approve and Reject buttons (value `ns/name`). */
export function pendingMessage(view: ApprovalView, dashboardUrl?: string): SlackMessage {
  const value = `${view.namespace}/${view.name}`;
  const link = requestPageUrl(dashboardUrl, view);
  const blocks = describe(view);
  blocks.push({
    type: "actions",
    block_id: "aegis_decision",
    elements: [
      {
        type: "button",
        action_id: APPROVE_ACTION_ID,
        style: "primary",
        text: { type: "plain_text", text: "Approve" },
        value,
      },
      {
        type: "button",
        action_id: REJECT_ACTION_ID,
        style: "danger",
        text: { type: "plain_text", text: "Reject" },
        value,
        confirm: {
          title: { type: "plain_text", text: "Reject this change?" },
          text: { type: "plain_text", text: `Reject ${value}? One rejection decides the request.` },
          confirm: { type: "plain_text", text: "Reject" },
          deny: { type: "plain_text", text: "Cancel" },
        },
      },
      ...(link
        ? [
            {
              type: "button" as const,
              action_id: "aegis_open",
              text: { type: "plain_text" as const, text: "Open in dashboard" },
              url: link,
            },
          ]
        : []),
    ],
  });
  return {
    text: `${view.breakGlass ? "Break-glass review needed" : "Approval needed"}: ${view.target.kind} ${view.target.namespace}/${view.target.name} (risk ${view.risk.score}/100, request ${value})`,
    blocks,
  };
}

/** The same message once decided: the buttons give way to the outcome and who decided. */
export function decidedMessage(view: ApprovalView): SlackMessage {
  const deciders = view.decisions.map(
    (decision) =>
      `${escapeMrkdwn(decision.user)} (${decision.decision} via ${decision.via}${decision.comment ? `: “${escapeMrkdwn(decision.comment)}”` : ""})`,
  );
  const outcome =
    view.phase === "Expired"
      ? `*Expired* with ${view.approvals}/${view.requiredApprovals} approvals`
      : `*${view.phase}*${deciders.length > 0 ? ` by ${deciders.join(", ")}` : ""}`;
  const blocks = describe(view);
  blocks.push({ type: "section", text: { type: "mrkdwn", text: `${OUTCOME_ICON[view.phase] ?? ""} ${outcome}` } });
  return {
    text: `${view.phase}: ${view.target.kind} ${view.target.namespace}/${view.target.name} (request ${view.namespace}/${view.name})`,
    blocks,
  };
}
