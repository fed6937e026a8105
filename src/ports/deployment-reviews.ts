/**
 * GitHub's custom deployment protection rules: a workflow job that deploys to an environment
 * waits until the rule's app answers `POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`
 * (the payload's `deployment_callback_url`) with approved or rejected.
 */

/** The workflow run a `deployment_callback_url` names. */
export interface DeploymentCallback {
  owner: string;
  repo: string;
  runId: number;
}

export type DeploymentReviewState = "approved" | "rejected";

export interface DeploymentReview {
  /** The environment as GitHub named it (`environment_name`). */
  environment: string;
  state: DeploymentReviewState;
  comment: string;
}

export type DeploymentReviewOutcome =
  | { ok: true }
  /** `retryable`: a network error, 5xx or 429 (try again later); otherwise GitHub refused for good. */
  | { ok: false; retryable: boolean; message: string };

export interface DeploymentReviews {
  /**
   * The run a callback URL names, or why it is refused: only URLs under the configured GitHub API
   * base, of exactly the review endpoint's shape, are ever called (the token goes nowhere else).
   */
  callbackOf(url: string): { ok: true; callback: DeploymentCallback } | { ok: false; reason: string };
  /** Answers GitHub. Never rejects: a failure is an outcome. */
  review(callback: DeploymentCallback, review: DeploymentReview): Promise<DeploymentReviewOutcome>;
}
