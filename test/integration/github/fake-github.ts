// A local stand-in for api.github.com's commit status endpoint: POST
// /repos/{owner}/{repo}/statuses/{sha}, a token in Authorization, a JSON body with a valid
// state and context; answers 201 like GitHub, 401 for a wrong token, 422 for a bad body.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface StatusCall {
  owner: string;
  repo: string;
  sha: string;
  authorization: string;
  body: { state?: string; context?: string; description?: string; target_url?: string };
}

export interface FakeGitHub {
  baseUrl: string;
  statuses: StatusCall[];
  close(): Promise<void>;
}

const STATUS_PATH = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/;

export async function startFakeGitHub(token = "ghp_testtoken"): Promise<FakeGitHub> {
  const statuses: StatusCall[] = [];
  const server: Server = createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (text += chunk));
    req.on("end", () => {
      const match = STATUS_PATH.exec(req.url ?? "");
      const authorization = req.headers.authorization ?? "";
      res.setHeader("content-type", "application/json");
      if (req.method !== "POST" || !match) return void res.writeHead(404).end('{"message":"Not Found"}');
      if (authorization !== `token ${token}` && authorization !== `Bearer ${token}`)
        return void res.writeHead(401).end('{"message":"Bad credentials"}');
      const body = JSON.parse(text || "{}") as StatusCall["body"];
      if (!["pending", "success", "failure", "error"].includes(body.state ?? "") || !body.context) {
        return void res.writeHead(422).end('{"message":"Validation Failed"}');
      }
      statuses.push({ owner: match[1] ?? "", repo: match[2] ?? "", sha: match[3] ?? "", authorization, body });
      res.writeHead(201).end(JSON.stringify({ id: statuses.length, state: body.state, context: body.context }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    statuses,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
