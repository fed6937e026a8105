// The learning risk model on a real PostgreSQL ledger: a synthetic decision history is written
// through the evidence ledger exactly as the gate and the approval reconciler write it, read
// back by readTrainingExamples, learnt from, and reported on by scripts/risk-calibration.ts.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import type { EvidenceLedger } from "../../../src/evidence/ledger.js";
import { createEvidenceLedger } from "../../../src/wiring/ledger.js";
import { createPgDatabase } from "../../../src/evidence/store/pg-database.js";
import type { SqlDatabase } from "../../../src/evidence/store/sql-database.js";
import {
  initialModel,
  learningReport,
  readTrainingExamples,
  RiskLearner,
  train,
  type LabelledExample,
} from "../../../src/risk/learning/index.js";
import { createTestDatabase, makeTempDir, requirePostgres, type TestDatabase } from "../evidence/helpers.js";
import { syntheticHistory } from "../../unit/risk-learning/synthetic.js";

const repoRoot = join(import.meta.dirname, "..", "..", "..");
const available = await requirePostgres();
const HISTORY = syntheticHistory(400, 11);

let database: TestDatabase;
let db: SqlDatabase;
let ledger: EvidenceLedger;
let dataDir: { path: string; remove: () => Promise<void> };

const hashOf = (index: number): string => `sha256:${index.toString(16).padStart(64, "0")}`;

/** What the gate records when it creates the request, then what the reconciler records on its decision. */
async function recordDecision(example: LabelledExample, index: number): Promise<void> {
  const target = { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: `app-${index % 17}` };
  const changeHash = hashOf(index);
  await ledger.record({
    type: "admission.decision",
    subject: `Deployment/prod/${target.name}`,
    actor: "dev",
    data: {
      allowed: false,
      reason: "ApprovalPending",
      changeHash,
      risk: { score: 0, factors: example.factors.map((name) => ({ name, points: 1, detail: "" })) },
      approvalRequest: `deployment-${target.name}-${index}`,
    },
  });
  await ledger.record({
    type: "approval.transition",
    subject: `ApprovalRequest/prod/deployment-${target.name}-${index}`,
    actor: "aegis",
    data: {
      from: "Pending",
      to: example.approved ? "Approved" : "Rejected",
      approvers: ["alice"],
      requiredApprovals: 1,
      changeHash,
      target,
    },
  });
}

beforeAll(async () => {
  if (!available) return;
  database = await createTestDatabase();
  dataDir = await makeTempDir("aegis-risk-");
  db = createPgDatabase({ connectionString: database.url, onIdleClientError: () => undefined });
  ledger = await createEvidenceLedger(db, generateSigningKey(), { dataDir: dataDir.path, closeDatabase: false });
  for (const [index, example] of HISTORY.entries()) await recordDecision(example, index);
  // Noise the reader must skip: an expiry, and a request still pending.
  await ledger.record({
    type: "approval.expired",
    subject: "ApprovalRequest/prod/x",
    actor: "aegis",
    data: { to: "Expired", changeHash: hashOf(9999), target: { kind: "Deployment", namespace: "prod", name: "x" } },
  });
  await ledger.waitUntilDrained(30_000);
}, 120_000);

afterAll(async () => {
  if (!available) return;
  await ledger.close();
  await db.close();
  await database.drop();
  await dataDir.remove();
});

describe.skipIf(!available)("learning from the evidence ledger", () => {
  it("reads every decided request with its risk factors, in ledger order", async () => {
    const examples = await readTrainingExamples(ledger.store);
    expect(examples).toHaveLength(HISTORY.length);
    expect(examples.map((e) => ({ factors: e.factors, approved: e.approved }))).toEqual(
      HISTORY.map((e) => ({ factors: e.factors, approved: e.approved })),
    );
    const later = await readTrainingExamples(ledger.store, { afterSeq: examples[199]?.seq ?? 0 });
    expect(later).toHaveLength(200);
  });

  it("learns what approvers reject and calibrates better than the v1 start", async () => {
    const examples = await readTrainingExamples(ledger.store);
    const model = train(initialModel(), examples);
    expect(model.weights["privilege-increase"]).toBeGreaterThan(model.weights["mutable-tag"] ?? 0);
    const report = learningReport(examples);
    expect(report.trained.brier).toBeLessThan(report.initial.brier ?? 0);
  });

  it("RiskLearner learns incrementally and explains per factor", async () => {
    const learner = new RiskLearner(ledger.store);
    expect(learner.explain(["privilege-increase"]).contributions[0]).toMatchObject({ points: 25, v1Points: 25 });
    expect(await learner.refresh()).toBe(HISTORY.length);
    expect(await learner.refresh()).toBe(0);
    expect(learner.model.trainedOn).toBe(HISTORY.length);
    expect(learner.explain(["privilege-increase"]).contributions[0]?.points).toBeGreaterThan(25);
  });

  it("scripts/risk-calibration.ts reports on the database and on a JSON file", async () => {
    const fromDb = await runScript(["--database-url", database.url, "--json"]);
    expect(fromDb.code).toBe(0);
    const report = JSON.parse(fromDb.stdout) as {
      examples: number;
      trained: { brier: number };
      initial: { brier: number };
    };
    expect(report.examples).toBe(HISTORY.length);
    expect(report.trained.brier).toBeLessThan(report.initial.brier);
    const file = join(dataDir.path, "history.json");
    await writeFile(file, JSON.stringify({ examples: HISTORY }));
    const fromFile = await runScript(["--examples", file]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toMatch(/trained model: Brier 0\.\d{4}/);
    expect(fromFile.stdout).toMatch(/privilege-increase/);
    expect((await runScript([])).code).toBe(2);
  });
});

function runScript(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs"),
        join(repoRoot, "scripts", "risk-calibration.ts"),
        ...args,
      ],
      { cwd: repoRoot },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
