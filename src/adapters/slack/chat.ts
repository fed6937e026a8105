import { LogLevel, WebClient } from "@slack/web-api";
import type { ApprovalView } from "../../api/approval-view.js";
import type { MessageRef, NotificationChannel } from "../../ports/notify.js";
import { decidedMessage, pendingMessage, type SlackMessage } from "./messages.js";

/** The two Slack Web API calls AEGIS makes. */
export interface SlackChat {
  post(channel: string, message: SlackMessage): Promise<MessageRef>;
  update(ref: MessageRef, message: SlackMessage): Promise<void>;
}

/** Slack as a notification channel: the Approve/Reject message, rewritten with the outcome. */
export class SlackNotificationChannel implements NotificationChannel {
  constructor(private readonly chat: SlackChat) {}

  postPending(destination: string, view: ApprovalView, dashboardUrl?: string): Promise<MessageRef> {
    return this.chat.post(destination, pendingMessage(view, dashboardUrl));
  }

  updateDecided(ref: MessageRef, view: ApprovalView): Promise<void> {
    return this.chat.update(ref, decidedMessage(view));
  }
}

export interface SlackChatOptions {
  /** Bot token, `xoxb-…`. */
  token: string;
  /** Default https://slack.com/api/; tests point it at a local server. */
  apiUrl?: string;
  timeoutMs?: number;
  retries?: number;
}

/** `SlackChat` over `@slack/web-api`'s `WebClient` (form-encoded POSTs with `Authorization: Bearer`). */
export class WebApiSlackChat implements SlackChat {
  private readonly client: WebClient;

  constructor(options: SlackChatOptions) {
    this.client = new WebClient(options.token, {
      ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
      timeout: options.timeoutMs ?? 10_000,
      retryConfig: { retries: options.retries ?? 2, factor: 2, minTimeout: 200, maxTimeout: 2_000 },
      logLevel: LogLevel.ERROR,
    });
  }

  async post(channel: string, message: SlackMessage): Promise<MessageRef> {
    try {
      const reply = await this.client.chat.postMessage({
        channel,
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
      });
      if (!reply.channel || !reply.ts) throw new Error("Slack answered without channel and ts");
      return { channel: reply.channel, ts: reply.ts };
    } catch (error) {
      throw new Error(
        `Slack chat.postMessage to ${channel}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  async update(ref: MessageRef, message: SlackMessage): Promise<void> {
    try {
      await this.client.chat.update({ channel: ref.channel, ts: ref.ts, text: message.text, blocks: message.blocks });
    } catch (error) {
      throw new Error(
        `Slack chat.update of ${ref.channel}/${ref.ts}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
}
