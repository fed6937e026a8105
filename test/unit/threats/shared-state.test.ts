// The pure parts of shared threat state: the lockdown decision, the in-memory state's counting
// and claims, and two detectors ("replicas") over one store, including a store that stops
// answering (a fake of the port; Redis itself is exercised in test/integration/threats/).
import { describe, expect, it } from "vitest";
import type { ThreatStateStore } from "../../../src/ports/threat-state.js";
import {
  denialBurstDetector,
  effectiveLockdown,
  LocalThreatState,
  lockdownEvidence,
  MemoryThreatStateStore,
  ThreatDetector,
  type AdmissionObservation,
  type LockdownTransition,
  type LockdownView,
} from "../../../src/threats/index.js";

const T0 = Date.parse("2026-03-03T10:00:00Z");

function denial(user: string, offsetMs: number): AdmissionObservation {
  return {
    at: new Date(T0 + offsetMs),
    user,
    groups: [],
    namespace: "prod",
    kind: "Deployment",
    allowed: false,
    reason: "PolicyViolation",
    privileged: false,
    registries: [],
  };
}

/** A shared store that can be switched off: every call then rejects, as a Redis outage does. */
class SwitchableStore implements ThreatStateStore {
  readonly shared = true;
  down = false;
  constructor(private readonly inner = new MemoryThreatStateStore()) {}
  private gate<T>(call: () => Promise<T>): Promise<T> {
    return this.down ? Promise.reject(new Error("connection refused")) : call();
  }
  count: ThreatStateStore["count"] = (ops, observed) => this.gate(() => this.inner.count(ops, observed));
  claim: ThreatStateStore["claim"] = (claims) => this.gate(() => this.inner.claim(claims));
  lockDown: ThreatStateStore["lockDown"] = (l, ttl, now) => this.gate(() => this.inner.lockDown(l, ttl, now));
  lockdown: ThreatStateStore["lockdown"] = (now) => this.gate(() => this.inner.lockdown(now));
  claimLockdownEnd: ThreatStateStore["claimLockdownEnd"] = (id, now) =>
    this.gate(() => this.inner.claimLockdownEnd(id, now));
  clearLockdown: ThreatStateStore["clearLockdown"] = () => this.gate(() => this.inner.clearLockdown());
  snapshot: ThreatStateStore["snapshot"] = (limit) => this.gate(() => this.inner.snapshot(limit));
  close = (): Promise<void> => Promise.resolve();
}

function replica(
  name: string,
  store: ThreatStateStore,
  clock: { ms: number },
  log: { transitions: [string, LockdownTransition, LockdownView][]; health: [string, boolean][] },
): ThreatDetector {
  return new ThreatDetector({
    store,
    replica: name,
    now: () => new Date(clock.ms),
    lockdownMs: 60_000,
    detectors: [denialBurstDetector({ windowMs: 60_000, levels: { medium: 5, high: 10 }, cooldownMs: 300_000 })],
    onLockdown: (transition, lockdown) => log.transitions.push([name, transition, lockdown]),
    onStoreHealth: (healthy) => log.health.push([name, healthy]),
  });
}

describe("effectiveLockdown", () => {
  const shared = { id: "lockdown:x", sinceMs: 0, untilMs: 1_000, reason: "high threat", origin: "a" };

  it("holds the shared lockdown until its end while the store answers", () => {
    const facts = { manual: null, shared, local: null, storeHealthy: true };
    expect(effectiveLockdown({ ...facts, nowMs: 999 })).toMatchObject({ scope: "cluster", stale: false });
    expect(effectiveLockdown({ ...facts, nowMs: 1_000 })).toBeNull();
  });

  it("holds it past its end while the store does not answer (fail safe), marked stale", () => {
    expect(effectiveLockdown({ manual: null, shared, local: null, storeHealthy: false, nowMs: 5_000 })).toMatchObject({
      id: "lockdown:x",
      scope: "cluster",
      stale: true,
    });
  });

  it("prefers a manual lockdown; a replica's own one holds when there is no shared one", () => {
    const manual = { reason: "incident 7", sinceMs: 10 };
    expect(effectiveLockdown({ manual, shared, local: null, storeHealthy: true, nowMs: 0 })).toMatchObject({
      scope: "manual",
      untilMs: null,
    });
    const local = { ...shared, id: "lockdown:y", untilMs: 2_000 };
    expect(effectiveLockdown({ manual: null, shared: null, local, storeHealthy: false, nowMs: 1_500 })).toMatchObject({
      id: "lockdown:y",
      scope: "replica",
    });
    expect(effectiveLockdown({ manual: null, shared: null, local, storeHealthy: false, nowMs: 2_000 })).toBeNull();
  });
});

