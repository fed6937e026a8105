// The read ports EvidenceStore implements for self-healing and the learning risk model, on both
// storage backends: the SQL of src/evidence/store/queries.ts against real ledger rows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvidenceLedger } from "../../../src/evidence/ledger.js";
import { EvidenceStore } from "../../../src/evidence/store/evidence-store.js";
import type { EvidenceEvent } from "../../../src/ports/evidence.js";
import type { BackendUnderTest } from "./helpers.js";
import { makeTempDir, openBackend, requirePostgres } from "./helpers.js";

const postgresUp = await requirePostgres();
const backends = postgresUp ? (["postgres", "pglite"] as const) : (["pglite"] as const);
const hash = (digit: string): string => `sha256:${digit.repeat(64)}`;
const target = { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: "web" };

function admission(
  changeHash: string,
  allowed: boolean,
  reason: string,
  subject = "Deployment/prod/web",
): EvidenceEvent {
  const risk = { score: 10, factors: [{ name: "mutable-tag", points: 10, detail: "" }] };
  return { type: "admission.decision", subject, actor: "dev", data: { allowed, reason, changeHash, risk } };
}

function transition(changeHash: string, to: string, request: string): EvidenceEvent {
  return {
    type: "approval.transition",
    subject: `ApprovalRequest/prod/${request}`,
    actor: "system:aegis",
    data: { from: "Pending", to, changeHash, target },
  };
}

describe.each(backends)("evidence store read ports on %s", (backendName) => {
  let backend: BackendUnderTest;
  let ledger: EvidenceLedger;
  let store: EvidenceStore;
  let removeDir: () => Promise<void>;

  beforeAll(async () => {
    backend = await openBackend(backendName);
    const dir = await makeTempDir();
    removeDir = dir.remove;
    ledger = await backend.openLedger(dir.path);
    for (const event of [
      admission(hash("1"), false, "ApprovalPending"),
      transition(hash("1"), "Approved", "web-1"),
      admission(hash("1"), true, "Approved"),
      admission(hash("2"), true, "NoPolicyMatched"),
      admission(hash("3"), false, "Approved"),
      admission(hash("4"), true, "Approved", "Deployment/prod/other"),
      admission(hash("5"), false, "ApprovalPending"),
      transition(hash("5"), "Rejected", "web-5"),
      transition(hash("6"), "Approved", "web-6"), // no admission.decision with risk: skipped
      transition(hash("1"), "Expired", "web-1"),
    ])
      await ledger.record(event);
    await ledger.waitUntilDrained(30_000);
    store = new EvidenceStore(backend.db);
  });
  afterAll(async () => {
    await ledger.close();
    await backend.close();
    await removeDir();
  });

  it("admittedChangeHashes: allowed admission decisions for the subject with a listed reason", async () => {
    const changeHashes = ["1", "2", "3", "4", "9"].map(hash);
    const query = { subject: "Deployment/prod/web", changeHashes, reasons: ["Approved"] };
    expect(await store.admittedChangeHashes(query)).toEqual(new Set([hash("1")]));
    expect(await store.admittedChangeHashes({ ...query, reasons: ["Approved", "NoPolicyMatched"] })).toEqual(
      new Set([hash("1"), hash("2")]),
    );
    expect(await store.admittedChangeHashes({ ...query, changeHashes: [] })).toEqual(new Set());
  });

  it("decidedRequests: transitions to Approved or Rejected with the creating decision's risk factors", async () => {
    const decided = await store.decidedRequests(-1, 100);
    expect(decided.map(({ subject, outcome, riskFactors }) => ({ subject, outcome, riskFactors }))).toEqual([
      {
        subject: "ApprovalRequest/prod/web-1",
        outcome: "Approved",
        riskFactors: [{ name: "mutable-tag", points: 10, detail: "" }],
      },
      {
        subject: "ApprovalRequest/prod/web-5",
        outcome: "Rejected",
        riskFactors: [{ name: "mutable-tag", points: 10, detail: "" }],
      },
    ]);
    expect(decided.map((request) => request.seq)).toEqual([1, 7]);
    expect(await store.decidedRequests(1, 100)).toHaveLength(1);
    expect(await store.decidedRequests(-1, 1)).toHaveLength(1);
  });
});
