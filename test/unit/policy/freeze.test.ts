// Freeze windows (pure): when a recurring or absolute window is open, and until when.
import { describe, expect, it } from "vitest";
import { aegisPolicySpecSchema, type FreezeWindow } from "../../../src/api/v1alpha1/index.js";
import { describeEnd, freezeWindowProblems, openFreeze } from "../../../src/policy/index.js";

const weekend: FreezeWindow = { name: "weekend", schedule: "0 18 * * 5", duration: "62h", timeZone: "Europe/Berlin" };

describe("openFreeze", () => {
  it("is open from Friday 18:00 in the window's time zone for its duration", () => {
    // Friday 2026-12-04 18:00 in Berlin is 17:00 UTC (CET, UTC+1).
    expect(openFreeze([weekend], new Date("2026-12-04T16:59:59Z"))).toBeUndefined();
    const saturday = openFreeze([weekend], new Date("2026-12-05T12:00:00Z"));
    expect(saturday?.endsAt.toISOString()).toBe("2026-12-07T07:00:00.000Z");
    expect(saturday?.label).toBe("weekend");
    expect(openFreeze([weekend], new Date("2026-12-07T07:00:00Z"))).toBeUndefined();
  });

  it("follows daylight saving: in summer Friday 18:00 Berlin is 16:00 UTC", () => {
    expect(openFreeze([weekend], new Date("2026-07-03T15:59:00Z"))).toBeUndefined();
    expect(openFreeze([weekend], new Date("2026-07-03T16:00:00Z"))?.endsAt.toISOString()).toBe(
      "2026-07-06T06:00:00.000Z",
    );
  });

  it("is open for an absolute range from start (inclusive) to end (exclusive)", () => {
    const range: FreezeWindow = { start: "2026-12-20T00:00:00Z", end: "2027-01-04T00:00:00Z" };
    expect(openFreeze([range], new Date("2026-12-19T23:59:59Z"))).toBeUndefined();
    expect(openFreeze([range], new Date("2026-12-20T00:00:00Z"))?.label).toBe(
      "2026-12-20T00:00:00Z to 2027-01-04T00:00:00Z",
    );
    expect(openFreeze([range], new Date("2027-01-04T00:00:00Z"))).toBeUndefined();
  });

  it("reports the open window that closes last, and its end in its own time zone", () => {
    const short: FreezeWindow = { start: "2026-12-05T00:00:00Z", end: "2026-12-05T23:00:00Z" };
    const open = openFreeze([short, weekend], new Date("2026-12-05T12:00:00Z"));
    expect(open?.label).toBe("weekend");
    expect(open && describeEnd(open)).toBe("7 Dec 2026, 08:00 Europe/Berlin (2026-12-07T07:00:00.000Z)");
  });
});

describe("freeze window validation", () => {
  it("names an invalid cron or time zone by its field, for the policy to be Invalid", () => {
    expect(freezeWindowProblems(weekend)).toEqual([]);
    expect(freezeWindowProblems({ ...weekend, schedule: "61 18 * * 5" })[0]?.field).toBe("schedule");
    expect(freezeWindowProblems({ ...weekend, timeZone: "Mars/Olympus" })[0]?.field).toBe("timeZone");
  });

  it("refuses a schedule without a time zone or duration, a range without an end, and an end before start", () => {
    const spec = (window: Record<string, unknown>) =>
      aegisPolicySpecSchema.safeParse({ match: { kinds: ["Deployment"] }, freezeWindows: [window] });
    expect(spec({ schedule: "0 18 * * 5", duration: "62h" }).success).toBe(false);
    expect(spec({ schedule: "0 18 * * 5", timeZone: "UTC" }).success).toBe(false);
    expect(spec({ start: "2026-12-20T00:00:00Z" }).success).toBe(false);
    const backwards = spec({ start: "2026-12-20T00:00:00Z", end: "2026-12-19T00:00:00Z" });
    expect(backwards.error?.issues.map((issue) => issue.message)).toContain("end must be a time after start");
    expect(spec({ start: "2026-12-20T00:00:00Z", end: "2027-01-04T00:00:00Z" }).success).toBe(true);
  });
});
