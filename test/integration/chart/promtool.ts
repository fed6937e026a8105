// Runs promtool (built from tools/promtool by scripts/promtool.sh) for the chart's monitoring test,
// and reads the metric names a PromQL expression selects.
import path from "node:path";
import { runCommand } from "../../helpers/run-command.js";
import { repoRoot, type HelmResult } from "./helm.js";

/** A cold build compiles Prometheus's rules engine and every service discovery: many minutes on two cores. */
export const PROMTOOL_BUILD_TIMEOUT_MS = 30 * 60_000;

/** `promtool ARGS` through scripts/promtool.sh; never throws on a non-zero exit. */
export function promtool(args: string[], cwd = repoRoot): Promise<HelmResult> {
  return runCommand("bash", [path.join(repoRoot, "scripts", "promtool.sh"), ...args], { cwd });
}

/** Builds promtool once (cached); throws with the build's output when it fails, in CI as anywhere. */
export async function buildPromtool(): Promise<string> {
  const result = await promtool(["--build-only"]);
  if (result.code !== 0)
    throw new Error(`scripts/promtool.sh --build-only failed (exit ${result.code}):\n${result.stderr}`);
  return result.stdout.trim().split("\n").at(-1) ?? "";
}

/** Grafana's interval variables, replaced by a duration so the expression is plain PromQL. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, "5m").replace(/\$\{?(\w+)\}?/g, "$1");
}

/** Words that are PromQL keywords rather than metric names when not called like a function. */
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "atan2",
  "inf",
  "nan",
  "start",
  "end",
]);

/**
 * The metric names an expression selects: every identifier left once strings, label matchers,
 * ranges and grouping label lists are removed, other than a function or aggregation (followed by
 * `(`, or by its `by`/`without`) and keywords. `foo{a="b"}` and `{__name__="foo"}` alike (the latter by its matcher).
 */
export function metricNames(expr: string): Set<string> {
  const names = new Set<string>();
  for (const match of expr.matchAll(/__name__\s*=\s*"([^"]+)"/g)) names.add(match[1] ?? "");
  const stripped = withoutGrafanaVariables(expr)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, "{}")
    .replace(/\[[^\]]*\]/g, "[]")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "$1");
  for (const match of stripped.matchAll(/(?<![\w.:$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = match[0];
    const after = stripped.slice((match.index ?? 0) + word.length).trimStart();
    // A call, or an aggregation whose grouping comes first: `sum by (pod) (…)`.
    if (after.startsWith("(") || /^(by|without)\b/.test(after) || KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return names;
}
