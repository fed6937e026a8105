export * from "./factors.js";
export * from "./score.js";
export * from "./summary.js";
export { privilegeSignals, hostAccessSignals, workloadView, type WorkloadView } from "./workload.js";
