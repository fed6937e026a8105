import { describe, expect, it } from "vitest";
import { evidenceReady, REJECTION_UNREADY_MS } from "../../../src/evidence/readiness.js";

const now = new Date("2026-11-26T12:00:00Z");
const ago = (ms: number): Date => new Date(now.getTime() - ms);

describe("evidence readiness", () => {
  it("is ready while the ledger accepts records and has rejected none", () => {
    expect(evidenceReady({ accepting: true, lastRejectedAt: undefined }, now)).toBe(true);
  });

  it("is not ready while the ledger is closing", () => {
    expect(evidenceReady({ accepting: false, lastRejectedAt: undefined }, now)).toBe(false);
  });

  it("is not ready for REJECTION_UNREADY_MS after failClosed rejected a record, then ready again", () => {
    expect(evidenceReady({ accepting: true, lastRejectedAt: ago(0) }, now)).toBe(false);
    expect(evidenceReady({ accepting: true, lastRejectedAt: ago(REJECTION_UNREADY_MS - 1) }, now)).toBe(false);
    expect(evidenceReady({ accepting: true, lastRejectedAt: ago(REJECTION_UNREADY_MS) }, now)).toBe(true);
  });

  it("outlasts the chart's readiness probe (period 10 s, failure threshold 3)", () => {
    expect(REJECTION_UNREADY_MS).toBeGreaterThanOrEqual(10_000 * 3);
  });
});
