import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../src/policy/index.js";
import { testResources, type PolicyTestResult } from "../../../src/cli/policy-test.js";
import { aegisPolicySchema } from "../../../src/api/v1alpha1/index.js";
import { listFixtures } from "../podsecurity/psa-fixtures.js";

const repo = path.resolve(import.meta.dirname, "..", "..", "..");

function podSecurityPolicy(level: string, version: string): ReturnType<typeof compilePolicy> {
  return compilePolicy(
    aegisPolicySchema.parse({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: `pss-${level}` },
      spec: { match: { kinds: ["Pod"] }, checks: [{ name: "pod-security", podSecurity: { level, version } }] },
    }),
  );
}

describe("aegis policy test", () => {
  it("agrees with upstream Pod Security Admission on every fixture (all levels and versions)", async () => {
    const fixtures = listFixtures();
    expect(fixtures.length).toBeGreaterThan(4000);
    const groups = new Map<string, typeof fixtures>();
    for (const fixture of fixtures) {
      const key = `${fixture.level} ${fixture.version}`;
      groups.set(key, [...(groups.get(key) ?? []), fixture]);
    }
    const disagreements: string[] = [];
    for (const [key, group] of groups) {
      const [level = "", version = ""] = key.split(" ");
      const results = await testResources(
        [podSecurityPolicy(level, version)],
        group.map((fixture) => fixture.path),
      );
      results.forEach((result: PolicyTestResult, index) => {
        const fixture = group[index];
        if (fixture && result.allowed !== (fixture.expectation === "pass")) disagreements.push(fixture.id);
      });
    }
    expect(disagreements).toEqual([]);
  }, 120_000);

  it("prints one JSON element per resource document and exits 1 when one is denied", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "aegis-policy-test-"));
    const resources = path.join(dir, "two.yaml");
    writeFileSync(
      resources,
      [
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: demo-prod, labels: {app.kubernetes.io/name: web, team: a}}\nspec: {replicas: 1, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}, containers: [{name: web, image: ghcr.io/acme/web:1, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}, resources: {requests: {cpu: 1m, memory: 1Mi}, limits: {memory: 1Mi}}}]}}}",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad, namespace: demo-prod}\nspec: {replicas: 20, selector: {matchLabels: {app: bad}}, template: {metadata: {labels: {app: bad}}, spec: {containers: [{name: bad, image: nginx}]}}}",
        "",
      ].join("\n---\n"),
    );
    const cli = spawnSync(
      process.execPath,
      [
        "--import",
        path.join(repo, "node_modules/tsx/dist/loader.mjs"),
        path.join(repo, "src/cli/aegis.ts"),
        "policy",
        "test",
        path.join(repo, "examples/policy.yaml"),
        resources,
        "--output",
        "json",
      ],
      { encoding: "utf8" },
    );
    expect(cli.status, cli.stderr).toBe(1);
    const results = JSON.parse(cli.stdout) as PolicyTestResult[];
    expect(results.map(({ name, allowed }) => ({ name, allowed }))).toEqual([
      { name: "web", allowed: true },
      { name: "bad", allowed: false },
    ]);
    expect(Object.keys(results[1] ?? {}).sort()).toEqual([
      "allowed",
      "file",
      "kind",
      "name",
      "namespace",
      "violations",
    ]);
    expect(results[1]?.violations.map((violation) => violation.check)).toEqual(
      expect.arrayContaining(["pod-security", "trusted-registries", "resources", "owner", "replicas"]),
    );
  });

  it("explains an invalid policy instead of crashing", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "aegis-policy-test-"));
    const policy = path.join(dir, "policy.yaml");
    writeFileSync(
      policy,
      "apiVersion: aegis.valina.ai/v1alpha1\nkind: AegisPolicy\nmetadata: {name: x}\nspec: {match: {kinds: [Deployment]}, checks: [{name: c, cel: 'object.spec.replicas <<< 1'}]}\n",
    );
    const cli = spawnSync(
      process.execPath,
      [
        "--import",
        path.join(repo, "node_modules/tsx/dist/loader.mjs"),
        path.join(repo, "src/cli/aegis.ts"),
        "policy",
        "test",
        policy,
        path.join(repo, "examples/deployment.yaml"),
      ],
      { encoding: "utf8" },
    );
    expect(cli.status).toBe(2);
    expect(cli.stderr).toMatch(/aegis: .*policy.yaml.*spec\.checks\[0\]\.cel/);
  });
});