describe("LocalThreatState", () => {
  it("counts windows, frees a cooldown slot for a higher severity, and lets one caller end a lockdown", () => {
    const state = new LocalThreatState();
    const add = (atMs: number, member: string) =>
      state.count([{ op: "window", key: "k", atMs, windowMs: 1_000, member }]);
    expect(add(0, "a")).toEqual([{ op: "window", count: 1, firstMs: 0 }]);
    expect(add(500, "b")).toEqual([{ op: "window", count: 2, firstMs: 0 }]);
    expect(add(1_200, "c")).toEqual([{ op: "window", count: 2, firstMs: 500 }]);
    const claim = (rank: number, atMs: number) => ({
      key: "slot",
      rank,
      atMs,
      periodMs: 1_000,
      source: "user/u",
      threat: { id: `t${rank}${atMs}` },
    });
    expect(state.claim([claim(1, 0), claim(1, 10), claim(2, 20), claim(2, 1_020)])).toEqual([true, false, true, true]);
    expect(state.snapshot().topSources).toEqual([{ source: "user/u", threats: 3, highestRank: 2 }]);

    const lockdown = { id: "lockdown:z", sinceMs: 0, untilMs: 100, reason: "r", origin: "a" };
    expect(state.lockDown(lockdown, 0).started).toBe(true);
    expect(state.lockDown({ ...lockdown, id: "other", untilMs: 200 }, 50)).toMatchObject({
      started: false,
      lockdown: { id: "lockdown:z", untilMs: 200 },
    });
    expect(state.claimLockdownEnd("lockdown:z", 150)).toBe(false); // still running
    expect(state.claimLockdownEnd("lockdown:z", 200)).toBe(true);
    expect(state.claimLockdownEnd("lockdown:z", 201)).toBe(false);
    expect(state.lockdown(300)).toMatchObject({ current: null, last: { id: "lockdown:z" }, lastEndClaimed: true });
  });

  it("counts a minute and reports the previous one; first-seen is first once", () => {
    const state = new LocalThreatState();
    state.count([{ op: "minute", key: "u", minute: 10 }]);
    state.count([{ op: "minute", key: "u", minute: 10 }]);
    expect(state.count([{ op: "minute", key: "u", minute: 11 }])).toEqual([{ op: "minute", count: 1, previous: 2 }]);
    const seen = (member: string, atMs: number) => state.count([{ op: "first-seen", key: "r", member, atMs }]);
    expect(seen("quay.io/x", 5)).toEqual([{ op: "first-seen", novel: true, sinceMs: 5 }]);
    expect(seen("quay.io/x", 9)).toEqual([{ op: "first-seen", novel: false, sinceMs: 5 }]);
  });
});

