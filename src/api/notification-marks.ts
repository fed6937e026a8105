import { z } from "zod";

/**
 * What AEGIS has already told Slack and GitHub about one ApprovalRequest, kept in an annotation
 * on the request itself: it survives restarts and leader changes without Redis, is visible in
 * `kubectl describe`, and goes away with the request. The webhook lets AEGIS change metadata
 * (only `spec.decisions` is guarded), so writing it never touches the decision rules.
 */
export const NOTIFICATIONS_ANNOTATION = "aegis.valina.ai/notifications";

const slackEntrySchema = z.object({ channel: z.string(), ts: z.string(), phase: z.string() });
const githubEntrySchema = z.object({ repository: z.string(), sha: z.string(), phase: z.string() });
const marksSchema = z.object({
  /** Per configured channel (as the policy names it): the posted message and the phase it shows. */
  slack: z.record(z.string(), slackEntrySchema).default({}),
  /** The commit status last set, and for which phase. */
  github: githubEntrySchema.optional(),
});

export type SlackMark = z.infer<typeof slackEntrySchema>;
export type GitHubMark = z.infer<typeof githubEntrySchema>;
export type NotificationMarks = z.infer<typeof marksSchema>;

export const emptyMarks = (): NotificationMarks => ({ slack: {} });

/** Reads the annotation; a missing or unreadable one means nothing was sent yet. */
export function readMarks(annotations: Readonly<Record<string, string>> | undefined): NotificationMarks {
  const raw = annotations?.[NOTIFICATIONS_ANNOTATION];
  if (!raw) return emptyMarks();
  try {
    const parsed = marksSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : emptyMarks();
  } catch {
    return emptyMarks();
  }
}

export function writeMarks(marks: NotificationMarks): string {
  return JSON.stringify(marks);
}

/** Pending before any decided phase: the later notification wins when two views disagree. */
function rank(phase: string | undefined): number {
  if (phase === undefined) return 0;
  return phase === "Pending" ? 1 : 2;
}

/** Combines what the cache shows with what this process wrote and the cache may not show yet. */
export function mergeMarks(a: NotificationMarks, b: NotificationMarks): NotificationMarks {
  const slack: Record<string, SlackMark> = { ...a.slack };
  for (const [channel, entry] of Object.entries(b.slack)) {
    const current = slack[channel];
    if (!current || rank(entry.phase) > rank(current.phase)) slack[channel] = entry;
  }
  const github = rank(b.github?.phase) > rank(a.github?.phase) || (b.github && !a.github) ? b.github : a.github;
  return github ? { slack, github } : { slack };
}
