// Policy evaluation as the policy set grows: evaluate() of the bench's Deployment UPDATE with 10,
// 100 and 1 000 AegisPolicies (the four that match the bench namespace, the rest other teams'),
// in interleaved rounds in this process. The index files each policy under the namespaces and
// namespace labels its match requires, so the other teams' policies should cost next to nothing.
import { compilePolicy, evaluate, type CompiledPolicy, type GateRequest } from "../src/policy/index.js";
import {
  BENCH_DEPLOYMENT,
  BENCH_NAMESPACE,
  checkoutDeployment,
  namespaceLabels,
  NEW_IMAGE,
  OLD_IMAGE,
  REQUESTER,
  REQUESTER_GROUPS,
  scaledPolicies,
} from "./lib/fixtures.js";
import { round } from "./lib/load.js";

export const POLICY_COUNTS = [10, 100, 1000] as const;

export interface PolicyScalingResult {
  /** Microseconds per evaluate() call, by number of policies. */
  microsPerEvaluation: Record<string, number>;
  /** Policies that matched the request (the same at every size). */
  matched: Record<string, number>;
  /** microsPerEvaluation at 1 000 policies over that at 10. */
  ratio1000To10: number;
}

function benchRequest(): GateRequest {
  return {
    operation: "UPDATE",
    kind: "Deployment",
    apiVersion: "apps/v1",
    namespace: BENCH_NAMESPACE,
    name: BENCH_DEPLOYMENT,
    object: checkoutDeployment({ image: NEW_IMAGE, generation: 42 }),
    oldObject: checkoutDeployment({ image: OLD_IMAGE }),
    user: { username: REQUESTER, groups: REQUESTER_GROUPS },
    namespaceLabels: namespaceLabels(BENCH_NAMESPACE),
  };
}

/** Evaluations for about `ms`; returns microseconds per evaluation. */
function timeEvaluations(policies: readonly CompiledPolicy[], request: GateRequest, ms: number): number {
  let calls = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 50; i++) evaluate(policies, request);
    calls += 50;
    elapsed = performance.now() - started;
  }
  return (elapsed * 1000) / calls;
}

export function benchPolicyScaling(options: { rounds?: number; msPerRound?: number } = {}): PolicyScalingResult {
  const rounds = options.rounds ?? 5;
  const msPerRound = options.msPerRound ?? 400;
  const request = benchRequest();
  const sets = POLICY_COUNTS.map((count) => ({ count, policies: scaledPolicies(count).map(compilePolicy) }));
  const totals = new Map<number, number>();
  for (const { policies } of sets) timeEvaluations(policies, request, 200);
  for (let roundIndex = 0; roundIndex < rounds; roundIndex++) {
    for (const { count, policies } of sets)
      totals.set(count, (totals.get(count) ?? 0) + timeEvaluations(policies, request, msPerRound));
  }
  const micros = (count: number): number => round((totals.get(count) ?? 0) / rounds, 2);
  return {
    microsPerEvaluation: Object.fromEntries(sets.map(({ count }) => [String(count), micros(count)])),
    matched: Object.fromEntries(
      sets.map(({ count, policies }) => [String(count), evaluate(policies, request).matched.length]),
    ),
    ratio1000To10: round(micros(1000) / micros(10), 2),
  };
}
