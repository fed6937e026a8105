import { aegisPolicySchema, type AegisPolicy } from "../../../src/api/v1alpha1/index.js";
import { compilePolicy, type CompiledPolicy, type GateRequest } from "../../../src/policy/index.js";

export const DIGEST = `sha256:${"ab".repeat(32)}`;

/** A container that passes every check of the DESIGN §2 example policy. */
export function compliantContainer(name = "web", image = `ghcr.io/acme/web:1.3@${DIGEST}`): Record<string, unknown> {
  return {
    name,
    image,
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
    securityContext: {
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
      capabilities: { drop: ["ALL"] },
    },
  };
}

export interface DeploymentOptions {
  readonly name?: string;
  readonly labels?: Record<string, string>;
  readonly replicas?: number;
  readonly containers?: Record<string, unknown>[];
  readonly initContainers?: Record<string, unknown>[];
  readonly podSpec?: Record<string, unknown>;
}

export function deployment(options: DeploymentOptions = {}): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: options.name ?? "web",
      namespace: "prod",
      labels: options.labels ?? { "app.kubernetes.io/name": "web", team: "payments" },
    },
    spec: {
      replicas: options.replicas ?? 3,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: options.containers ?? [compliantContainer()],
          ...(options.initContainers === undefined ? {} : { initContainers: options.initContainers }),
          ...options.podSpec,
        },
      },
    },
  };
}

export function gateRequest(object: Record<string, unknown>, overrides: Partial<GateRequest> = {}): GateRequest {
  const metadata = (object["metadata"] ?? {}) as { name?: string; namespace?: string };
  return {
    operation: "CREATE",
    kind: typeof object["kind"] === "string" ? object["kind"] : "Deployment",
    apiVersion: typeof object["apiVersion"] === "string" ? object["apiVersion"] : "apps/v1",
    namespace: metadata.namespace ?? "prod",
    name: metadata.name ?? "web",
    object,
    oldObject: null,
    user: { username: "dev", groups: ["developers", "system:authenticated"] },
    namespaceLabels: { "kubernetes.io/metadata.name": "prod", env: "prod" },
    ...overrides,
  };
}

/** Parses a policy through the zod schema (defaults filled) without compiling it. */
export function parsePolicy(spec: Record<string, unknown>, name = "prod-gate"): AegisPolicy {
  return aegisPolicySchema.parse({
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name },
    spec,
  });
}

export function policy(spec: Record<string, unknown>, name = "prod-gate"): CompiledPolicy {
  return compilePolicy(parsePolicy(spec, name));
}

/** A compiled policy for Deployments with just these checks. */
export function policyWithChecks(
  checks: Record<string, unknown>[],
  enforcement: "Enforce" | "Audit" = "Enforce",
): CompiledPolicy {
  return policy({ enforcement, match: { kinds: ["Deployment", "Pod", "CronJob", "StatefulSet"] }, checks });
}

export { DESIGN_POLICY_SPEC } from "../../fixtures/design-examples.js";
