import { describe, expect, it } from "vitest";
import type { AdmittedChangeQuery, ApprovedChangeReader } from "../../../src/ports/evidence.js";
import { anyApprovals, APPROVED_DECISION_REASONS, evidenceApprovals } from "../../../src/selfhealing/index.js";

function recordingReader(answer: readonly string[]): ApprovedChangeReader & { queries: AdmittedChangeQuery[] } {
  const queries: AdmittedChangeQuery[] = [];
  return {
    queries,
    admittedChangeHashes: (query) => {
      queries.push(query);
      return Promise.resolve(new Set(answer.filter((hash) => query.changeHashes.includes(hash))));
    },
  };
}

const target = { kind: "Deployment", namespace: "prod", name: "web" };

describe("evidenceApprovals", () => {
  it("asks the ledger about the workload's subject with the approved reasons", async () => {
    const reader = recordingReader(["sha256:a"]);
    const approved = await evidenceApprovals(reader).approvedAmong(target, ["sha256:a", "sha256:b"]);
    expect(approved).toEqual(new Set(["sha256:a"]));
    expect(reader.queries).toEqual([
      { subject: "Deployment/prod/web", changeHashes: ["sha256:a", "sha256:b"], reasons: APPROVED_DECISION_REASONS },
    ]);
  });

  it("does not ask when there is nothing to look for", async () => {
    const reader = recordingReader(["sha256:a"]);
    expect(await evidenceApprovals(reader).approvedAmong(target, [])).toEqual(new Set());
    expect(reader.queries).toEqual([]);
  });

  it("counts a failing ledger as knowing nothing inside anyApprovals", async () => {
    const failing: ApprovedChangeReader = { admittedChangeHashes: () => Promise.reject(new Error("down")) };
    const errors: unknown[] = [];
    const sources = [evidenceApprovals(failing), evidenceApprovals(recordingReader(["sha256:b"]))];
    const approved = await anyApprovals(sources, (err) => errors.push(err)).approvedAmong(target, ["sha256:b"]);
    expect(approved).toEqual(new Set(["sha256:b"]));
    expect(errors).toHaveLength(1);
  });
});
