import { describe, expect, it } from "vitest";
import { evidenceReaderFromStore } from "../../../src/http/evidence-reader.js";
import { formatEvent } from "../../../src/http/events-stream.js";
import { loadIntegrationSettings } from "../../../src/wiring/config.js";
import { mergeMarks, NOTIFICATIONS_ANNOTATION, readMarks, writeMarks } from "../../../src/api/notification-marks.js";
import type { EvidenceRecord } from "../../../src/ports/evidence.js";

const record = (seq: number): EvidenceRecord => ({
  seq,
  id: `r${seq}`,
  time: "t",
  type: "x",
  subject: "s",
  actor: "a",
  data: {},
  prevHash: "p",
  hash: "h",
});

describe("notification marks", () => {
  it("round-trip through the annotation and read garbage as nothing sent", () => {
    const marks = {
      slack: { "#deploys": { channel: "C1", ts: "1.2", phase: "Pending" } },
      github: { repository: "acme/web", sha: "a".repeat(40), phase: "Pending" },
    };
    expect(readMarks({ [NOTIFICATIONS_ANNOTATION]: writeMarks(marks) })).toEqual(marks);
    expect(readMarks({ [NOTIFICATIONS_ANNOTATION]: "{not json" })).toEqual({ slack: {} });
    expect(readMarks(undefined)).toEqual({ slack: {} });
  });

  it("merge towards the later phase, per channel", () => {
    const cached = {
      slack: { a: { channel: "C1", ts: "1", phase: "Approved" }, b: { channel: "C2", ts: "2", phase: "Pending" } },
    };
    const written = {
      slack: { a: { channel: "C1", ts: "1", phase: "Pending" }, c: { channel: "C3", ts: "3", phase: "Pending" } },
      github: { repository: "r/r", sha: "s", phase: "Pending" },
    };
    const merged = mergeMarks(cached, written);
    expect(merged.slack.a?.phase).toBe("Approved");
    expect(Object.keys(merged.slack).sort()).toEqual(["a", "b", "c"]);
    expect(merged.github?.phase).toBe("Pending");
  });
});

describe("evidence reader", () => {
  it("reads the newest records, newest first, from the store's head", async () => {
    const records = [0, 1, 2, 3, 4].map(record);
    const reader = evidenceReaderFromStore({
      head: () => Promise.resolve({ nextSeq: records.length }),
      range: (from, limit) => Promise.resolve(records.slice(from, from + limit)),
    });
    expect((await reader.latest(2)).map((r) => r.seq)).toEqual([4, 3]);
    expect((await reader.latest(50)).map((r) => r.seq)).toEqual([4, 3, 2, 1, 0]);
    const empty = evidenceReaderFromStore({
      head: () => Promise.resolve({ nextSeq: 0 }),
      range: () => Promise.reject(new Error("not called")),
    });
    expect(await empty.latest(10)).toEqual([]);
  });
});

describe("event stream frames and settings", () => {
  it("formats one SSE frame per message", () => {
    expect(formatEvent({ topic: "approval", key: "prod/x", data: { phase: "Approved" } })).toBe(
      'event: approval\ndata: {"topic":"approval","key":"prod/x","data":{"phase":"Approved"}}\n\n',
    );
  });

  it("reads integration settings from the environment, empty meaning unset", () => {
    expect(
      loadIntegrationSettings({
        SLACK_BOT_TOKEN: "",
        GITHUB_TOKEN: "ghp_x",
        AEGIS_DASHBOARD_URL: "https://aegis.example.com",
      }),
    ).toEqual({ GITHUB_TOKEN: "ghp_x", AEGIS_DASHBOARD_URL: "https://aegis.example.com" });
    expect(() => loadIntegrationSettings({ SLACK_API_URL: "not a url" })).toThrow(/SLACK_API_URL/);
  });
});
