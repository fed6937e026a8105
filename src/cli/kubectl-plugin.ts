import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { z } from "zod";
import { approvalRequestSchema, type ApprovalRequest, type DecisionKind } from "../api/v1alpha1/index.js";
import { policyReportSchema, REPORT_MANAGED_BY, REPORT_MANAGED_BY_LABEL } from "../api/wgpolicyk8s/policy-report.js";
// The view alone: kubectl aegis must not load the policy engine to print reports.
import { auditViews } from "../audit/view.js";

const run = promisify(execFile);

/** Global kubectl flags the plugin honours and passes on, so RBAC and impersonation apply as usual. */
export interface KubectlGlobals {
  namespace?: string;
  allNamespaces?: boolean;
  context?: string;
  kubeconfig?: string;
  as?: string;
  asGroup?: string[];
}

const RESOURCE = "approvalrequests.aegis.valina.ai";

function kubectlArgs(globals: KubectlGlobals, args: string[]): string[] {
  const flags: string[] = [];
  if (globals.context) flags.push(`--context=${globals.context}`);
  if (globals.kubeconfig) flags.push(`--kubeconfig=${globals.kubeconfig}`);
  if (globals.as) flags.push(`--as=${globals.as}`);
  for (const group of globals.asGroup ?? []) flags.push(`--as-group=${group}`);
  if (globals.allNamespaces) flags.push("--all-namespaces");
  else if (globals.namespace) flags.push(`--namespace=${globals.namespace}`);
  return [...flags, ...args];
}

