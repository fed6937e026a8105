// LeaderElector against a real kube-apiserver's coordination.k8s.io/v1 Lease: one leader among
// two candidates, fast hand-over on release, and take-over after the lease expires on a crash.
import { randomBytes } from "node:crypto";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaderElector } from "../../src/runtime/index.js";
import { eventually, kubeConfig, kubectl } from "../helpers/kube.js";

/** An `eventually` check that passes once `condition` holds. */
function until(condition: () => boolean): () => Promise<true | undefined> {
  return () => Promise.resolve(condition() ? true : undefined);
}

const ns = `aegis-e2e-lease-${randomBytes(3).toString("hex")}`;
const leaseName = "aegis-controller";

// A short lease keeps the crash case quick: 3 s lease, 2 s renew deadline, 0.5 s retries.
const timings = { leaseDurationSeconds: 3, renewDeadlineMs: 2000, retryPeriodMs: 500 };

function candidate(identity: string, leading: Set<string>): LeaderElector {
  return new LeaderElector({
    api: kubeConfig().makeApiClient(CoordinationV1Api),
    namespace: ns,
    name: leaseName,
    identity,
    ...timings,
    onStartedLeading: () => {
      leading.add(identity);
    },
    onStoppedLeading: () => {
      leading.delete(identity);
    },
  });
}

/** Samples leadership every 25 ms and records any moment with more than one leader. */
function watchForSplitBrain(electors: LeaderElector[]): { stop: () => number } {
  let overlaps = 0;
  const timer = setInterval(() => {
    if (electors.filter((e) => e.isLeader()).length > 1) overlaps += 1;
  }, 25);
  return {
    stop: () => {
      clearInterval(timer);
      return overlaps;
    },
  };
}

async function currentLeader(electors: LeaderElector[]): Promise<LeaderElector | undefined> {
  const leaders = electors.filter((e) => e.isLeader());
  return Promise.resolve(leaders.length === 1 ? leaders[0] : undefined);
}

describe("LeaderElector against a real apiserver", () => {
  const coordination = kubeConfig().makeApiClient(CoordinationV1Api);

  beforeAll(async () => {
    await kubectl(["create", "namespace", ns]);
  });

  afterAll(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false", "--ignore-not-found"], { allowFail: true });
  });

  it("elects exactly one leader, hands over on release, and takes over after a crash", async () => {
    const leading = new Set<string>();
    const a = candidate("replica-a", leading);
    const b = candidate("replica-b", leading);
    const split = watchForSplitBrain([a, b]);
    a.start();
    b.start();
    try {
      const first = await eventually(() => currentLeader([a, b]), "a leader", { timeoutMs: 15_000, intervalMs: 50 });
      const second = first === a ? b : a;
      // Stay a while: the follower must keep losing while the leader renews.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(first.isLeader()).toBe(true);
      expect(second.isLeader()).toBe(false);
      const lease = await coordination.readNamespacedLease({ name: leaseName, namespace: ns });
      expect(lease.spec?.holderIdentity).toBe(first.identity);
      expect(lease.spec?.leaseDurationSeconds).toBe(3);

      // Graceful stop releases the lease: the other takes over on its next retry, not after 3 s.
      const releasedAt = Date.now();
      await first.stop();
      const released = await coordination.readNamespacedLease({ name: leaseName, namespace: ns });
      expect(released.spec?.holderIdentity ?? "").not.toBe(first.identity);
      await eventually(
        until(() => second.isLeader()),
        "the other replica to lead",
        {
          timeoutMs: 5000,
          intervalMs: 25,
        },
      );
      expect(Date.now() - releasedAt).toBeLessThan(2000);
      expect([...leading]).toEqual([second.identity]);

      // A new candidate joins; then the leader crashes without releasing (its timers just stop).
      const c = candidate("replica-c", leading);
      const splitWithC = watchForSplitBrain([second, c]);
      c.start();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(c.isLeader()).toBe(false);
      const crashedAt = Date.now();
      await second.stop({ release: false });
      const stillHeld = await coordination.readNamespacedLease({ name: leaseName, namespace: ns });
      expect(stillHeld.spec?.holderIdentity).toBe(second.identity);
      await eventually(
        until(() => c.isLeader()),
        "the new candidate to lead",
        {
          timeoutMs: 10_000,
          intervalMs: 25,
        },
      );
      const tookOverAfter = Date.now() - crashedAt;
      expect(tookOverAfter).toBeGreaterThanOrEqual(2000); // it had to wait out the 3 s lease
      expect(tookOverAfter).toBeLessThan(6000);
      const taken = await coordination.readNamespacedLease({ name: leaseName, namespace: ns });
      expect(taken.spec?.holderIdentity).toBe(c.identity);
      expect(taken.spec?.leaseTransitions).toBeGreaterThanOrEqual(2);

      await c.stop();
      expect(splitWithC.stop()).toBe(0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      expect(split.stop()).toBe(0);
    }
  });

  it("creates the Lease when it is missing", async () => {
    const name = `fresh-${randomBytes(3).toString("hex")}`;
    const elector = new LeaderElector({
      api: coordination,
      namespace: ns,
      name,
      ...timings,
    });
    elector.start();
    try {
      await eventually(
        until(() => elector.isLeader()),
        "leadership of a new Lease",
        { timeoutMs: 10_000 },
      );
      const lease = await coordination.readNamespacedLease({ name, namespace: ns });
      expect(lease.spec?.holderIdentity).toBe(elector.identity);
      expect(lease.spec?.leaseTransitions).toBe(0);
    } finally {
      await elector.stop();
    }
    const released = await coordination.readNamespacedLease({ name, namespace: ns });
    expect(released.spec?.holderIdentity ?? "").toBe("");
  });
});
