/** Pod Security Standards evaluator that agrees with upstream Pod Security Admission. Pure: no I/O. */
export type { CheckId as PodSecurityRule } from "./check.js";
export {
  evaluatePodSecurity,
  evaluatePodTemplateSecurity,
  podTemplateSecurityEvaluator,
  podSecurityChecksInEffect,
  type PodSecurityCheckInfo,
} from "./evaluate.js";
export type * from "./types.js";
export { LATEST_POD_SECURITY_VERSION, parsePodSecurityVersion, type PodSecurityVersion } from "./version.js";