async function kubectl(globals: KubectlGlobals, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(process.env.KUBECTL ?? "kubectl", kubectlArgs(globals, args), {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(stderr || (error instanceof Error ? error.message : String(error)), { cause: error });
  }
}

const listSchema = z.object({ items: z.array(z.unknown()) });

export async function listCommand(globals: KubectlGlobals): Promise<void> {
  const list = listSchema.parse(JSON.parse(await kubectl(globals, ["get", RESOURCE, "-o", "json"])));
  const requests = list.items.flatMap((item) => {
    const parsed = approvalRequestSchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
  const rows = requests.map((request) => [
    request.metadata.namespace ?? "",
    request.metadata.name ?? "",
    request.status?.phase ?? "Pending",
    `${request.spec.target.kind}/${request.spec.target.name}`,
    `${request.status?.approvals ?? 0}/${request.status?.requiredApprovals ?? "?"}`,
    String(request.spec.risk.score),
    request.spec.requester.username,
    request.spec.summary,
  ]);
  process.stdout.write(
    formatTable(["NAMESPACE", "NAME", "PHASE", "TARGET", "APPROVALS", "RISK", "REQUESTER", "CHANGE"], rows),
  );
}

/**
 * The failures (and warnings) in AEGIS's PolicyReports, one line per object and rule; reports of
 * other tools are left out. Exits non-zero only when kubectl fails.
 */
export async function reportCommand(globals: KubectlGlobals): Promise<void> {
  const list = listSchema.parse(
    JSON.parse(
      await kubectl(globals, [
        "get",
        "policyreports.wgpolicyk8s.io",
        "-l",
        `${REPORT_MANAGED_BY_LABEL}=${REPORT_MANAGED_BY}`,
        "-o",
        "json",
      ]),
    ),
  );
  const reports = list.items.flatMap((item) => {
    const parsed = policyReportSchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
  const rows = auditViews(reports, Number.POSITIVE_INFINITY).flatMap((view) =>
    view.findings.map((finding) => [
      view.namespace,
      `${finding.kind || "?"}/${finding.name || "?"}`,
      finding.policy,
      finding.rule,
      finding.result.toUpperCase(),
      finding.message,
    ]),
  );
  if (rows.length === 0) {
    process.stdout.write("No failing or warning audit results.\n");
    return;
  }
  process.stdout.write(formatTable(["NAMESPACE", "OBJECT", "POLICY", "RULE", "RESULT", "MESSAGE"], rows));
}

export async function describeCommand(globals: KubectlGlobals, name: string): Promise<void> {
  const request = await getRequest(globals, name);
  process.stdout.write(describeRequest(request));
}

type PersonalDecision = Exclude<DecisionKind, "Consume">;
const DECISION_VERB: Record<PersonalDecision, string> = { Approve: "approved", Reject: "rejected", Revoke: "revoked" };

/**
 * Appends one decision with a JSON patch guarded by resourceVersion; the webhook checks the rules.
 * The decision carries the groups the API server authenticates this caller in (they fill quorum
 * slots; the webhook refuses any group the caller is not in).
 */
export async function decideCommand(
  globals: KubectlGlobals,
  name: string,
  decision: PersonalDecision,
  comment: string,
): Promise<void> {
  const request = await getRequest(globals, name);
  const { username: user, groups } = await whoAmI(globals);
  const entry = { user, decision, groups, comment, at: new Date().toISOString(), via: "kubectl" };
  const patch = [
    { op: "test", path: "/metadata/resourceVersion", value: request.metadata.resourceVersion },
    ...(request.spec.decisions.length === 0 ? [{ op: "add", path: "/spec/decisions", value: [] }] : []),
    { op: "add", path: "/spec/decisions/-", value: entry },
  ];
  await kubectl(globals, ["patch", RESOURCE, name, "--type=json", "-p", JSON.stringify(patch)]);
  process.stdout.write(
    `approvalrequest ${request.metadata.namespace ?? ""}/${name} ${DECISION_VERB[decision]} by ${user}\n`,
  );
}

async function getRequest(globals: KubectlGlobals, name: string): Promise<ApprovalRequest> {
  const parsed = approvalRequestSchema.safeParse(
    JSON.parse(await kubectl(globals, ["get", RESOURCE, name, "-o", "json"])),
  );
  if (!parsed.success)
    throw new Error(`ApprovalRequest ${name} is malformed: ${parsed.error.issues[0]?.message ?? "unknown"}`);
  return parsed.data;
}

/** The identity the API server sees for these flags (SelfSubjectReview), never a local guess. */
async function whoAmI(globals: KubectlGlobals): Promise<{ username: string; groups: string[] }> {
  const { namespace: _namespace, allNamespaces: _all, ...clusterWide } = globals;
  const review = z
    .object({
      status: z.object({ userInfo: z.object({ username: z.string(), groups: z.array(z.string()).default([]) }) }),
    })
    .parse(JSON.parse(await kubectl(clusterWide, ["auth", "whoami", "-o", "json"])));
  return review.status.userInfo;
}

export function describeRequest(request: ApprovalRequest): string {
  const { spec, status } = request;
  const approvals = status?.approvals ?? 0;
  const required = status?.requiredApprovals;
  const lines = [
    `Name:        ${request.metadata.namespace ?? ""}/${request.metadata.name ?? ""}`,
    `Phase:       ${status?.phase ?? "Pending"}`,
    `Target:      ${spec.target.kind} ${spec.target.namespace}/${spec.target.name} (${spec.target.apiVersion})`,
    `Change:      ${spec.summary || "(no summary)"}`,
    `Change hash: ${spec.changeHash}`,
    `Policies:    ${spec.policies.join(", ")}`,
    `Requester:   ${spec.requester.username}${spec.requester.groups.length ? ` (groups: ${spec.requester.groups.join(", ")})` : ""}`,
    `Reason:      ${spec.reason || "-"}`,
    ...(spec.access
      ? [`Access:      ${spec.access.action} for ${spec.access.user}, ${spec.access.ttl} from approval`]
      : []),
    ...(spec.breakGlass
      ? [
          `Break-glass: admitted for ${spec.breakGlass.user} at ${spec.breakGlass.at}: ${spec.breakGlass.reason}; review due ${status?.reviewDueAt ?? "?"}${status?.reviewOverdue ? " (OVERDUE)" : ""}`,
        ]
      : []),
    `Risk:        ${spec.risk.score}/100`,
    ...spec.risk.factors.map((factor) => `  +${factor.points} ${factor.name}: ${factor.detail}`),
    `Approvals:   ${approvals}/${required ?? "?"}`,
    `Expires at:  ${status?.expiresAt ?? "-"}`,
    "Decisions:",
    ...(spec.decisions.length === 0
      ? ["  (none)"]
      : spec.decisions.map(
          (d) => `  ${d.at} ${d.decision} by ${d.user} via ${d.via}${d.comment ? `: ${d.comment}` : ""}`,
        )),
  ];
  const missing = status?.missing ?? [];
  if ((status?.phase ?? "Pending") === "Pending" && missing.length > 0) {
    lines.push(`Missing:     ${missing.join(", ")} (approvers of ${spec.policies.join(", ")})`);
  } else if ((status?.phase ?? "Pending") === "Pending" && required !== undefined && approvals < required) {
    lines.push(
      `Missing:     ${required - approvals} more approval${required - approvals === 1 ? "" : "s"} from an approver of ${spec.policies.join(", ")}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}
