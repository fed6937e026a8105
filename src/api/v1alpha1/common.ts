import { z } from "zod";

export const GROUP = "aegis.valina.ai";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A Go-style duration limited to whole s/m/h/d units, e.g. `24h`, `1h30m`, `5s`. */
export const DURATION_PATTERN = "^([0-9]+(s|m|h|d))+$";

export const durationSchema = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), "a duration such as 30s, 15m, 24h or 1h30m")
  .meta({ description: "Duration in s, m, h or d units, e.g. 24h or 1h30m." });

/** Kubernetes metav1.LabelSelector. */
export const labelSelectorSchema = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z
      .array(
        z.object({
          key: z.string().min(1),
          operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
          values: z.array(z.string()).optional(),
        }),
      )
      .optional(),
  })
  .meta({ description: "A standard Kubernetes label selector; an empty selector matches everything." });
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

/** metav1.Condition, as the Kubernetes API conventions describe it. */
export const conditionSchema = z.object({
  type: z.string().min(1),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string().min(1),
  message: z.string(),
  lastTransitionTime: z.string().meta({ format: "date-time" }),
  observedGeneration: z.number().int().min(0).optional(),
});
export type Condition = z.infer<typeof conditionSchema>;

/** The slice of ObjectMeta AEGIS reads. Unknown keys are kept so writes round-trip. */
export const objectMetaSchema = z.looseObject({
  name: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** Parses a Duration string into milliseconds. Throws on input the schema would refuse. */
export function durationToMs(duration: string): number {
  if (!new RegExp(DURATION_PATTERN).test(duration)) {
    throw new Error(`invalid duration ${JSON.stringify(duration)}: use s, m, h or d units, e.g. 24h`);
  }
  const unitMs: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  for (const [, amount, unit] of duration.matchAll(/([0-9]+)(s|m|h|d)/g)) {
    total += Number(amount) * (unitMs[unit ?? "s"] ?? 0);
  }
  return total;
}

/** The shortest of some durations (the strictest of several policies), or `fallback` when none. */
export function shortestDuration(durations: readonly string[], fallback: string): string {
  return [...durations].sort((a, b) => durationToMs(a) - durationToMs(b))[0] ?? fallback;
}
