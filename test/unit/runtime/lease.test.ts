import { V1MicroTime, type V1Lease } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isHeldByOther,
  leaseSpecFor,
  nextRecord,
  observeLease,
  readLeaseRecord,
  releasedRecord,
  shouldAcquire,
  timestampMs,
  type LeaseRecord,
} from "../../../src/runtime/lease.js";

const t0 = 1_700_000_000_000;
const heldByB: LeaseRecord = {
  holderIdentity: "b",
  leaseDurationSeconds: 15,
  acquireTimeMs: t0 - 60_000,
  renewTimeMs: t0,
  leaseTransitions: 3,
};

describe("reading and writing Lease specs", () => {
  it("parses MicroTime strings (as client-node returns them) and Dates", () => {
    expect(timestampMs("2024-05-01T10:00:00.123456Z")).toBe(Date.parse("2024-05-01T10:00:00.123Z"));
    expect(timestampMs(new Date(t0))).toBe(t0);
    expect(timestampMs("not a time")).toBeUndefined();
    expect(timestampMs(undefined)).toBeUndefined();
  });

  it("reads an empty lease as free, with the default duration", () => {
    expect(readLeaseRecord({ metadata: { name: "l" } }, 15)).toEqual({
      holderIdentity: "",
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
    });
  });

  it("round-trips a record through the spec and JSON, in microsecond format", () => {
    const spec = leaseSpecFor(heldByB);
    expect(spec.renewTime).toBeInstanceOf(V1MicroTime);
    // On the wire (and as client-node hands it back) a MicroTime is a string.
    const wire = JSON.parse(JSON.stringify({ spec })) as V1Lease;
    expect(String(wire.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
    expect(readLeaseRecord(wire, 99)).toEqual(heldByB);
  });
});

describe("observeLease", () => {
  it("keeps the first-seen time while the record does not change", () => {
    const first = observeLease(undefined, heldByB, t0);
    const again = observeLease(first, { ...heldByB }, t0 + 5000);
    expect(again.observedAtMs).toBe(t0);
  });

  it("restarts the clock when the holder renews", () => {
    const first = observeLease(undefined, heldByB, t0);
    const renewed = observeLease(first, { ...heldByB, renewTimeMs: t0 + 2000 }, t0 + 2500);
    expect(renewed.observedAtMs).toBe(t0 + 2500);
  });
});

describe("shouldAcquire", () => {
  const seen = observeLease(undefined, heldByB, t0);

  it("refuses while another holder's lease is within its duration of our observation", () => {
    expect(shouldAcquire(seen, t0 + 14_999, "a")).toBe(false);
    expect(isHeldByOther(seen, t0 + 14_999, "a")).toBe(true);
  });

  it("allows once the lease expired by our own clock, whatever renewTime says", () => {
    expect(shouldAcquire(seen, t0 + 15_000, "a")).toBe(true);
    const skewed = observeLease(undefined, { ...heldByB, renewTimeMs: t0 - 3_600_000 }, t0);
    expect(shouldAcquire(skewed, t0 + 1000, "a")).toBe(false);
  });

  it("allows the holder itself and anyone when the lease is free", () => {
    expect(shouldAcquire(seen, t0, "b")).toBe(true);
    const free = observeLease(undefined, { ...heldByB, holderIdentity: "" }, t0);
    expect(shouldAcquire(free, t0, "a")).toBe(true);
  });

  it("never lets two different candidates both acquire a valid, held lease", () => {
    fc.assert(
      fc.property(fc.nat({ max: 30_000 }), fc.constantFrom("a", "c"), (elapsed, candidate) => {
        const allowed = shouldAcquire(seen, t0 + elapsed, candidate);
        expect(allowed).toBe(elapsed >= 15_000);
      }),
    );
  });
});

describe("nextRecord and releasedRecord", () => {
  it("renewing keeps acquireTime and transitions", () => {
    const renewed = nextRecord(heldByB, "b", t0 + 2000, 15);
    expect(renewed).toEqual({ ...heldByB, renewTimeMs: t0 + 2000 });
  });

  it("taking over counts a transition and restarts acquireTime", () => {
    expect(nextRecord(heldByB, "a", t0 + 20_000, 10)).toEqual({
      holderIdentity: "a",
      leaseDurationSeconds: 10,
      acquireTimeMs: t0 + 20_000,
      renewTimeMs: t0 + 20_000,
      leaseTransitions: 4,
    });
  });

  it("creating a lease starts at zero transitions", () => {
    expect(nextRecord(undefined, "a", t0, 15).leaseTransitions).toBe(0);
  });

  it("a released lease has no holder and can be taken at once", () => {
    const released = releasedRecord(heldByB, t0);
    expect(released).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1, leaseTransitions: 3 });
    expect(shouldAcquire(observeLease(undefined, released, t0), t0, "a")).toBe(true);
  });
});
