// The REST API with every optional endpoint mounted, on in-memory ports, for schemathesis to fuzz
// from its own OpenAPI document. Usage: node --import tsx test/integration/http/fuzz-server.ts PORT
import { MemoryReplayGuard } from "../../../src/adapters/slack/replay-guard.js";
import { StaticSlackIdentityMap } from "../../../src/adapters/slack/identity-map.js";
import { approvalRequest, harness } from "./harness.js";

const port = Number(process.argv[2] ?? 0);
const { approvals, auth, deps } = harness({
  securityStatus: () => ({ mode: "normal", counts: { low: 0, medium: 0, high: 0, critical: 0 } }),
  slack: {
    signingSecret: "fuzz-signing-secret",
    identities: new StaticSlackIdentityMap({ U1: "alice" }),
    replay: new MemoryReplayGuard(),
  },
  github: { webhookSecret: "fuzz-webhook-secret" },
  reports: {
    listAll: () =>
      Promise.resolve([
        {
          apiVersion: "wgpolicyk8s.io/v1alpha2" as const,
          kind: "PolicyReport" as const,
          metadata: { name: "aegis-audit", namespace: "prod", labels: { "app.kubernetes.io/managed-by": "aegis" } },
          results: [
            {
              source: "aegis",
              policy: "prod-gate",
              rule: "no-latest",
              result: "fail" as const,
              severity: "high" as const,
              message: "latest tag",
              timestamp: { seconds: 1_796_000_000, nanos: 0 },
              resources: [{ kind: "Deployment", name: "web", namespace: "prod", uid: "u1" }],
            },
          ],
        },
      ]),
  },
});
approvals.put(approvalRequest("deployment-web-3f2a9c1b0d", { namespace: "prod" }));
auth.tokens.set("alice-token", { username: "alice", groups: ["sre-leads"] });
auth.approvers.add("alice");
auth.readers.set("alice", "all");

const { createApiApp } = await import("../../../src/http/api-server.js");
const server = createApiApp(deps).listen(port, "127.0.0.1", () => {
  const address = server.address();
  console.log(`listening ${typeof address === "object" && address ? address.port : port}`);
});
