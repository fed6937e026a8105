// Builds the self-healing Controller for one leadership term and feeds it Deployment keys from
// the workload informers (pods and ReplicaSets map to their Deployment).
import { Controller } from "../runtime/controller.js";
import type { Logger } from "../ports/logger.js";
import { reconcileSelfHealing, type SelfHealingDependencies } from "./self-healing.js";

export const SELF_HEALING_CONTROLLER = "SelfHealing";

export interface SelfHealingFeed {
  onDeploymentChange(listener: (key: string) => void): void;
  deploymentKeys(): string[];
}

export interface SelfHealingControllerOptions {
  deps: Omit<SelfHealingDependencies, "announced">;
  logger: Logger;
  workers?: number;
}

/**
 * A fresh controller (and a fresh announced-set: a new term re-announces the newest step of each
 * Deployment, which the evidence id and Event name make harmless), seeded with every Deployment.
 */
export function buildSelfHealingController(
  options: SelfHealingControllerOptions,
  feed: Pick<SelfHealingFeed, "deploymentKeys">,
): Controller {
  const deps: SelfHealingDependencies = { ...options.deps, announced: new Set() };
  const controller = new Controller({
    name: SELF_HEALING_CONTROLLER,
    workers: options.workers ?? 2,
    logger: options.logger,
    reconcile: (key) => reconcileSelfHealing(key, deps),
  });
  for (const key of feed.deploymentKeys()) controller.enqueue(key);
  return controller;
}
