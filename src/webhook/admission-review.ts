import { z } from "zod";

/** The slice of admission.k8s.io/v1 AdmissionReview that AEGIS reads. Unknown keys are ignored. */
const kubeObjectSchema = z.record(z.string(), z.unknown());

export const admissionRequestSchema = z.object({
  uid: z.string().min(1),
  kind: z.object({ group: z.string(), version: z.string(), kind: z.string().min(1) }),
  resource: z.object({ group: z.string(), version: z.string(), resource: z.string().min(1) }),
  subResource: z.string().optional(),
  name: z.string().default(""),
  namespace: z.string().default(""),
  operation: z.enum(["CREATE", "UPDATE", "DELETE", "CONNECT"]),
  userInfo: z.object({
    username: z.string().default(""),
    uid: z.string().optional(),
    groups: z.array(z.string()).default([]),
  }),
  object: kubeObjectSchema.nullable().optional(),
  oldObject: kubeObjectSchema.nullable().optional(),
  dryRun: z.boolean().default(false),
});
export type AdmissionRequest = z.infer<typeof admissionRequestSchema>;

export const admissionReviewSchema = z.object({
  apiVersion: z.literal("admission.k8s.io/v1", { error: 'apiVersion must be "admission.k8s.io/v1"' }),
  kind: z.literal("AdmissionReview", { error: 'kind must be "AdmissionReview"' }),
  request: admissionRequestSchema,
});

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export function allow(uid: string, extra: Omit<AdmissionResponse, "uid" | "allowed"> = {}): AdmissionResponse {
  return { uid, allowed: true, ...extra };
}

export function deny(
  uid: string,
  message: string,
  extra: Omit<AdmissionResponse, "uid" | "allowed" | "status"> = {},
): AdmissionResponse {
  return { uid, allowed: false, status: { code: 403, reason: "Forbidden", message }, ...extra };
}

export function reviewOf(response: AdmissionResponse): {
  apiVersion: string;
  kind: string;
  response: AdmissionResponse;
} {
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}

/** "aegis.valina.ai/decision" style audit annotations must be short key=value strings. */
export function formatZodIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}
