import type { KubeConfig } from "@kubernetes/client-node";
import { Redis } from "ioredis";
import { z } from "zod";
import { OctokitCommitStatuses } from "../adapters/github/commit-status.js";
import { SlackNotificationChannel, WebApiSlackChat } from "../adapters/slack/chat.js";
import type { CommitStatuses, NotificationChannel } from "../ports/notify.js";
import { KubeSlackIdentityMap } from "../adapters/slack/identity-map.js";
import { MemoryReplayGuard, RedisReplayGuard } from "../adapters/slack/replay-guard.js";
import type { SlackInteractionSettings } from "../http/api-server.js";

/**
 * Slack, GitHub and the dashboard's public URL, from the environment (secrets never come from
 * flags, which show up in `ps`). Unset values turn the integration off.
 */
export const INTEGRATION_ENV = {
  SLACK_BOT_TOKEN: "Slack bot token (xoxb-…): post and update approval messages",
  SLACK_SIGNING_SECRET: "Slack signing secret: verify POST /slack/interactions",
  SLACK_API_URL: "Slack Web API base URL (default https://slack.com/api/)",
  AEGIS_SLACK_RESPONSE_URL_PREFIX: "response_url prefix AEGIS may call back (default https://hooks.slack.com/)",
  GITHUB_TOKEN: "GitHub token with repo:status: commit statuses",
  GITHUB_API_URL: "GitHub API base URL (default https://api.github.com)",
  GITHUB_WEBHOOK_SECRET: "GitHub webhook secret: verify POST /github/webhook",
  AEGIS_DASHBOARD_URL: "public URL of the dashboard, for links in Slack and GitHub statuses",
} as const;

const optional = z.string().trim().min(1).optional().catch(undefined);
const settingsSchema = z.object({
  SLACK_BOT_TOKEN: optional,
  SLACK_SIGNING_SECRET: optional,
  SLACK_API_URL: z.url().optional(),
  AEGIS_SLACK_RESPONSE_URL_PREFIX: z.url().optional(),
  GITHUB_TOKEN: optional,
  GITHUB_API_URL: z.url().optional(),
  GITHUB_WEBHOOK_SECRET: optional,
  AEGIS_DASHBOARD_URL: z.url({ protocol: /^https?$/ }).optional(),
});
export type IntegrationSettings = z.infer<typeof settingsSchema>;

/** Reads the variables above; empty means unset. Throws naming every malformed URL. */
export function loadIntegrationSettings(env: NodeJS.ProcessEnv): IntegrationSettings {
  const raw = Object.fromEntries(Object.keys(INTEGRATION_ENV).map((key) => [key, env[key] || undefined]));
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `invalid integration settings: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}

export interface Integrations {
  /** Spread into `createNotifier`. */
  notifier: { slack?: NotificationChannel; github?: CommitStatuses; dashboardUrl?: string };
  /** Spread into `createApiApp`. */
  api: { slack?: SlackInteractionSettings; github?: { webhookSecret: string } };
  /** Closes the Redis connection of the replay guard, if one was opened. */
  close(): Promise<void>;
}

export interface IntegrationContext {
  settings: IntegrationSettings;
  kubeConfig: KubeConfig;
  /** AEGIS's namespace: holds the ConfigMap aegis-slack-users. */
  namespace: string;
  /** REDIS_URL: replay protection shared between replicas; unset, per process. */
  redisUrl?: string | undefined;
}

/** A connection for the replay guard that fails fast (and so refuses the decision) while Redis is down. */
function replayRedis(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 });
  redis.on("error", () => undefined); // reported per command (503 to Slack); the client reconnects by itself
  return redis;
}

/** Builds the clients for what is configured; nothing for what is not. */
export function buildIntegrations(context: IntegrationContext): Integrations {
  const { settings } = context;
  const slackChat = settings.SLACK_BOT_TOKEN
    ? new SlackNotificationChannel(
        new WebApiSlackChat({
          token: settings.SLACK_BOT_TOKEN,
          ...(settings.SLACK_API_URL ? { apiUrl: settings.SLACK_API_URL } : {}),
        }),
      )
    : undefined;
  const github = settings.GITHUB_TOKEN
    ? new OctokitCommitStatuses({
        token: settings.GITHUB_TOKEN,
        ...(settings.GITHUB_API_URL ? { baseUrl: settings.GITHUB_API_URL } : {}),
      })
    : undefined;
  const redis = settings.SLACK_SIGNING_SECRET && context.redisUrl ? replayRedis(context.redisUrl) : undefined;
  const slackApi: SlackInteractionSettings | undefined = settings.SLACK_SIGNING_SECRET
    ? {
        signingSecret: settings.SLACK_SIGNING_SECRET,
        identities: new KubeSlackIdentityMap(context.kubeConfig, { namespace: context.namespace }),
        replay: redis ? new RedisReplayGuard(redis) : new MemoryReplayGuard(),
        ...(settings.AEGIS_SLACK_RESPONSE_URL_PREFIX
          ? { responseUrlPrefix: settings.AEGIS_SLACK_RESPONSE_URL_PREFIX }
          : {}),
      }
    : undefined;
  return {
    notifier: {
      ...(slackChat ? { slack: slackChat } : {}),
      ...(github ? { github } : {}),
      ...(settings.AEGIS_DASHBOARD_URL ? { dashboardUrl: settings.AEGIS_DASHBOARD_URL } : {}),
    },
    api: {
      ...(slackApi ? { slack: slackApi } : {}),
      ...(settings.GITHUB_WEBHOOK_SECRET ? { github: { webhookSecret: settings.GITHUB_WEBHOOK_SECRET } } : {}),
    },
    close: async () => {
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
