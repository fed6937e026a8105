import { Octokit } from "@octokit/rest";
import type { CommitStatus, CommitStatuses } from "../../ports/notify.js";

/** The status context AEGIS owns on a commit. */
export const GITHUB_STATUS_CONTEXT = "aegis/approval";

export interface OctokitStatusOptions {
  token: string;
  /** Default https://api.github.com; GitHub Enterprise or a test server otherwise. */
  baseUrl?: string;
  context?: string;
}

const silentLog = {
  debug: (): void => undefined,
  info: (): void => undefined,
  warn: (): void => undefined,
  error: (): void => undefined,
};

/** `CommitStatuses` through Octokit. */
export class OctokitCommitStatuses implements CommitStatuses {
  private readonly octokit: Octokit;
  private readonly context: string;

  constructor(options: OctokitStatusOptions) {
    this.octokit = new Octokit({
      auth: options.token,
      ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
      log: silentLog,
      userAgent: "aegis-approval",
    });
    this.context = options.context ?? GITHUB_STATUS_CONTEXT;
  }

  async set(repository: string, sha: string, status: CommitStatus): Promise<void> {
    const [owner = "", repo = ""] = repository.split("/");
    try {
      await this.octokit.rest.repos.createCommitStatus({
        owner,
        repo,
        sha,
        state: status.state,
        context: this.context,
        description: status.description.slice(0, 140),
        ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
      });
    } catch (error) {
      throw new Error(
        `GitHub commit status ${status.state} on ${repository}@${sha.slice(0, 12)}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
}