describe("two replicas over one store", () => {
  it("add up their observations, raise each threat once, start the lockdown once; the other learns on refresh", async () => {
    const store = new MemoryThreatStateStore();
    const clock = { ms: T0 };
    const log = { transitions: [] as [string, LockdownTransition, LockdownView][], health: [] as [string, boolean][] };
    const a = replica("a", store, clock, log);
    const b = replica("b", store, clock, log);
    for (let i = 0; i < 5; i += 1) {
      a.observe(denial("mallory", i));
      b.observe(denial("mallory", i));
    }
    await Promise.all([a.flush(), b.flush()]);
    // 10 denials in all, 5 on each: neither alone reaches high (10). The replica whose count
    // crossed it locked down at once; the other reads it on its next refresh (no I/O on the
    // admission path).
    expect(a.extraApprovals() + b.extraApprovals()).toBe(1);
    await Promise.all([a.refresh(), b.refresh()]);
    expect([a.extraApprovals(), b.extraApprovals()]).toEqual([1, 1]);
    expect(log.transitions.map(([, transition]) => transition)).toEqual(["started"]);
    const status = await b.status();
    expect(status.counts).toMatchObject({ medium: 1, high: 1 });
    expect(status.observed).toBe(10);
    expect(status.lockdown).toMatchObject({ scope: "cluster", manual: false });

    clock.ms = T0 + 61_000;
    expect(a.extraApprovals()).toBe(0);
    expect(b.extraApprovals()).toBe(0);
    await Promise.all([a.refresh(), b.refresh()]);
    expect(log.transitions.map(([, transition]) => transition)).toEqual(["started", "ended"]);
  });

  it("when the store stops answering: hold the lockdown read, decide on own windows, tell once; write back on return", async () => {
    const store = new SwitchableStore();
    const clock = { ms: T0 };
    const log = { transitions: [] as [string, LockdownTransition, LockdownView][], health: [] as [string, boolean][] };
    const a = replica("a", store, clock, log);
    const b = replica("b", store, clock, log);
    for (let i = 0; i < 10; i += 1) a.observe(denial("mallory", i));
    await a.flush();
    await b.refresh();
    expect(b.extraApprovals()).toBe(1);

    store.down = true;
    clock.ms = T0 + 120_000; // past the lockdown's end
    await b.refresh();
    await b.refresh();
    expect(b.extraApprovals()).toBe(1); // held: another replica may have extended it
    expect((await b.status()).lockdown).toMatchObject({ stale: true });
    expect(log.health).toEqual([["b", false]]);
    expect(b.stats().storeErrors).toBeGreaterThanOrEqual(2);

    // Own windows go on counting: 10 denials on a alone lock a down, on a only.
    for (let i = 0; i < 10; i += 1) a.observe(denial("eve", 120_000 + i));
    await a.flush();
    // a holds the shared lockdown it read (stale) and its own beside it.
    expect(a.lockdown()).toMatchObject({ scope: "cluster", stale: true });
    expect(log.transitions.filter(([who]) => who === "a").map(([, t, l]) => [t, l.scope])).toContainEqual([
      "started",
      "replica",
    ]);

    store.down = false;
    await b.refresh(); // the first lockdown ended meanwhile: b records its end
    expect(b.extraApprovals()).toBe(0);
    await a.refresh(); // a writes its own lockdown to the store
    await b.refresh();
    expect(b.lockdown()).toMatchObject({ scope: "cluster", id: a.lockdown()?.id });
    expect(log.health).toContainEqual(["b", true]);
    const started = log.transitions.filter(([, transition]) => transition === "started");
    expect(started).toHaveLength(2); // the first lockdown, and a's own (not again when written back)
  });
});

describe("lockdown evidence", () => {
  it("derives its id from the lockdown, so a repeated call is one record", () => {
    const view: LockdownView = {
      id: "lockdown:threat:denial-burst:user:mallory:2026-03-03T10:00:00.000Z",
      sinceMs: T0,
      untilMs: T0 + 60_000,
      reason: "high threat: …",
      scope: "cluster",
      stale: false,
    };
    expect(lockdownEvidence("started", view, "aegis", "a")).toMatchObject({
      id: `lockdown.started:${view.id}`,
      type: "threat.detected",
      subject: "lockdown",
      data: { transition: "lockdown.started", scope: "cluster", replica: "a" },
    });
    expect(lockdownEvidence("ended", view, "aegis", "b").id).toBe(`lockdown.ended:${view.id}`);
  });
});
