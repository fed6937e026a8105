/**
 * Conformance with upstream Pod Security Admission: every fixture file, at its level and version,
 * must get upstream's verdict, and every `fail` fixture must be denied by the rule its name
 * stands for (or by the restricted rule that replaces that rule at that version).
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  evaluatePodSecurity,
  LATEST_POD_SECURITY_VERSION,
  podSecurityChecksInEffect,
  type PodSecurityRule,
} from "../../../src/podsecurity/index.js";
import { FIXTURES_ROOT, listFixtures, loadPod, minorOf, versionDirectories, type Fixture } from "./psa-fixtures.js";

/** File-name stem → the upstream check it exercises; `null` for the stems of Pods that pass everything. */
const STEM_RULES: Readonly<Record<string, PodSecurityRule | null>> = {
  base: null,
  base_linux: null,
  base_windows: null,
  allowprivilegeescalation: "allowPrivilegeEscalation",
  apparmorprofile: "appArmorProfile",
  capabilities_baseline: "capabilities_baseline",
  capabilities_restricted: "capabilities_restricted",
  hostnamespaces: "hostNamespaces",
  hostpathvolumes: "hostPathVolumes",
  hostports: "hostPorts",
  hostprobesandhostlifecycle: "hostProbesAndHostLifecycle",
  privileged: "privileged",
  procmount: "procMount",
  procmount_restricted: "procMount_restricted",
  restrictedvolumes: "restrictedVolumes",
  runasnonroot: "runAsNonRoot",
  runasuser: "runAsUser",
  seccompprofile_baseline: "seccompProfile_baseline",
  seccompprofile_restricted: "seccompProfile_restricted",
  selinuxoptions: "seLinuxOptions",
  sysctls: "sysctls",
  windowshostprocess: "windowsHostProcess",
};

const fixtures = listFixtures();

/** The stem's rule, plus any restricted rule that replaces it at the fixture's level and version. */
function acceptedRules(rule: PodSecurityRule, fixture: Fixture, version: string): string[] {
  const replacements = podSecurityChecksInEffect(fixture.level, version)
    .filter((check) => check.overrides.includes(rule))
    .map((check) => check.rule);
  return [rule, ...replacements];
}

/** What is wrong with the evaluator's answer for a fixture, or `undefined` when it agrees with upstream. */
function disagreement(fixture: Fixture, version = fixture.version): string | undefined {
  const result = evaluatePodSecurity(loadPod(fixture), fixture.level, version);
  const messages = result.violations.map((violation) => `${violation.rule}: ${violation.message}`).join(" | ");
  if (fixture.expectation === "pass") {
    return result.allowed ? undefined : `${fixture.id}: upstream allows, evaluator denies (${messages})`;
  }
  if (result.allowed) return `${fixture.id}: upstream denies, evaluator allows`;
  const rule = STEM_RULES[fixture.stem];
  if (rule === undefined || rule === null) return `${fixture.id}: no rule mapped for stem "${fixture.stem}"`;
  const accepted = acceptedRules(rule, fixture, version);
  if (result.violations.some((violation) => accepted.includes(violation.rule))) return undefined;
  return `${fixture.id}: denied, but not by ${accepted.join(" or ")} (${messages})`;
}

function groupByLevelAndVersion(all: readonly Fixture[]): [string, Fixture[]][] {
  const groups = new Map<string, Fixture[]>();
  for (const fixture of all) {
    const key = `${fixture.level} ${fixture.version}`;
    groups.set(key, [...(groups.get(key) ?? []), fixture]);
  }
  return [...groups];
}

describe("Pod Security Admission conformance fixtures", () => {
  it(`are present at ${FIXTURES_ROOT} (set AEGIS_PSA_FIXTURES to move them)`, () => {
    expect(existsSync(FIXTURES_ROOT)).toBe(true);
    expect(versionDirectories("baseline").length).toBeGreaterThan(0);
    expect(versionDirectories("restricted").length).toBeGreaterThan(0);
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it("all have a file-name stem mapped to a rule", () => {
    const unmapped = [...new Set(fixtures.map((fixture) => fixture.stem))].filter((stem) => !(stem in STEM_RULES));
    expect(unmapped).toEqual([]);
  });

  it("all get upstream's verdict and rule", () => {
    const disagreements = fixtures.map((fixture) => disagreement(fixture)).filter((d) => d !== undefined);
    expect(disagreements).toEqual([]);
    expect(fixtures.length - disagreements.length).toBe(fixtures.length);
  }, 60_000);

  describe.each(groupByLevelAndVersion(fixtures))("%s", (_group, groupFixtures) => {
    it(`agrees on all ${groupFixtures.length} Pods`, () => {
      expect(groupFixtures.map((fixture) => disagreement(fixture)).filter((d) => d !== undefined)).toEqual([]);
    });
  });
});

describe("latest", () => {
  const newest = versionDirectories("restricted").at(-1) ?? "none";

  it("is the newest version directory", () => {
    expect(versionDirectories("baseline").at(-1)).toBe(newest);
    expect(LATEST_POD_SECURITY_VERSION).toBe(newest);
  });

  it("evaluates the newest version's fixtures like that version", () => {
    const newestFixtures = fixtures.filter((fixture) => fixture.version === newest);
    expect(newestFixtures.length).toBeGreaterThan(0);
    expect(newestFixtures.map((fixture) => disagreement(fixture, "latest")).filter((d) => d !== undefined)).toEqual([]);
  });

  it("covers versions newer than the evaluator knows", () => {
    const newestFixtures = fixtures.filter((fixture) => fixture.version === newest);
    const future = `v1.${minorOf(newest) + 5}`;
    expect(newestFixtures.map((fixture) => disagreement(fixture, future)).filter((d) => d !== undefined)).toEqual([]);
  });
});
