import { ApiException, type V1Lease } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { LeaderElector, type LeaseApi, type LeaderElectorOptions } from "../../../src/runtime/leader-election.js";
import { FakeClock } from "./fake-clock.js";

/**
 * The three Lease calls with the apiserver's optimistic concurrency: resourceVersion bumps on
 * every write and a stale one gets 409. Objects go through JSON like on the wire. The real
 * apiserver behaviour is covered by e2e/runtime/leader-election.e2e.test.ts.
 */
class InMemoryLeases implements LeaseApi {
  stored: V1Lease | undefined;
  failing = false;
  private version = 0;

  readNamespacedLease(): Promise<V1Lease> {
    if (this.failing) return Promise.reject(new ApiException(500, "unavailable", {}, {}));
    if (!this.stored) return Promise.reject(new ApiException(404, "not found", {}, {}));
    return Promise.resolve(structuredClone(this.stored));
  }

  createNamespacedLease({ body }: { body: V1Lease }): Promise<V1Lease> {
    if (this.failing) return Promise.reject(new ApiException(500, "unavailable", {}, {}));
    if (this.stored) return Promise.reject(new ApiException(409, "already exists", {}, {}));
    return Promise.resolve(this.save(body));
  }

  replaceNamespacedLease({ body }: { body: V1Lease }): Promise<V1Lease> {
    if (this.failing) return Promise.reject(new ApiException(500, "unavailable", {}, {}));
    if (body.metadata?.resourceVersion !== this.stored?.metadata?.resourceVersion) {
      return Promise.reject(new ApiException(409, "conflict", {}, {}));
    }
    return Promise.resolve(this.save(body));
  }

  get holder(): string | undefined {
    return this.stored?.spec?.holderIdentity;
  }

  private save(body: V1Lease): V1Lease {
    this.version += 1;
    const wire = JSON.parse(JSON.stringify(body)) as V1Lease;
    this.stored = { ...wire, metadata: { ...wire.metadata, resourceVersion: String(this.version) } };
    return structuredClone(this.stored);
  }
}

interface Candidate {
  elector: LeaderElector;
  events: string[];
  signals: AbortSignal[];
}

function candidate(
  identity: string,
  api: InMemoryLeases,
  clock: FakeClock,
  extra: Partial<LeaderElectorOptions> = {},
): Candidate {
  const events: string[] = [];
  const signals: AbortSignal[] = [];
  const elector = new LeaderElector({
    api,
    namespace: "aegis-system",
    name: "aegis-controller",
    identity,
    clock,
    random: () => 0, // retries exactly every retry period
    onStartedLeading: (signal) => {
      events.push(`started@${clock.now()}`);
      signals.push(signal);
    },
    onStoppedLeading: () => {
      events.push(`stopped, lease held by ${api.holder ?? "nobody"}`);
    },
    ...extra,
  });
  return { elector, events, signals };
}

describe("LeaderElector", () => {
  it("creates the missing lease and leads; a second candidate does not", async () => {
    const clock = new FakeClock();
    const api = new InMemoryLeases();
    const a = candidate("a", api, clock);
    const b = candidate("b", api, clock);
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(60_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.elector.observedHolder).toBe("a");
    expect(api.stored?.spec?.leaseTransitions).toBe(0);
    expect(api.stored?.spec?.leaseDurationSeconds).toBe(15);
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  it("on stop, stops the leader's work first, then releases so another leads on its next retry", async () => {
    const clock = new FakeClock();
    const api = new InMemoryLeases();
    const a = candidate("a", api, clock);
    const b = candidate("b", api, clock);
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(10_000);

    await a.elector.stop();
    expect(a.signals[0]?.aborted).toBe(true);
    expect(a.events).toEqual([expect.stringMatching(/^started/), "stopped, lease held by a"]);
    expect(api.holder).toBe("");
    const releasedAt = clock.now();

    await clock.advance(2000);
    expect(b.elector.isLeader()).toBe(true);
    expect(b.events).toEqual([expect.stringMatching(/^started/)]);
    const startedAt = Number(b.events[0]?.split("@")[1]);
    expect(startedAt - releasedAt).toBeLessThanOrEqual(2000);
    expect(api.stored?.spec?.leaseTransitions).toBe(1);
    await b.elector.stop();
  });

  it("after a crash (no release), another leads only once the lease duration has passed", async () => {
    const clock = new FakeClock();
    const api = new InMemoryLeases();
    const a = candidate("a", api, clock, { leaseDurationSeconds: 3, renewDeadlineMs: 2000, retryPeriodMs: 500 });
    const b = candidate("b", api, clock, { leaseDurationSeconds: 3, renewDeadlineMs: 2000, retryPeriodMs: 500 });
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(5000);

    await a.elector.stop({ release: false });
    const crashedAt = clock.now();
    expect(api.holder).toBe("a");
    await clock.advance(2400);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(1200);
    expect(b.elector.isLeader()).toBe(true);
    const startedAt = Number(b.events[0]?.split("@")[1]);
    expect(startedAt - crashedAt).toBeGreaterThanOrEqual(2500); // lease 3 s after a's last renewal
    expect(startedAt - crashedAt).toBeLessThanOrEqual(3500);
    await b.elector.stop();
  });

  it("steps down when it cannot renew within the renew deadline, and competes again", async () => {
    const clock = new FakeClock();
    const api = new InMemoryLeases();
    const a = candidate("a", api, clock);
    a.elector.start();
    await clock.advance(5000);
    expect(a.elector.isLeader()).toBe(true);

    // Renewals happened at +0, +2 s and +4 s; from +5 s the apiserver fails.
    const lastRenewal = clock.now() - 1000;
    api.failing = true;
    await clock.advance(8999);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1);
    expect(a.elector.isLeader()).toBe(false); // 10 s (the renew deadline) after the last renewal
    expect(a.signals[0]?.aborted).toBe(true);
    expect(clock.now() - lastRenewal).toBeLessThan(15_000); // before the lease could expire for others

    api.failing = false;
    await clock.advance(5000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.signals).toHaveLength(2);
    await a.elector.stop();
  });

  it("steps down at once when it sees someone else holding the lease", async () => {
    const clock = new FakeClock();
    const api = new InMemoryLeases();
    const a = candidate("a", api, clock);
    a.elector.start();
    await clock.advance(5000);
    const stored = api.stored;
    if (!stored?.spec) throw new Error("lease missing");
    await api.replaceNamespacedLease({ body: { ...stored, spec: { ...stored.spec, holderIdentity: "intruder" } } });
    await clock.advance(2000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.elector.observedHolder).toBe("intruder");
    await a.elector.stop();
    expect(api.holder).toBe("intruder"); // never releases a lease it does not hold
  });

  it("rejects timings where a leader could outlive its lease", () => {
    const api = new InMemoryLeases();
    const base = { api, namespace: "n", name: "l" };
    expect(() => new LeaderElector({ ...base, leaseDurationSeconds: 10, renewDeadlineMs: 10_000 })).toThrow(RangeError);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 })).toThrow(RangeError);
    expect(new LeaderElector(base).identity).toMatch(/_[0-9a-f]{8}$/);
  });
});
