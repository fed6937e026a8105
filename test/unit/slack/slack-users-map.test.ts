// The ConfigMap aegis-slack-users as AEGIS reads it: every version read is policy.change evidence
// (whole map, refused entries, diff since the version read before, field managers) before any
// decision can use it; replicas reading one version make one record; no record, no decision.
import { ApiException, type V1ConfigMap } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { KubeSlackIdentityMap, type ConfigMapReader } from "../../../src/adapters/slack/identity-map.js";
import { impersonationAttributes } from "../../../src/adapters/slack/mapping-reviewer.js";
import type { EvidenceRecorder } from "../../../src/ports/evidence.js";
import { slackEntryHash, slackMappingHash } from "../../../src/ports/notify.js";
import { MemoryEvidence } from "../../fakes/memory-ports.js";

const AEGIS = "system:serviceaccount:aegis-system:aegis-sa";
const SUBJECT = "ConfigMap/aegis-system/aegis-slack-users";

/** One stored ConfigMap: every write gets a new resourceVersion, as the API server gives. */
class StoredConfigMap implements ConfigMapReader {
  private object: V1ConfigMap | undefined;
  private version = 100;
  reads = 0;

  write(data: Record<string, string>, uid = "uid-1", manager = "kubectl-edit"): string {
    this.version += 1;
    this.object = {
      metadata: {
        name: "aegis-slack-users",
        namespace: "aegis-system",
        uid,
        resourceVersion: String(this.version),
        managedFields: [{ manager, operation: "Update", time: new Date("2026-11-26T12:00:00Z") }],
      },
      data,
    };
    return String(this.version);
  }

  remove(): void {
    this.object = undefined;
  }

  readNamespacedConfigMap(param: { name: string; namespace: string }): Promise<V1ConfigMap> {
    this.reads += 1;
    if (!this.object || param.name !== "aegis-slack-users" || param.namespace !== "aegis-system")
      return Promise.reject(new ApiException(404, "NotFound", { message: "configmaps not found" }, {}));
    return Promise.resolve(structuredClone(this.object));
  }
}

/** Logs what the map reports, by level. */
function capturingLogger(): {
  lines: { level: string; fields: Record<string, unknown>; message: string }[];
  info: (f: Record<string, unknown>, m: string) => void;
  warn: (f: Record<string, unknown>, m: string) => void;
  error: (f: Record<string, unknown>, m: string) => void;
} {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) =>
    void lines.push({ level, fields, message });
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}

function setup(options: { evidence?: EvidenceRecorder; now?: () => number } = {}) {
  const store = new StoredConfigMap();
  const evidence = new MemoryEvidence();
  const logger = capturingLogger();
  const make = (): KubeSlackIdentityMap =>
    new KubeSlackIdentityMap(store, {
      namespace: "aegis-system",
      evidence: options.evidence ?? evidence,
      actor: AEGIS,
      logger,
      ...(options.now ? { now: options.now } : { cacheMs: 0 }),
    });
  return { store, evidence, logger, map: make(), make };
}

const mappingRecords = (evidence: MemoryEvidence) => evidence.records.filter((r) => r.subject === SUBJECT);

