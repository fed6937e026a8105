import { describe, expect, it } from "vitest";
import { parseSlackUserEntry, StaticSlackIdentityMap } from "../../../src/adapters/slack/identity-map.js";
import { MemoryReplayGuard } from "../../../src/adapters/slack/replay-guard.js";

describe("Slack identity map entries", () => {
  it("reads `user` and `user;group,group`", () => {
    expect(parseSlackUserEntry("alice")).toEqual({ username: "alice", groups: [] });
    expect(parseSlackUserEntry(" alice ; sre-leads, ops ,")).toEqual({
      username: "alice",
      groups: ["sre-leads", "ops"],
    });
    expect(parseSlackUserEntry("system:serviceaccount:team:bot;team")).toEqual({
      username: "system:serviceaccount:team:bot",
      groups: ["team"],
    });
  });

  it("maps nobody for empty or malformed values", () => {
    expect(parseSlackUserEntry("")).toBeNull();
    expect(parseSlackUserEntry(";sre-leads")).toBeNull();
    expect(parseSlackUserEntry("alice;a;b")).toBeNull();
  });

  it("does not resolve inherited object keys", async () => {
    const map = new StaticSlackIdentityMap({ U1: "alice" });
    expect(await map.resolve("U1")).toEqual({ username: "alice", groups: [] });
    expect(await map.resolve("constructor")).toBeNull();
    expect(await map.resolve("U2")).toBeNull();
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
