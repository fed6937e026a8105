// Calibration of the learning risk model (src/risk/learning) on a decision history:
//   tsx scripts/risk-calibration.ts --database-url postgres://…   (the evidence ledger)
//   tsx scripts/risk-calibration.ts --examples history.json        ([{factors, approved}] or {examples: […]})
// Prints Brier score, log loss, expected calibration error and reliability bins for the
// v1-initialised model and the trained one on the held-out later 30 %, then the learnt weights
// beside v1's points. `--json` prints the whole report as one JSON object instead.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { EvidenceStore } from "../src/evidence/store/evidence-store.js";
import { createPgDatabase } from "../src/evidence/store/pg-database.js";
import {
  learningReport,
  readTrainingExamples,
  type CalibrationReport,
  type LabelledExample,
  type LearningReport,
} from "../src/risk/learning/index.js";

const USAGE =
  "usage: risk-calibration (--database-url URL | --examples FILE.json) [--bins N] [--test-fraction F] [--json]";

function factorNames(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown) => {
    const name =
      typeof item === "string"
        ? item
        : typeof item === "object" && item !== null
          ? (item as { name?: unknown }).name
          : undefined;
    return typeof name === "string" ? [name] : [];
  });
}

/** One example from a JSON entry: `approved: boolean` or `outcome: "Approved" | "Rejected"`. */
function exampleOf(entry: unknown, index: number): LabelledExample {
  const record = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
  const approved =
    typeof record["approved"] === "boolean"
      ? record["approved"]
      : record["outcome"] === "Approved"
        ? true
        : record["outcome"] === "Rejected"
          ? false
          : undefined;
  if (approved === undefined)
    throw new Error(`example ${index}: needs "approved": true|false or "outcome": "Approved"|"Rejected"`);
  const risk = record["risk"] as { factors?: unknown } | undefined;
  return {
    id: typeof record["id"] === "string" ? record["id"] : String(index),
    approved,
    factors: factorNames(record["factors"] ?? risk?.factors),
  };
}

async function examplesFromFile(file: string): Promise<LabelledExample[]> {
  const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
  const list: unknown = Array.isArray(parsed) ? parsed : (parsed as { examples?: unknown }).examples;
  if (!Array.isArray(list)) throw new Error(`${file}: expected an array of examples or {"examples": [...]}`);
  return list.map(exampleOf);
}

async function examplesFromDatabase(url: string): Promise<LabelledExample[]> {
  const db = createPgDatabase({ connectionString: url, onIdleClientError: () => undefined });
  try {
    return await readTrainingExamples(new EvidenceStore(db));
  } finally {
    await db.close();
  }
}

const fmt = (value: number | null, digits = 4): string => (value === null ? "-" : value.toFixed(digits));

function describeCalibration(title: string, report: CalibrationReport): string[] {
  const lines = [
    `${title}: Brier ${fmt(report.brier)}  log loss ${fmt(report.logLoss)}  ECE ${fmt(report.expectedCalibrationError)}`,
  ];
  for (const bin of report.bins.filter((b) => b.count > 0)) {
    lines.push(
      `  [${bin.lower.toFixed(1)}, ${bin.upper.toFixed(1)})  n=${String(bin.count).padStart(5)}  predicted ${fmt(bin.meanPredicted, 3)}  observed ${fmt(bin.observedRate, 3)}`,
    );
  }
  return lines;
}

function describe(report: LearningReport): string {
  const weights = report.weights.map(
    (w) => `  ${w.name.padEnd(24)} ${w.points.toFixed(1).padStart(6)} points (v1 ${w.v1Points})`,
  );
  return [
    `examples: ${report.examples} (train ${report.train}, held-out ${report.test}); rejected rate ${fmt(report.initial.rejectedRate, 3)}`,
    ...describeCalibration("v1-initialised model", report.initial),
    ...describeCalibration("trained model", report.trained),
    "learnt weights (trained on all examples):",
    ...weights,
  ].join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      "database-url": { type: "string" },
      examples: { type: "string" },
      bins: { type: "string", default: "10" },
      "test-fraction": { type: "string", default: "0.3" },
      json: { type: "boolean", default: false },
    },
  });
  const url = values["database-url"];
  if ((url === undefined) === (values.examples === undefined)) {
    console.error(USAGE);
    return 2;
  }
  const examples = url !== undefined ? await examplesFromDatabase(url) : await examplesFromFile(values.examples ?? "");
  const report = learningReport(examples, { bins: Number(values.bins), testFraction: Number(values["test-fraction"]) });
  console.log(values.json ? JSON.stringify(report) : describe(report));
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`risk-calibration: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