describe("KubeSlackIdentityMap", () => {
  it("records the version it reads before resolving with it, and names that version", async () => {
    const { store, evidence, map } = setup();
    const rv = store.write({ U1: "alice", U2: "bob;sre-leads" });
    const resolution = await map.resolve("U1");
    expect(resolution).toEqual({
      status: "mapped",
      username: "alice",
      entryHash: slackEntryHash("U1", "alice"),
      mapping: {
        configMap: "aegis-system/aegis-slack-users",
        uid: "uid-1",
        resourceVersion: rv,
        mappingHash: slackMappingHash({ U1: "alice", U2: "bob;sre-leads" }),
      },
    });
    expect(mappingRecords(evidence)).toMatchObject([
      {
        id: `slack-users:uid-1:${rv}`,
        type: "policy.change",
        actor: AEGIS,
        data: {
          operation: "Observed",
          uid: "uid-1",
          resourceVersion: rv,
          mappingHash: slackMappingHash({ U1: "alice", U2: "bob;sre-leads" }),
          entries: { U1: "alice", U2: "bob;sre-leads" },
          refused: { U2: expect.stringMatching(/";groups" part/) as unknown },
          since: null,
          added: null,
          managers: [{ manager: "kubectl-edit", operation: "Update", time: "2026-11-26T12:00:00.000Z" }],
        },
      },
    ]);
  });

  it("refuses an entry with groups, logging an error once per version, and maps nobody by it", async () => {
    const { store, logger, map } = setup();
    store.write({ U2: "bob;sre-leads" });
    expect(await map.resolve("U2")).toMatchObject({
      status: "refused",
      problem: expect.stringMatching(/names a Kubernetes username only \(write "bob"\)/) as unknown,
    });
    await map.resolve("U2");
    const errors = logger.lines.filter((line) => line.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      fields: { configMap: SUBJECT, refused: { U2: expect.stringMatching(/groups/) as unknown } },
      message: expect.stringMatching(/entries refused: they map nobody/) as unknown,
    });
  });

  it("records each change with what was added, removed and changed since the version before, a revert included", async () => {
    const { store, evidence, map } = setup();
    const first = store.write({ U1: "alice", U2: "bob", U3: "carol" });
    await map.resolve("U1");
    const second = store.write({ U1: "alice", U2: "mallory", U4: "dave" }, "uid-1", "kubectl-patch");
    await map.resolve("U1");
    const third = store.write({ U1: "alice", U2: "bob", U3: "carol" });
    await map.resolve("U1");
    const records = mappingRecords(evidence);
    expect(records.map((r) => r.id)).toEqual([
      `slack-users:uid-1:${first}`,
      `slack-users:uid-1:${second}`,
      `slack-users:uid-1:${third}`,
    ]);
    expect(records[1]?.data).toMatchObject({
      since: { resourceVersion: first, mappingHash: slackMappingHash({ U1: "alice", U2: "bob", U3: "carol" }) },
      added: { U4: "dave" },
      removed: { U3: "carol" },
      changed: { U2: { from: "bob", to: "mallory" } },
      managers: [{ manager: "kubectl-patch" }],
    });
    expect(records[2]?.data).toMatchObject({ added: { U3: "carol" }, changed: { U2: { from: "mallory", to: "bob" } } });
  });

  it("records a deletion, after which nobody is mapped; a map absent from the start records nothing", async () => {
    const { store, evidence, map } = setup();
    expect(await map.resolve("U1")).toEqual({ status: "unmapped" });
    expect(mappingRecords(evidence)).toEqual([]);
    store.write({ U1: "alice" });
    await map.resolve("U1");
    store.remove();
    expect(await map.resolve("U1")).toEqual({ status: "unmapped" });
    expect(mappingRecords(evidence).at(-1)).toMatchObject({
      id: "slack-users:uid-1:deleted",
      data: { operation: "Observed", deleted: true, removed: { U1: "alice" } },
    });
  });

  it("replicas reading the same version make one record; an unchanged version is not recorded again", async () => {
    const { store, evidence, map, make } = setup();
    store.write({ U1: "alice" });
    await map.resolve("U1");
    await make().resolve("U1");
    await map.refresh();
    expect(mappingRecords(evidence)).toHaveLength(1);
  });

  it("takes no decision with a version it could not record, and records it once the ledger takes it", async () => {
    const evidence = new MemoryEvidence();
    let failing = true;
    const flaky: EvidenceRecorder = {
      record: (event) =>
        failing ? Promise.reject(new Error("evidence could not be made durable")) : evidence.record(event),
    };
    const { store, map } = setup({ evidence: flaky });
    store.write({ U1: "alice" });
    await expect(map.resolve("U1")).rejects.toThrow(/could not be made durable/);
    failing = false;
    expect(await map.resolve("U1")).toMatchObject({ status: "mapped", username: "alice" });
    expect(mappingRecords(evidence)).toHaveLength(1);
  });

  it("without an evidence recorder records nothing and says so once", async () => {
    const store = new StoredConfigMap();
    const logger = capturingLogger();
    const map = new KubeSlackIdentityMap(store, { namespace: "aegis-system", logger, cacheMs: 0 });
    store.write({ U1: "alice" });
    expect(await map.resolve("U1")).toMatchObject({ status: "mapped", username: "alice" });
    store.write({ U1: "bob" });
    expect(await map.resolve("U1")).toMatchObject({ status: "mapped", username: "bob" });
    expect(logger.lines.filter((line) => line.level === "warn").map((line) => line.message)).toEqual([
      "the Slack identity map has no evidence recorder: its versions are not recorded",
    ]);
  });

  it("reads once for concurrent resolves and caches for cacheMs", async () => {
    let now = 0;
    const { store, map } = setup({ now: () => now });
    store.write({ U1: "alice" });
    await Promise.all([map.resolve("U1"), map.resolve("U1"), map.resolve("U1")]);
    expect(store.reads).toBe(1);
    now += 14_000;
    await map.resolve("U1");
    expect(store.reads).toBe(1);
    now += 2_000;
    await map.resolve("U1");
    expect(store.reads).toBe(2);
  });

  it("start() records a change with no Slack decision after it", async () => {
    const { store, evidence, map } = setup();
    const rv = store.write({ U1: "alice" });
    map.start(10);
    try {
      for (let i = 0; i < 100 && mappingRecords(evidence).length === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      const next = store.write({ U1: "mallory" });
      for (let i = 0; i < 100 && mappingRecords(evidence).length < 2; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(mappingRecords(evidence).map((r) => r.data.resourceVersion)).toEqual([rv, next]);
    } finally {
      map.stop();
    }
  });
});

describe("impersonationAttributes", () => {
  it("asks what the API server asks before kubectl --as: users, or serviceaccounts for a service account", () => {
    expect(impersonationAttributes("alice")).toEqual({
      group: "",
      resource: "users",
      verb: "impersonate",
      name: "alice",
    });
    expect(impersonationAttributes("system:serviceaccount:team:bot")).toEqual({
      group: "",
      resource: "serviceaccounts",
      verb: "impersonate",
      namespace: "team",
      name: "bot",
    });
    expect(impersonationAttributes("system:serviceaccount:bad")).toMatchObject({ resource: "users" });
  });
});
