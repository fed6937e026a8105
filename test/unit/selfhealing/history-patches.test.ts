import { describe, expect, it } from "vitest";
import {
  breakerOpen,
  currentEpisode,
  currentReplicaSet,
  entryId,
  HISTORY_ANNOTATION,
  parseHistory,
  pruneHistory,
  restartPatch,
  rollbackCandidates,
  rollbackPatch,
  serializeHistory,
  type HistoryEntry,
} from "../../../src/selfhealing/index.js";
import { deployment, hashFor, minutesAgo, NOW, replicaSet } from "./fixtures.js";

const entry = (action: HistoryEntry["action"], minutes: number): HistoryEntry => ({
  action,
  at: minutesAgo(minutes),
  reason: "CrashLoop",
});

describe("healing history", () => {
  it("round-trips and ignores garbage", () => {
    const history = [entry("restart", 3)];
    expect(parseHistory(serializeHistory(history))).toEqual(history);
    expect(parseHistory("not json")).toEqual([]);
    expect(parseHistory(JSON.stringify([{ action: "format-disk", at: "x", reason: "y" }, 3]))).toEqual([]);
  });

  it("keeps the open episode and the last hour, drops the rest", () => {
    const old = [entry("restart", 300), entry("recovered", 290), entry("restart", 120), entry("recovered", 100)];
    const open = [entry("restart", 90), entry("rollback", 80)];
    expect(pruneHistory([...old, ...open], NOW)).toEqual(open);
    expect(currentEpisode([...old, ...open])).toEqual(open);
  });

  it("opens the breaker with an escalation until a recovery", () => {
    expect(breakerOpen([entry("restart", 3), entry("escalate", 1)])).toBe(true);
    expect(breakerOpen([entry("escalate", 3), entry("recovered", 1)])).toBe(false);
  });

  it("derives one id per step", () => {
    const step = entry("restart", 3);
    expect(entryId("uid", step)).toBe(entryId("uid", { ...step }));
    expect(entryId("uid", step)).not.toBe(entryId("uid", entry("restart", 2)));
  });
});

describe("guarded patches", () => {
  it("restart: tests the resourceVersion, stamps restartedAt, records the step", () => {
    const d = deployment({ resourceVersion: "42" });
    const ops = restartPatch(d, [entry("restart", 0)], NOW.toISOString());
    expect(ops[0]).toEqual({ op: "test", path: "/metadata/resourceVersion", value: "42" });
    expect(ops[1]).toEqual({
      op: "add",
      path: "/spec/template/metadata/annotations",
      value: { "kubectl.kubernetes.io/restartedAt": NOW.toISOString() },
    });
    expect(ops[2]).toMatchObject({ op: "add", path: `/metadata/annotations/${HISTORY_ANNOTATION.replace("/", "~1")}` });
  });

  it("rollback: the old template without the controller's hash label", () => {
    const d = deployment();
    const [web3, web1] = [replicaSet("web-3", 3, "ghcr.io/acme/web:3"), replicaSet("web-1", 1, "ghcr.io/acme/web:1")];
    const ops = rollbackPatch(d, web1.template, []);
    expect(ops[1]).toEqual({
      op: "replace",
      path: "/spec/template",
      value: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "web", image: "ghcr.io/acme/web:1" }] },
      },
    });
    expect(currentReplicaSet(d, [web3, web1])?.name).toBe("web-3");
    expect(rollbackCandidates(d, [web3, web1])).toEqual([
      { replicaSet: web1, changeHash: hashFor("ghcr.io/acme/web:1") },
    ]);
  });

  it("never offers a revision of the current change (one that differs only by a restart stamp)", () => {
    const restarted = deployment();
    const template = (restarted.raw["spec"] as { template: { metadata: Record<string, unknown> } }).template;
    template.metadata["annotations"] = { "kubectl.kubernetes.io/restartedAt": "2026-03-02T09:00:00Z" };
    const sameChange = replicaSet("web-3", 3, "ghcr.io/acme/web:3");
    const older = replicaSet("web-1", 1, "ghcr.io/acme/web:1");
    expect(rollbackCandidates(restarted, [sameChange, older]).map((c) => c.replicaSet.name)).toEqual(["web-1"]);
  });
});
