// The REST API's dependencies on in-memory ports (test/fakes/memory-ports.ts), wired the way
// main.ts wires the real ones, plus fixtures: a policy, an ApprovalRequest, and a listener.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApprovalRequest } from "../../../src/api/v1alpha1/index.js";
import { InProcessBus } from "../../../src/adapters/bus/in-process-bus.js";
import { createApiApp, type ApiDependencies } from "../../../src/http/api-server.js";
import { AegisMetrics } from "../../../src/observability/metrics.js";
import { MemoryApprovalRequests, MemoryEvidence, MemoryPolicySource, TableAuth } from "../../fakes/memory-ports.js";

export const silentLogger = { info: (): void => undefined, warn: (): void => undefined, error: (): void => undefined };

export const DEFAULT_POLICY_SPEC = {
  enforcement: "Enforce",
  match: { kinds: ["Deployment"] },
  approval: { mode: "Always", minApprovals: 1, approvers: { users: [], groups: ["sre-leads"] } },
  notifications: { slack: { channel: "#deploys" }, github: { repository: "acme/web" } },
};

/** An AegisPolicy object named `name` with `spec`, for MemoryPolicySource.add. */
export function aegisPolicy(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: "aegis.valina.ai/v1alpha1", kind: "AegisPolicy", metadata: { name }, spec };
}

export function approvalRequest(
  name: string,
  overrides: { namespace?: string; requester?: string; annotations?: Record<string, string>; createdAt?: Date } = {},
): ApprovalRequest {
  const namespace = overrides.namespace ?? "prod";
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "ApprovalRequest",
    metadata: {
      name,
      namespace,
      uid: `uid-${namespace}-${name}`,
      creationTimestamp: (overrides.createdAt ?? new Date()).toISOString(),
      ...(overrides.annotations ? { annotations: overrides.annotations } : {}),
    },
    spec: {
      target: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        namespace,
        name: name.replace(/^deployment-/, "").replace(/-[0-9a-f]{10}$/, ""),
      },
      changeHash: `sha256:${"ab".repeat(32)}`,
      policies: ["prod-gate"],
      requester: { username: overrides.requester ?? "dev", groups: ["developers"] },
      risk: { score: 42, factors: [{ name: "new-registry", points: 20, detail: "quay.io is new to this namespace" }] },
      summary: "image ghcr.io/acme/web:1.2 -> ghcr.io/acme/web:1.3",
      reason: "release 1.3",
      decisions: [],
    },
  };
}

export interface Harness {
  approvals: MemoryApprovalRequests;
  policies: MemoryPolicySource;
  auth: TableAuth;
  evidence: MemoryEvidence;
  bus: InProcessBus;
  deps: ApiDependencies;
}

/** Ports wired the way main.ts wires the real ones; a decision publishes an approval hint, as the reconciler would. */
export function harness(overrides: Partial<ApiDependencies> = {}): Harness {
  const approvals = new MemoryApprovalRequests();
  const policies = new MemoryPolicySource([aegisPolicy("prod-gate", DEFAULT_POLICY_SPEC)]);
  const auth = new TableAuth();
  const evidence = new MemoryEvidence();
  const bus = new InProcessBus("test");
  const deps: ApiDependencies = {
    readiness: () => ({ ready: true, checks: {} }),
    metrics: new AegisMetrics(),
    policies,
    approvals,
    auth,
    appendDecision: async (request, decision) => {
      await approvals.appendDecision(request, decision);
      await evidence.record({
        type: "approval.decision",
        subject: `ApprovalRequest/${request.metadata.namespace ?? ""}/${request.metadata.name ?? ""}`,
        actor: decision.user,
        data: { decision: decision.decision, via: decision.via },
      });
      await bus.publish({
        topic: "approval",
        key: `${request.metadata.namespace ?? ""}/${request.metadata.name ?? ""}`,
        data: { decision: decision.decision, user: decision.user },
      });
    },
    extraApprovals: () => 0,
    now: () => new Date(),
    logger: silentLogger,
    bus,
    evidence,
    // As aegis serve always has: AEGIS's PolicyReports (none yet).
    reports: { listAll: () => Promise.resolve([]) },
    ...overrides,
  };
  return { approvals, policies, auth, evidence, bus, deps };
}

export async function listen(
  deps: ApiDependencies,
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const app = createApiApp(deps);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
