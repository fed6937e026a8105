// The short-lived answers cache in front of TokenReview/SubjectAccessReview, and the read scope.
import { describe, expect, it } from "vitest";
import { CachedAccess, ReadScope, subjectNamespace } from "../../../src/http/access.js";
import { TableAuth } from "../../fakes/memory-ports.js";

const carol = { username: "carol", groups: ["b", "a"] };

describe("CachedAccess", () => {
  it("reuses an answer within its TTL, asks again after it, and keys groups regardless of order", async () => {
    let now = 0;
    const auth = new TableAuth();
    auth.readers.set("carol", new Set(["staging"]));
    const cached = new CachedAccess(auth, { ttlMs: 1000, now: () => now });
    expect(await cached.canRead(carol, "staging")).toBe(true);
    expect(await cached.canRead({ username: "carol", groups: ["a", "b"] }, "staging")).toBe(true);
    expect(auth.reviews).toHaveLength(1);
    auth.readers.delete("carol");
    now = 999;
    expect(await cached.canRead(carol, "staging")).toBe(true);
    now = 1000;
    expect(await cached.canRead(carol, "staging")).toBe(false);
    expect(auth.reviews).toHaveLength(2);
    // A different group set is a different subject for RBAC.
    expect(await cached.canRead({ username: "carol", groups: ["a"] }, "staging")).toBe(false);
    expect(auth.reviews).toHaveLength(3);
  });

  it("never caches a failed review, and never caches approve", async () => {
    const auth = new TableAuth();
    let fail = true;
    const flaky = {
      authenticate: (token: string) => auth.authenticate(token),
      canApprove: (identity: typeof carol) => auth.canApprove(identity),
      canTrainRisk: (identity: typeof carol) => auth.canTrainRisk(identity),
      canRead: (identity: typeof carol, ns: string | null) =>
        fail ? Promise.reject(new Error("API server away")) : auth.canRead(identity, ns),
    };
    const cached = new CachedAccess(flaky);
    await expect(cached.canRead(carol, "prod")).rejects.toThrow("API server away");
    fail = false;
    auth.readers.set("carol", new Set(["prod"]));
    expect(await cached.canRead(carol, "prod")).toBe(true);
    auth.approvers.add("carol");
    expect(await cached.canApprove(carol, "prod")).toBe(true);
    auth.approvers.delete("carol");
    expect(await cached.canApprove(carol, "prod")).toBe(false);
  });

  it("bounds its entries", async () => {
    const auth = new TableAuth();
    const cached = new CachedAccess(auth, { maxEntries: 3 });
    for (const ns of ["a", "b", "c", "d"]) await cached.canRead(carol, ns);
    await cached.canRead(carol, "a");
    expect(auth.reviews.map((review) => review.namespace)).toEqual(["a", "b", "c", "d", "a"]);
  });
});

describe("ReadScope", () => {
  it("asks once whether the caller reads everything, then per namespace; cluster-scoped needs everything", async () => {
    const auth = new TableAuth();
    auth.readers.set("carol", new Set(["staging"]));
    const scope = new ReadScope(carol, auth);
    const items = [{ ns: "prod" }, { ns: "staging" }, { ns: null }, { ns: "staging" }];
    expect(await scope.filter(items, (item) => item.ns)).toEqual([{ ns: "staging" }, { ns: "staging" }]);
    expect(auth.reviews.filter((review) => review.namespace === null)).toHaveLength(1);
    auth.readers.set("alice", "all");
    expect(await new ReadScope({ username: "alice", groups: [] }, auth).filter(items, (item) => item.ns)).toEqual(
      items,
    );
  });

  it("reads the namespace of Kind/namespace/name subjects only", () => {
    expect(subjectNamespace("Deployment/prod/web")).toBe("prod");
    expect(subjectNamespace("AegisPolicy/prod-gate")).toBeNull();
    expect(subjectNamespace("ClusterRole//admin")).toBeNull();
    expect(subjectNamespace("user/mallory")).toBeNull();
  });
});
