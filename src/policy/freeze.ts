import { Cron } from "croner";
import type { FreezeWindow } from "../api/v1alpha1/index.js";
import { durationToMs } from "../api/v1alpha1/index.js";

/** A freeze window that is open now, and when it closes. */
export interface OpenFreeze {
  window: FreezeWindow;
  /** What the denial calls the window: its name, or its schedule / range. */
  label: string;
  endsAt: Date;
}

/**
 * Problems with a window AEGIS could not evaluate (an invalid cron, an unknown time zone), with
 * the field each is in; empty when it is fine. Run at policy compilation, so a bad window makes
 * the policy Invalid instead of failing at admission time.
 */
export function freezeWindowProblems(window: FreezeWindow): { field: string; message: string }[] {
  if (window.schedule === undefined) return [];
  try {
    cronOf(window).nextRun(new Date(0));
    return [];
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const field = /timezone/i.test(message) ? "timeZone" : "schedule";
    return [{ field, message: `${field} ${JSON.stringify(window[field])} cannot be evaluated: ${message}` }];
  }
}

/**
 * The open window of the given ones that closes last, or undefined when none is open at `now`.
 * A recurring window is open from each start its schedule gives (in its time zone, so daylight
 * saving moves it as a person there expects) for `duration`; an absolute one from start to end.
 */
export function openFreeze(windows: readonly FreezeWindow[], now: Date): OpenFreeze | undefined {
  let open: OpenFreeze | undefined;
  for (const window of windows) {
    const endsAt = endOfOpenWindow(window, now);
    if (endsAt && (!open || endsAt > open.endsAt)) open = { window, label: labelOf(window), endsAt };
  }
  return open;
}

function endOfOpenWindow(window: FreezeWindow, now: Date): Date | undefined {
  if (window.schedule === undefined) {
    const start = Date.parse(window.start ?? "");
    const end = Date.parse(window.end ?? "");
    return start <= now.getTime() && now.getTime() < end ? new Date(end) : undefined;
  }
  const duration = durationToMs(window.duration ?? "0s");
  // The latest start at or before now closes last: all of a schedule's windows are equally long.
  // croner works in whole seconds and looks strictly before its reference: look from a second
  // ahead and drop a start that lies after now.
  const latestStart = cronOf(window)
    .previousRuns(2, new Date(now.getTime() + 1_000))
    .find((start) => start.getTime() <= now.getTime());
  if (!latestStart) return undefined;
  const endsAt = new Date(latestStart.getTime() + duration);
  return endsAt.getTime() > now.getTime() ? endsAt : undefined;
}

// A policy's windows are the same objects until the policy changes: parse each cron once, not on
// every admission the window is checked for.
const crons = new WeakMap<FreezeWindow, Cron>();

function cronOf(window: FreezeWindow): Cron {
  let cron = crons.get(window);
  if (!cron) {
    cron = new Cron(window.schedule ?? "", { paused: true, timezone: window.timeZone ?? "UTC" });
    crons.set(window, cron);
  }
  return cron;
}

function labelOf(window: FreezeWindow): string {
  if (window.name) return window.name;
  if (window.schedule !== undefined)
    return `${window.schedule} for ${window.duration ?? "?"} (${window.timeZone ?? "UTC"})`;
  return `${window.start ?? "?"} to ${window.end ?? "?"}`;
}

/** The window's end as the freeze's own time zone reads it, and in UTC, for the denial. */
export function describeEnd(freeze: OpenFreeze): string {
  const utc = freeze.endsAt.toISOString();
  const zone = freeze.window.timeZone;
  if (!zone) return utc;
  const local = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    dateStyle: "medium",
    timeStyle: "short",
  }).format(freeze.endsAt);
  return `${local} ${zone} (${utc})`;
}
