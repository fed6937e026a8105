import { podTemplateSecurityEvaluator } from "../../podsecurity/index.js";
import type { PolicyCheck } from "../../api/v1alpha1/index.js";
import type { CheckRunner } from "./context.js";

type PodSecuritySettings = NonNullable<PolicyCheck["podSecurity"]>;

/** Pod Security Admission on the pod template: one finding per failing PSA check. */
export function podSecurityCheck(settings: PodSecuritySettings): CheckRunner {
  const { level } = settings;
  const version = settings.version ?? "latest";
  return (context) => {
    const { template } = context;
    if (template === undefined) return [];
    const result = context.shared("podSecurity", () => podTemplateSecurityEvaluator(template))(level, version);
    return result.violations.map((violation) => ({
      rule: violation.rule,
      message: `violates PodSecurity "${level}:${version}" check ${violation.rule}: ${violation.message}`,
    }));
  };
}
