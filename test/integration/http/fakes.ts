// In-memory ports for driving `createApiApp` without Kubernetes: an ApprovalRequest store that
// behaves like the informer cache (resourceVersion bumps, optimistic appends), a policy source,
// token authentication and access review from tables, and an evidence reader.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  aegisPolicySchema,
  type AegisPolicy,
  type ApprovalRequest,
  type Decision,
} from "../../../src/api/v1alpha1/index.js";
import type { Identity } from "../../../src/approval/index.js";
import { InProcessBus } from "../../../src/bus/in-process-bus.js";
import { createApiApp, type ApiDependencies } from "../../../src/http/api-server.js";
import type { EvidenceReader, EvidenceRecordView } from "../../../src/http/evidence-reader.js";
import { AegisMetrics } from "../../../src/observability/metrics.js";
import type { AccessReviewer, TokenAuthenticator } from "../../../src/ports/auth.js";
import type { ObjectStore, PolicySource } from "../../../src/ports/kube.js";

export const silentLogger = { info: (): void => undefined, warn: (): void => undefined, error: (): void => undefined };

export class MemoryApprovals implements ObjectStore<ApprovalRequest> {
  private readonly items = new Map<string, ApprovalRequest>();
  private version = 1;

  put(request: ApprovalRequest): ApprovalRequest {
    const stored = { ...request, metadata: { ...request.metadata, resourceVersion: String(++this.version) } };
    this.items.set(`${stored.metadata.namespace ?? ""}/${stored.metadata.name ?? ""}`, stored);
    return stored;
  }

  get(name: string, namespace?: string): ApprovalRequest | undefined {
    return this.items.get(`${namespace ?? ""}/${name}`);
  }

  list(): readonly ApprovalRequest[] {
    return [...this.items.values()];
  }

  hasSynced(): boolean {
    return true;
  }

  /** What the API server does for appendDecision's JSON patch: test resourceVersion, then append. */
  append(request: ApprovalRequest, decision: Decision): Promise<void> {
    const current = this.get(request.metadata.name ?? "", request.metadata.namespace);
    if (!current) return Promise.reject(new Error("recording decision: HTTP 404"));
    if (current.metadata.resourceVersion !== request.metadata.resourceVersion)
      return Promise.reject(new Error("recording decision: HTTP 409: the object has been modified"));
    this.put({ ...current, spec: { ...current.spec, decisions: [...current.spec.decisions, decision] } });
    return Promise.resolve();
  }
}

export class MemoryPolicies implements PolicySource<unknown> {
  private readonly items = new Map<string, AegisPolicy>();

  add(name: string, spec: Record<string, unknown>): AegisPolicy {
    const policy = aegisPolicySchema.parse({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name },
      spec,
    });
    this.items.set(name, policy);
    return policy;
  }

  compiled(): readonly unknown[] {
    return [];
  }

  get(name: string): AegisPolicy | undefined {
    return this.items.get(name);
  }

  list(): readonly { policy: AegisPolicy; compileError: string | undefined }[] {
    return [...this.items.values()].map((policy) => ({ policy, compileError: undefined }));
  }

  hasSynced(): boolean {
    return true;
  }
}

/** TokenReview and SubjectAccessReview from two tables. */
export class TableAuth implements TokenAuthenticator, AccessReviewer {
  constructor(
    readonly tokens: Map<string, Identity> = new Map(),
    readonly approvers: Set<string> = new Set(),
  ) {}

  authenticate(token: string): Promise<Identity | null> {
    return Promise.resolve(this.tokens.get(token) ?? null);
  }

  canApprove(identity: Identity): Promise<boolean> {
    return Promise.resolve(this.approvers.has(identity.username));
  }
}

export class MemoryEvidence implements EvidenceReader {
  readonly records: EvidenceRecordView[] = [];

  add(type: string, subject: string, actor: string, data: Record<string, unknown> = {}): void {
    const seq = this.records.length;
    this.records.push({
      seq,
      id: `id-${seq}`,
      time: new Date().toISOString(),
      type,
      subject,
      actor,
      data,
      prevHash: `sha256:${"0".repeat(64)}`,
      hash: `sha256:${String(seq).padStart(64, "0")}`,
    });
  }

  latest(limit: number): Promise<EvidenceRecordView[]> {
    return Promise.resolve(this.records.slice(-limit).reverse());
  }
}

export const DEFAULT_POLICY_SPEC = {
  enforcement: "Enforce",
  match: { kinds: ["Deployment"] },
  approval: { mode: "Always", minApprovals: 1, approvers: { users: [], groups: ["sre-leads"] } },
  notifications: { slack: { channel: "#deploys" }, github: { repository: "acme/web" } },
};

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
  approvals: MemoryApprovals;
  policies: MemoryPolicies;
  auth: TableAuth;
  evidence: MemoryEvidence;
  bus: InProcessBus;
  deps: ApiDependencies;
}

/** Ports wired the way main.ts wires the real ones; a decision publishes an approval hint, as the reconciler would. */
export function harness(overrides: Partial<ApiDependencies> = {}): Harness {
  const approvals = new MemoryApprovals();
  const policies = new MemoryPolicies();
  policies.add("prod-gate", DEFAULT_POLICY_SPEC);
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
      await approvals.append(request, decision);
      evidence.add(
        "approval.decision",
        `ApprovalRequest/${request.metadata.namespace ?? ""}/${request.metadata.name ?? ""}`,
        decision.user,
        { decision: decision.decision, via: decision.via },
      );
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
