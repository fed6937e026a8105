import type { ApprovalSettings, FreezeWindow } from "../api/v1alpha1/index.js";

export type GateOperation = "CREATE" | "UPDATE";
export type Enforcement = "Enforce" | "Audit";

/** What the webhook (or `aegis policy test`) knows about one admission request. */
export interface GateRequest {
  readonly operation: GateOperation;
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly object: Record<string, unknown>;
  /** The stored object on UPDATE, null on CREATE. */
  readonly oldObject: Record<string, unknown> | null;
  /** From the AdmissionReview's userInfo, never from the object. */
  readonly user: { readonly username: string; readonly groups: readonly string[] };
  /** Labels of the request's Namespace, from the caller's Namespace cache. */
  readonly namespaceLabels: Readonly<Record<string, string>>;
}

/** One failed rule of one check, before it is attributed to a policy. */
export interface CheckFinding {
  /** A stable id within the check: the PSA check id for podSecurity, else the check field. */
  readonly rule: string;
  readonly message: string;
}

export interface Violation {
  readonly policy: string;
  /** The check's `name` in the policy. */
  readonly check: string;
  readonly rule: string;
  readonly message: string;
}

export interface PolicyVerdict {
  readonly policy: string;
  /** specHashOf(policy), so evidence can name the exact policy version that decided. */
  readonly specHash: string;
  readonly enforcement: Enforcement;
  readonly violations: readonly Violation[];
  readonly approval: ApprovalSettings | undefined;
  /** The policy's freeze windows: while one is open, the changes it gates are denied. */
  readonly freezeWindows: readonly FreezeWindow[];
  /** Whether the request's kind is one the policy lists, or a side door to the pods it governs. */
  readonly scope: "listed" | "sideDoor";
  /** The names of the checks that ran (a passed check is one of these without a violation). */
  readonly checked: readonly string[];
}

export interface GateEvaluation {
  /** Every policy that matched the request, in the order given, with its violations. */
  readonly matched: readonly PolicyVerdict[];
  /** Violations of Enforce policies: any one denies. */
  readonly denied: readonly Violation[];
  /** Violations of Audit policies: admitted with warnings. */
  readonly warnings: readonly Violation[];
}
