// A local stand-in for api.github.com, checking requests the way GitHub does:
// - POST /repos/{owner}/{repo}/statuses/{sha}: a token in Authorization, a JSON body with a valid
//   state and context; 201 like GitHub, 401 for a wrong token, 422 for a bad body.
// - POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule (a custom
//   deployment protection rule's answer): a User-Agent (else 403), the token (401), a JSON
//   content type (415) and body (400), environment_name and state approved|rejected (422); only
//   for a run waiting on that environment (`waitForReview`, else 404), once (else 422); 204.
// Every request that reaches the server is in `requests`, whatever its path.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface StatusCall {
  owner: string;
  repo: string;
  sha: string;
  authorization: string;
  body: { state?: string; context?: string; description?: string; target_url?: string };
}

export interface ReviewCall {
  owner: string;
  repo: string;
  runId: number;
  authorization: string;
  contentType: string;
  body: { environment_name?: unknown; state?: unknown; comment?: unknown };
}

export interface SeenRequest {
  method: string;
  url: string;
  authorization: string;
}

export interface FakeGitHub {
  baseUrl: string;
  statuses: StatusCall[];
  /** Accepted deployment protection rule answers. */
  reviews: ReviewCall[];
  /** Every request, accepted or not. */
  requests: SeenRequest[];
  /** A run that waits on this rule for `environment`, as GitHub's own state. */
  waitForReview(owner: string, repo: string, runId: number, environment: string): void;
  /** The next `count` review calls get 502 Bad Gateway. */
  failReviews(count: number): void;
  close(): Promise<void>;
}

const STATUS_PATH = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/;
const REVIEW_PATH = /^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/([0-9]+)\/deployment_protection_rule$/;

type Reply = [number, unknown?];

export async function startFakeGitHub(token = "ghp_testtoken"): Promise<FakeGitHub> {
  const statuses: StatusCall[] = [];
  const reviews: ReviewCall[] = [];
  const requests: SeenRequest[] = [];
  /** `owner/repo#run@environment` (lower-case) → answered yet. */
  const waiting = new Map<string, boolean>();
  let failing = 0;
  const authorized = (authorization: string): boolean =>
    authorization === `token ${token}` || authorization === `Bearer ${token}`;

  const review = (
    match: RegExpExecArray,
    headers: Record<string, string | string[] | undefined>,
    text: string,
  ): Reply => {
    const authorization = String(headers.authorization ?? "");
    const contentType = String(headers["content-type"] ?? "");
    if (!headers["user-agent"])
      return [
        403,
        { message: "Request forbidden by administrative rules. Please make sure your request has a User-Agent header" },
      ];
    if (!authorized(authorization)) return [401, { message: "Bad credentials" }];
    if (failing > 0) {
      failing -= 1;
      return [502, { message: "Server Error" }];
    }
    if (!/^application\/json\b/.test(contentType)) return [415, { message: "Unsupported Media Type" }];
    let body: ReviewCall["body"];
    try {
      body = JSON.parse(text) as ReviewCall["body"];
    } catch {
      return [400, { message: "Problems parsing JSON" }];
    }
    const environment = body.environment_name;
    if (typeof environment !== "string" || environment === "" || !["approved", "rejected"].includes(String(body.state)))
      return [422, { message: "Validation Failed" }];
    if (body.comment !== undefined && typeof body.comment !== "string") return [422, { message: "Validation Failed" }];
    const [, owner = "", repo = "", run = "0"] = match;
    const key = `${owner}/${repo}#${run}@${environment}`.toLowerCase();
    const answered = waiting.get(key);
    if (answered === undefined) return [404, { message: "Not Found" }];
    if (answered) return [422, { message: "No pending custom deployment protection rule for this environment" }];
    waiting.set(key, true);
    reviews.push({ owner, repo, runId: Number(run), authorization, contentType, body });
    return [204];
  };

  const status = (match: RegExpExecArray, authorization: string, text: string): Reply => {
    if (!authorized(authorization)) return [401, { message: "Bad credentials" }];
    const body = JSON.parse(text || "{}") as StatusCall["body"];
    if (!["pending", "success", "failure", "error"].includes(body.state ?? "") || !body.context) {
      return [422, { message: "Validation Failed" }];
    }
    statuses.push({ owner: match[1] ?? "", repo: match[2] ?? "", sha: match[3] ?? "", authorization, body });
    return [201, { id: statuses.length, state: body.state, context: body.context }];
  };

  const server: Server = createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (text += chunk));
    req.on("end", () => {
      const url = req.url ?? "";
      const authorization = req.headers.authorization ?? "";
      requests.push({ method: req.method ?? "", url, authorization });
      const statusMatch = STATUS_PATH.exec(url);
      const reviewMatch = REVIEW_PATH.exec(url);
      const [code, body]: Reply =
        req.method !== "POST"
          ? [404, { message: "Not Found" }]
          : statusMatch
            ? status(statusMatch, authorization, text)
            : reviewMatch
              ? review(reviewMatch, req.headers, text)
              : [404, { message: "Not Found" }];
      if (body === undefined) return void res.writeHead(code).end();
      res.setHeader("content-type", "application/json");
      res.writeHead(code).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    statuses,
    reviews,
    requests,
    waitForReview: (owner, repo, runId, environment) =>
      waiting.set(`${owner}/${repo}#${runId}@${environment}`.toLowerCase(), false),
    failReviews: (count) => {
      failing = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
