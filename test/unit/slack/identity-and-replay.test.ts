import { describe, expect, it } from "vitest";
import { parseSlackUserEntry, StaticSlackIdentityMap } from "../../../src/adapters/slack/identity-map.js";
import { diffSlackMappings, slackEntryHash, slackMappingHash } from "../../../src/ports/notify.js";
import { MemoryReplayGuard } from "../../../src/adapters/slack/replay-guard.js";

describe("Slack identity map entries", () => {
  it("read a Kubernetes username, trimmed", () => {
    expect(parseSlackUserEntry("alice")).toEqual({ username: "alice" });
    expect(parseSlackUserEntry("  alice ")).toEqual({ username: "alice" });
    expect(parseSlackUserEntry("system:serviceaccount:team:bot")).toEqual({
      username: "system:serviceaccount:team:bot",
    });
  });

  it("refuse an entry that lists groups, saying the map names a username only", () => {
    for (const value of ["alice;sre-leads", " alice ; sre-leads, ops ,", "alice;", "alice;a;b", ";sre-leads"]) {
      const entry = parseSlackUserEntry(value);
      expect(entry, value).not.toHaveProperty("username");
      expect(entry, value).toMatchObject({
        refused: expect.stringMatching(/";groups" part: the map names a Kubernetes username only/) as unknown,
      });
    }
    expect(parseSlackUserEntry("alice;sre-leads")).toEqual({
      refused:
        'the entry "alice;sre-leads" has a ";groups" part: the map names a Kubernetes username only (write "alice"); groups come from Kubernetes, never from this ConfigMap',
    });
  });

  it("refuse empty values and control characters", () => {
    expect(parseSlackUserEntry("")).toEqual({ refused: "the entry is empty" });
    expect(parseSlackUserEntry("   ")).toEqual({ refused: "the entry is empty" });
    expect(parseSlackUserEntry("alice\nbob")).toMatchObject({ refused: expect.stringMatching(/control/) as unknown });
  });

  it("hash an entry and a whole map independently of key order", () => {
    expect(slackEntryHash("U1", "alice")).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(slackEntryHash("U1", "alice")).not.toBe(slackEntryHash("U1", "alice "));
    expect(slackEntryHash("U1", "alice")).not.toBe(slackEntryHash("U2", "alice"));
    expect(slackMappingHash({ U1: "alice", U2: "bob" })).toBe(slackMappingHash({ U2: "bob", U1: "alice" }));
    expect(slackMappingHash({ U1: "alice" })).not.toBe(slackMappingHash({ U1: "bob" }));
  });

  it("diff two versions of the map", () => {
    expect(
      diffSlackMappings({ U1: "alice", U2: "bob", U3: "carol" }, { U1: "alice", U2: "mallory", U4: "dave" }),
    ).toEqual({
      added: { U4: "dave" },
      removed: { U3: "carol" },
      changed: { U2: { from: "bob", to: "mallory" } },
    });
  });

  it("resolve to a username with the entry's hash, never groups; inherited keys map nobody", async () => {
    const map = new StaticSlackIdentityMap({ U1: "alice", U2: "bob;sre-leads" }, "7");
    expect(await map.resolve("U1")).toEqual({
      status: "mapped",
      username: "alice",
      entryHash: slackEntryHash("U1", "alice"),
      mapping: {
        configMap: "static",
        uid: "static",
        resourceVersion: "7",
        mappingHash: slackMappingHash({ U1: "alice", U2: "bob;sre-leads" }),
      },
    });
    expect(await map.resolve("U2")).toMatchObject({
      status: "refused",
      entryHash: slackEntryHash("U2", "bob;sre-leads"),
    });
    expect(await map.resolve("constructor")).toMatchObject({ status: "unmapped" });
    expect(await map.resolve("U3")).toMatchObject({ status: "unmapped" });
  });
});

describe("in-process replay guard", () => {
  it("lets an id through once until its TTL passes", async () => {
    let now = 0;
    const guard = new MemoryReplayGuard(() => now);
    expect(await guard.firstSeen("a", 600)).toBe(true);
    expect(await guard.firstSeen("a", 600)).toBe(false);
    now += 599_000;
    expect(await guard.firstSeen("a", 600)).toBe(false);
    now += 2_000;
    expect(await guard.firstSeen("a", 600)).toBe(true);
  });

  it("stays bounded", async () => {
    const guard = new MemoryReplayGuard(() => 0, 10);
    for (let i = 0; i < 100; i++) await guard.firstSeen(`id-${i}`, 600);
    expect(await guard.firstSeen("id-99", 600)).toBe(false);
  });
});
