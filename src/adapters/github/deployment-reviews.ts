import { Octokit } from "@octokit/rest";
import type {
  DeploymentCallback,
  DeploymentReview,
  DeploymentReviewOutcome,
  DeploymentReviews,
} from "../../ports/deployment-reviews.js";

export const DEFAULT_GITHUB_API_URL = "https://api.github.com";

export interface OctokitDeploymentReviewOptions {
  token: string;
  /** Default https://api.github.com; GitHub Enterprise (`https://HOST/api/v3`) or a test server otherwise. */
  baseUrl?: string;
  /** Per call. Default 10 s. */
  timeoutMs?: number;
}

const silentLog = {
  debug: (): void => undefined,
  info: (): void => undefined,
  warn: (): void => undefined,
  error: (): void => undefined,
};

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * The run a `deployment_callback_url` names, when the URL is exactly
 * `{base}/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule` on the base's
 * scheme, host and port, without credentials, query or fragment; otherwise why not.
 */
export function callbackOfUrl(
  baseUrl: string,
  url: string,
): { ok: true; callback: DeploymentCallback } | { ok: false; reason: string } {
  const base = new URL(baseUrl);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: "deployment_callback_url is not an absolute URL" };
  }
  const origin = `${base.protocol}//${base.host}`;
  if (parsed.protocol !== base.protocol || parsed.host !== base.host) {
    return { ok: false, reason: `deployment_callback_url is not on the configured GitHub API (${origin})` };
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash) {
    return { ok: false, reason: "deployment_callback_url carries credentials, a query or a fragment" };
  }
  const basePath = base.pathname.replace(/\/+$/, "");
  if (!parsed.pathname.startsWith(`${basePath}/`)) {
    return {
      ok: false,
      reason: `deployment_callback_url is not under the configured GitHub API (${origin}${basePath})`,
    };
  }
  const match = /^repos\/([^/]+)\/([^/]+)\/actions\/runs\/([1-9][0-9]{0,15})\/deployment_protection_rule$/.exec(
    parsed.pathname.slice(basePath.length + 1),
  );
  const owner = decode(match?.[1]);
  const repo = decode(match?.[2]);
  const runId = Number(match?.[3]);
  if (!owner || !repo || !NAME.test(owner) || !NAME.test(repo) || !Number.isSafeInteger(runId)) {
    return {
      ok: false,
      reason: "deployment_callback_url is not /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule",
    };
  }
  return { ok: true, callback: { owner, repo, runId } };
}

function decode(part: string | undefined): string | undefined {
  if (part === undefined) return undefined;
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/**
 * `DeploymentReviews` through Octokit's `actions.reviewCustomGatesForRun`: the request goes to
 * Octokit's own base URL, built from the owner, repo and run id that `callbackOf` accepted, so the
 * token is never sent to a host taken from a webhook payload.
 */
export class OctokitDeploymentReviews implements DeploymentReviews {
  private readonly octokit: Octokit;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(options: OctokitDeploymentReviewOptions) {
    this.baseUrl = options.baseUrl ?? DEFAULT_GITHUB_API_URL;
    this.octokit = new Octokit({
      auth: options.token,
      baseUrl: this.baseUrl,
      log: silentLog,
      userAgent: "aegis-approval",
    });
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  callbackOf(url: string): ReturnType<DeploymentReviews["callbackOf"]> {
    return callbackOfUrl(this.baseUrl, url);
  }

  async review(callback: DeploymentCallback, review: DeploymentReview): Promise<DeploymentReviewOutcome> {
    try {
      await this.octokit.rest.actions.reviewCustomGatesForRun({
        owner: callback.owner,
        repo: callback.repo,
        run_id: callback.runId,
        environment_name: review.environment,
        state: review.state,
        comment: review.comment.slice(0, 1000),
        request: { signal: AbortSignal.timeout(this.timeoutMs) },
      });
      return { ok: true };
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      const retryable = typeof status !== "number" || status >= 500 || status === 429 || status === 408;
      return {
        ok: false,
        retryable,
        message: `GitHub deployment review ${review.state} of ${callback.owner}/${callback.repo} run ${callback.runId} (${review.environment}): ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }
}
