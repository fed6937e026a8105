import { z } from "zod";
import { GROUP, VERSION } from "./v1alpha1/common.js";
import { aegisPolicySpecSchema, aegisPolicyStatusSchema } from "./v1alpha1/aegis-policy.js";
import { approvalRequestSpecSchema, approvalRequestStatusSchema } from "./v1alpha1/approval-request.js";
import { aegisExceptionSpecSchema, aegisExceptionStatusSchema } from "./v1alpha1/aegis-exception.js";
import { policyReportBodySchema, REPORT_GROUP, REPORT_VERSION } from "./wgpolicyk8s/policy-report.js";

/** A JSON Schema node as the CRD's openAPIV3Schema holds it. */
type SchemaNode = { [key: string]: unknown };

interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date" | "number" | "boolean";
  jsonPath: string;
  priority?: number;
  description?: string;
}

interface CrdDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: "Cluster" | "Namespaced";
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

export const CRD_DEFINITIONS: readonly CrdDefinition[] = [
  {
    kind: "AegisPolicy",
    plural: "aegispolicies",
    singular: "aegispolicy",
    shortNames: ["apol"],
    scope: "Cluster",
    spec: aegisPolicySpecSchema,
    status: aegisPolicyStatusSchema,
    printerColumns: [
      { name: "Enforcement", type: "string", jsonPath: ".spec.enforcement" },
      { name: "Approval", type: "string", jsonPath: ".spec.approval.mode" },
      { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
  },
  {
    kind: "ApprovalRequest",
    plural: "approvalrequests",
    singular: "approvalrequest",
    shortNames: ["areq"],
    scope: "Namespaced",
    spec: approvalRequestSpecSchema,
    status: approvalRequestStatusSchema,
    printerColumns: [
      { name: "Phase", type: "string", jsonPath: ".status.phase" },
      { name: "Kind", type: "string", jsonPath: ".spec.target.kind" },
      { name: "Target", type: "string", jsonPath: ".spec.target.name" },
      { name: "Approvals", type: "integer", jsonPath: ".status.approvals" },
      { name: "Required", type: "integer", jsonPath: ".status.requiredApprovals" },
      { name: "Risk", type: "integer", jsonPath: ".spec.risk.score" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
  },
  {
    kind: "AegisException",
    plural: "aegisexceptions",
    singular: "aegisexception",
    shortNames: ["aex"],
    scope: "Namespaced",
    spec: aegisExceptionSpecSchema,
    status: aegisExceptionStatusSchema,
    printerColumns: [
      { name: "Phase", type: "string", jsonPath: ".status.phase" },
      { name: "Kind", type: "string", jsonPath: ".spec.target.kind" },
      { name: "Target", type: "string", jsonPath: ".spec.target.name" },
      { name: "Policies", type: "string", jsonPath: ".spec.policies" },
      { name: "Owner", type: "string", jsonPath: ".spec.owner" },
      { name: "Expires", type: "string", jsonPath: ".spec.expiresAt" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
  },
];

// zod marks integers with JavaScript's safe-integer bounds; they say nothing to a CRD reader.
const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/**
 * Turns zod's OpenAPI 3.0 output into a structural schema the API server accepts: no `$schema`,
 * no `additionalProperties` beside `properties`, no safe-integer noise, a `type` on every node.
 */
export function toStructuralSchema(node: SchemaNode): SchemaNode {
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$schema") continue;
    if ((key === "minimum" || key === "maximum") && SAFE_INTEGER_BOUNDS.has(value as number)) continue;
    if (key === "properties" && isRecord(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, toStructuralSchema(child as SchemaNode)]),
      );
    } else if ((key === "items" || key === "additionalProperties") && isRecord(value)) {
      out[key] = toStructuralSchema(value);
    } else {
      out[key] = value;
    }
  }
  if (out.properties !== undefined) delete out.additionalProperties;
  if (out.type === undefined) {
    throw new Error(`schema node without a type cannot be structural: ${JSON.stringify(node).slice(0, 200)}`);
  }
  return out;
}

function isRecord(value: unknown): value is SchemaNode {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function openApiOf(schema: z.ZodType): SchemaNode {
  return toStructuralSchema(z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", unrepresentable: "throw" }));
}

/** The CustomResourceDefinition object for one kind, derived from its zod schemas. */
export function buildCrd(definition: CrdDefinition): SchemaNode {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${definition.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: definition.scope,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.singular,
        shortNames: definition.shortNames,
        categories: ["aegis"],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: openApiOf(definition.spec),
                status: openApiOf(definition.status),
              },
            },
          },
        },
      ],
    },
  };
}

/**
 * The wgpolicyk8s.io report CRDs, for clusters where no other tool (Kyverno, Trivy Operator)
 * installed them. Helm installs crds/ only when absent, so another tool's copy is never replaced.
 */
export function buildReportCrd(kind: "PolicyReport" | "ClusterPolicyReport"): SchemaNode {
  const plural = `${kind.toLowerCase()}s`;
  const body = openApiOf(policyReportBodySchema) as { properties: SchemaNode };
  const summary = (field: string): PrinterColumn => ({
    name: field[0]!.toUpperCase() + field.slice(1),
    type: "integer",
    jsonPath: `.summary.${field}`,
  });
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${REPORT_GROUP}` },
    spec: {
      group: REPORT_GROUP,
      scope: kind === "PolicyReport" ? "Namespaced" : "Cluster",
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        shortNames: [kind === "PolicyReport" ? "polr" : "cpolr"],
      },
      versions: [
        {
          name: REPORT_VERSION,
          served: true,
          storage: true,
          additionalPrinterColumns: [
            ...["pass", "fail", "warn", "error", "skip"].map(summary),
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                ...body.properties,
              },
            },
          },
        },
      ],
    },
  };
}

/** File name → YAML text for every CRD, as `npm run crds` writes them under `crds/`. */
export function renderCrdFiles(stringify: (value: unknown) => string): Map<string, string> {
  const files = new Map<string, string>();
  for (const definition of CRD_DEFINITIONS) {
    const header = "# Generated by `npm run crds` from src/api/v1alpha1. Do not edit.\n";
    files.set(`${GROUP}_${definition.plural}.yaml`, header + stringify(buildCrd(definition)));
  }
  for (const kind of ["PolicyReport", "ClusterPolicyReport"] as const) {
    const header = "# Generated by `npm run crds` from src/api/wgpolicyk8s. Do not edit.\n";
    files.set(`${REPORT_GROUP}_${kind.toLowerCase()}s.yaml`, header + stringify(buildReportCrd(kind)));
  }
  return files;
}
