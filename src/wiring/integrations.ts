import type { KubeConfig } from "@kubernetes/client-node";
import { Redis } from "ioredis";
import { redisTlsOptions } from "../adapters/bus/redis-bus.js";
import { OctokitCommitStatuses } from "../adapters/github/commit-status.js";
import { OctokitDeploymentReviews } from "../adapters/github/deployment-reviews.js";
import { DeploymentGate, type DeploymentGateSources, type GitHubWebhookSettings } from "../http/github-webhook.js";
import { SlackNotificationChannel, WebApiSlackChat } from "../adapters/slack/chat.js";
import type { CommitStatuses, NotificationChannel } from "../ports/notify.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import type { Logger } from "../ports/logger.js";
import { KubeSlackIdentityMap } from "../adapters/slack/identity-map.js";
import { MemoryReplayGuard, RedisReplayGuard } from "../adapters/slack/replay-guard.js";
import type { SlackInteractionSettings } from "../http/api-server.js";
import type { IntegrationSettings } from "./config.js";

export interface Integrations {
  /** Spread into `createNotifier`. */
  notifier: { slack?: NotificationChannel; github?: CommitStatuses; dashboardUrl?: string };
  /** Spread into `createApiApp`. */
  api: { slack?: SlackInteractionSettings; github?: GitHubWebhookSettings };
  /** GitHub deployment protection rules (GITHUB_TOKEN and GITHUB_WEBHOOK_SECRET): poke it when an ApprovalRequest changes. */
  deployments?: DeploymentGate;
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
  /** --redis-ca-file: the CA a rediss:// server's certificate must chain to. */
  redisCaFile?: string | undefined;
  /** The caches GitHub deployment protection rules are answered from. */
  deploymentSources?: DeploymentGateSources;
  /**
   * Every version of aegis-slack-users AEGIS reads is recorded here (actor: AEGIS's username)
   * before a Slack decision uses it. Required with SLACK_SIGNING_SECRET.
   */
  slackMapping?: { evidence: EvidenceRecorder; actor: string; logger: Logger };
}

/** How often each replica re-reads aegis-slack-users to record a change no Slack decision follows. */
const SLACK_MAPPING_POLL_MS = 30_000;

/** A connection for the replay guard that fails fast (and so refuses the decision) while Redis is down. */
function replayRedis(url: string, caFile: string | undefined): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    ...redisTlsOptions(url, caFile),
  });
  redis.on("error", () => undefined); // reported per command (503 to Slack); the client reconnects by itself
  return redis;
}

/** The Slack identity map, which takes no decision with a version of the map it has not recorded. */
function slackIdentityMap(context: IntegrationContext): KubeSlackIdentityMap {
  if (!context.slackMapping) throw new Error("Slack interactions need the evidence ledger for the identity map");
  return new KubeSlackIdentityMap(context.kubeConfig, {
    namespace: context.namespace,
    ...context.slackMapping,
  });
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
  const redis =
    (settings.SLACK_SIGNING_SECRET || settings.GITHUB_WEBHOOK_SECRET) && context.redisUrl
      ? replayRedis(context.redisUrl, context.redisCaFile)
      : undefined;
  const deployments =
    settings.GITHUB_TOKEN && settings.GITHUB_WEBHOOK_SECRET && context.deploymentSources
      ? new DeploymentGate({
          ...context.deploymentSources,
          reviews: new OctokitDeploymentReviews({
            token: settings.GITHUB_TOKEN,
            ...(settings.GITHUB_API_URL ? { baseUrl: settings.GITHUB_API_URL } : {}),
          }),
          replay: redis ? new RedisReplayGuard(redis) : new MemoryReplayGuard(),
        })
      : undefined;
  const slackIdentities = settings.SLACK_SIGNING_SECRET ? slackIdentityMap(context) : undefined;
  slackIdentities?.start(SLACK_MAPPING_POLL_MS);
  const slackApi: SlackInteractionSettings | undefined =
    settings.SLACK_SIGNING_SECRET && slackIdentities
      ? {
          signingSecret: settings.SLACK_SIGNING_SECRET,
          identities: slackIdentities,
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
      ...(settings.GITHUB_WEBHOOK_SECRET
        ? { github: { webhookSecret: settings.GITHUB_WEBHOOK_SECRET, ...(deployments ? { deployments } : {}) } }
        : {}),
    },
    ...(deployments ? { deployments } : {}),
    close: async () => {
      deployments?.stop();
      slackIdentities?.stop();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
