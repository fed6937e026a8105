import { describe, expect, it } from "vitest";
import type { DecidedRequest, DecisionHistoryReader } from "../../../src/ports/evidence.js";
import { readTrainingExamples, RiskLearner } from "../../../src/risk/learning/index.js";

function history(requests: readonly DecidedRequest[]): DecisionHistoryReader & { calls: [number, number][] } {
  const calls: [number, number][] = [];
  return {
    calls,
    decidedRequests: (afterSeq, limit) => {
      calls.push([afterSeq, limit]);
      return Promise.resolve(requests.filter((r) => r.seq > afterSeq).slice(0, limit));
    },
  };
}

const decided = (seq: number, outcome: DecidedRequest["outcome"], riskFactors: unknown): DecidedRequest => ({
  seq,
  subject: `ApprovalRequest/prod/r-${seq}`,
  time: `2025-01-01T00:00:0${seq}.000Z`,
  outcome,
  riskFactors,
});

describe("readTrainingExamples", () => {
  it("labels each decided request with its factors' names", async () => {
    const ledger = history([
      decided(1, "Approved", [{ name: "mutable-tag", points: 10 }, { points: 5 }, "loose"]),
      decided(4, "Rejected", { not: "a list" }),
    ]);
    expect(await readTrainingExamples(ledger)).toEqual([
      {
        seq: 1,
        id: "ApprovalRequest/prod/r-1",
        at: "2025-01-01T00:00:01.000Z",
        approved: true,
        factors: ["mutable-tag"],
      },
      { seq: 4, id: "ApprovalRequest/prod/r-4", at: "2025-01-01T00:00:04.000Z", approved: false, factors: [] },
    ]);
    expect(ledger.calls).toEqual([[-1, 100_000]]);
    await readTrainingExamples(ledger, { afterSeq: 1, limit: 5 });
    expect(ledger.calls.at(-1)).toEqual([1, 5]);
  });

  it("RiskLearner reads only what is new since its last refresh", async () => {
    const ledger = history([decided(1, "Rejected", [{ name: "privilege-increase" }])]);
    const learner = new RiskLearner(ledger);
    expect(await learner.refresh()).toBe(1);
    expect(await learner.refresh()).toBe(0);
    expect(ledger.calls.map(([afterSeq]) => afterSeq)).toEqual([-1, 1]);
  });
});
