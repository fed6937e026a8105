import { LogLevel, WebClient } from "@slack/web-api";
import type { SlackMessage } from "./messages.js";

/** Where a posted message lives: `chat.update` needs the channel id Slack answered with, and `ts`. */
export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** The two Slack calls the notifier makes. */
export interface SlackChat {
  post(channel: string, message: SlackMessage): Promise<SlackMessageRef>;
  update(ref: SlackMessageRef, message: SlackMessage): Promise<void>;
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

  async post(channel: string, message: SlackMessage): Promise<SlackMessageRef> {
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

  async update(ref: SlackMessageRef, message: SlackMessage): Promise<void> {
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
