// The learned model in the decision path: the initial model scores exactly as v1, a published
// model verifies only with AEGIS's key and its own weights, every replica takes the newest
// verified record, and the gate names the model in the ApprovalRequest and the evidence.
import { describe, expect, it } from "vitest";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import type { DecidedRequest, EvidenceEvent, EvidenceRecord } from "../../../src/ports/evidence.js";
import {
  initialModel,
  modelVersion,
  publishModel,
  RISK_MODEL_SUBJECT,
  scoreWithModel,
  train,
  verifyPublishedModel,
} from "../../../src/risk/learning/index.js";
import { RISK_FACTOR_POINTS, clampScore, type RiskFactorName } from "../../../src/risk/index.js";
import { SharedRiskModel } from "../../../src/wiring/risk-model.js";
import { silentLogger } from "../../../src/ports/logger.js";
import { random, syntheticHistory } from "./synthetic.js";

const NAMES = Object.keys(RISK_FACTOR_POINTS) as RiskFactorName[];

describe("scoreWithModel", () => {
  it("gives exactly the v1 score and points with the initial model, on random factor sets", () => {
    const next = random(3);
    for (let i = 0; i < 500; i += 1) {
      const factors = NAMES.filter(() => next() < 0.4).map((name) => ({
        name,
        points: RISK_FACTOR_POINTS[name],
        detail: name,
      }));
      const scored = scoreWithModel(initialModel(), factors);
      expect(scored.score).toBe(clampScore(factors.reduce((sum, f) => sum + f.points, 0)));
      expect(scored.factors).toEqual(factors);
      expect(scored.model).toBe(modelVersion(initialModel()));
    }
  });

  it("moves the score as training moves the weights, and names the new version", () => {
    const trained = train(initialModel(), syntheticHistory(2000));
    const factors = [
      { name: "mutable-tag", points: 10, detail: "x" },
      { name: "privilege-increase", points: 25, detail: "y" },
    ];
    const before = scoreWithModel(initialModel(), factors);
    const after = scoreWithModel(trained, factors);
    expect(after.model).not.toBe(before.model);
    expect(after.model).toMatch(/^v2-[0-9a-f]{12}$/);
    // The synthetic approvers reject privilege increases and ignore mutable tags.
    const points = Object.fromEntries(after.factors.map((f) => [f.name, f.points]));
    expect(points["privilege-increase"]).toBeGreaterThan(25);
    expect(points["mutable-tag"]).toBeLessThan(10);
    expect(after.probability).toBeGreaterThan(0.5);
  });
});

describe("published models", () => {
  const key = generateSigningKey();
  const model = train(initialModel(), syntheticHistory(300));

  it("verify with AEGIS's key and their own weights only", () => {
    const published = publishModel(model, key);
    expect(verifyPublishedModel(published, key.publicKey)).toEqual({ model, version: modelVersion(model) });
    const other = generateSigningKey();
    expect(verifyPublishedModel(publishModel(model, other), key.publicKey)).toEqual({
      error: "its signature does not verify with AEGIS's evidence key",
    });
    const tampered = {
      ...published,
      model: { ...published.model, weights: { ...published.model.weights, "privilege-increase": -50 } },
    };
    const tamperedResult = verifyPublishedModel(tampered, key.publicKey);
    expect("error" in tamperedResult ? tamperedResult.error : "verified").toContain("are not those of");
    const relabelled = publishModel(tampered.model, other);
    expect("error" in verifyPublishedModel({ ...relabelled, keyId: key.keyId }, key.publicKey)).toBe(true);
    const nonsense = verifyPublishedModel({ nonsense: true }, key.publicKey);
    expect("error" in nonsense ? nonsense.error : "verified").toContain("not a published model");
  });
});

/** A ledger as the shared model reads it: decided requests to learn from, records by subject. */
function ledger(decided: DecidedRequest[]) {
  const records: EvidenceRecord[] = [];
  return {
    records,
    decidedRequests: (afterSeq: number, limit: number) =>
      Promise.resolve(decided.filter((r) => r.seq > afterSeq).slice(0, limit)),
    latestForSubject: (subject: string) => Promise.resolve([...records].reverse().find((r) => r.subject === subject)),
    record: (event: EvidenceEvent) => {
      if (event.id && records.some((r) => r.id === event.id)) return Promise.resolve();
      records.push({
        seq: records.length,
        id: event.id ?? `r${records.length}`,
        time: new Date().toISOString(),
        type: event.type,
        subject: event.subject,
        actor: event.actor,
        data: event.data,
        prevHash: "",
        hash: "",
      });
      return Promise.resolve();
    },
  };
}

const decision = (seq: number, outcome: "Approved" | "Rejected", names: string[]): DecidedRequest => ({
  seq,
  subject: `ApprovalRequest/prod/r${seq}`,
  time: new Date(seq * 1000).toISOString(),
  outcome,
  riskFactors: names.map((name) => ({ name, points: 0, detail: "" })),
});

describe("SharedRiskModel", () => {
  const key = generateSigningKey();
  const history = Array.from({ length: 60 }, (_, i) =>
    i % 2 === 0 ? decision(i, "Rejected", ["host-access"]) : decision(i, "Approved", ["mutable-tag"]),
  );

  it("starts with the initial model, publishes a trained one once, and a second replica takes it", async () => {
    const store = ledger(history);
    const leader = new SharedRiskModel({
      history: store,
      evidence: store,
      signingKey: key,
      actor: "aegis",
      logger: silentLogger,
    });
    expect(leader.current().version).toBe(modelVersion(initialModel()));
    const first = await leader.train("schedule");
    expect(first.published).toBe(true);
    expect(first.learnt).toBe(60);
    expect(store.records).toHaveLength(1);
    expect(store.records[0]).toMatchObject({ type: "risk.model", subject: RISK_MODEL_SUBJECT, actor: "aegis" });
    expect(store.records[0]?.data).toMatchObject({
      modelVersion: first.model.version,
      previous: modelVersion(initialModel()),
    });
    expect((await leader.train("schedule")).published).toBe(false);
    expect(store.records).toHaveLength(1);

    const replica = new SharedRiskModel({
      history: store,
      evidence: store,
      signingKey: key,
      actor: "aegis",
      logger: silentLogger,
    });
    expect((await replica.refresh()).version).toBe(first.model.version);
  });

  it("never scores with a record it cannot verify (a forged row), and keeps the model in force", async () => {
    const store = ledger([]);
    const forger = generateSigningKey();
    const lenient = { ...initialModel(), weights: Object.fromEntries(NAMES.map((n) => [n, -5])) };
    await store.record({
      type: "risk.model",
      subject: RISK_MODEL_SUBJECT,
      actor: "db-superuser",
      data: publishModel(lenient, forger),
    });
    const replica = new SharedRiskModel({
      history: store,
      evidence: store,
      signingKey: key,
      actor: "aegis",
      logger: silentLogger,
    });
    expect((await replica.refresh()).version).toBe(modelVersion(initialModel()));
  });
});
