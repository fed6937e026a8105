import type { KubeConfig } from "@kubernetes/client-node";
import { Redis } from "ioredis";
import { OctokitCommitStatuses } from "../adapters/github/commit-status.js";
import { SlackNotificationChannel, WebApiSlackChat } from "../adapters/slack/chat.js";
import type { CommitStatuses, NotificationChannel } from "../ports/notify.js";
import { KubeSlackIdentityMap } from "../adapters/slack/identity-map.js";
import { MemoryReplayGuard, RedisReplayGuard } from "../adapters/slack/replay-guard.js";
import type { SlackInteractionSettings } from "../http/api-server.js";
import type { IntegrationSettings } from "./config.js";

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
