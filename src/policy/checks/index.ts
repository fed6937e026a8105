import { CHECK_FIELDS, type CheckField, type PolicyCheck } from "../../api/v1alpha1/index.js";
import { celCheck } from "./cel.js";
import type { CheckRunner } from "./context.js";
import { allowedRegistriesCheck, disallowLatestTagCheck, requireImageDigestCheck } from "./images.js";
import { podSecurityCheck } from "./pod-security.js";
import { requiredLabelsCheck } from "./required-labels.js";
import { requireResourcesCheck } from "./resources.js";

export { createCheckContext, type CheckContext, type CheckRunner, type CelBindings } from "./context.js";

export interface CompiledCheck {
  /** The check's `name` in the policy; violations name it. */
  readonly name: string;
  readonly field: CheckField;
  readonly run: CheckRunner;
}

const NO_FINDINGS: CheckRunner = () => [];

/** Checks that read only the pod template: they apply to any object that makes pods. */
export const POD_TEMPLATE_CHECKS: ReadonlySet<CheckField> = new Set<CheckField>([
  "podSecurity",
  "allowedRegistries",
  "requireImageDigest",
  "disallowLatestTag",
  "requireResources",
]);

/** The check fields an entry sets; a valid entry has exactly one. */
export function checkFieldsOf(check: PolicyCheck): CheckField[] {
  return CHECK_FIELDS.filter((field) => check[field] !== undefined);
}

/**
 * Builds the runner for one check entry. `requireImageDigest: false` and `disallowLatestTag: false`
 * switch the check off. Throws what compiling the entry throws (a CEL compile error).
 */
export function runnerFor(check: PolicyCheck, field: CheckField): CheckRunner {
  switch (field) {
    case "podSecurity":
      return check.podSecurity === undefined ? NO_FINDINGS : podSecurityCheck(check.podSecurity);
    case "allowedRegistries":
      return allowedRegistriesCheck(check.allowedRegistries ?? []);
    case "requireImageDigest":
      return check.requireImageDigest === true ? requireImageDigestCheck() : NO_FINDINGS;
    case "disallowLatestTag":
      return check.disallowLatestTag === true ? disallowLatestTagCheck() : NO_FINDINGS;
    case "requireResources":
      return requireResourcesCheck(check.requireResources ?? {});
    case "requiredLabels":
      return requiredLabelsCheck(check.requiredLabels ?? []);
    case "cel":
      return celCheck(check.cel ?? "", check.message === "" ? undefined : check.message);
  }
}
