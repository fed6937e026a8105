import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../src/policy/index.js";
import {
  exitCodeOf,
  formatSummaryText,
  loadPolicies,
  PolicyTestInputError,
  testResources,
  type PolicyTestResult,
} from "../../../src/cli/policy-test.js";
import { aegisPolicySchema } from "../../../src/api/v1alpha1/index.js";
import { listFixtures } from "../podsecurity/psa-fixtures.js";

const repo = path.resolve(import.meta.dirname, "..", "..", "..");

/** Each CLI run starts node with tsx: seconds on a busy machine. */
const CLI_TIMEOUT = 90_000;

/** Runs the real `aegis` CLI through tsx, as a user would. */
function aegis(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(
    process.execPath,
    ["--import", path.join(repo, "node_modules/tsx/dist/loader.mjs"), path.join(repo, "src/cli/aegis.ts"), ...args],
    { encoding: "utf8" },
  );
}

/** Writes files into a fresh temp dir and returns their paths, by name. */
function writeFiles(files: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(path.join(tmpdir(), "aegis-policy-test-"));
  return Object.fromEntries(
    Object.entries(files).map(([name, text]) => {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return [name, file];
    }),
  );
}

/** Gates bare Pods in every namespace: images must come from ghcr.io/acme/. */
const POD_POLICY = `apiVersion: aegis.valina.ai/v1alpha1
kind: AegisPolicy
metadata: {name: pod-gate}
spec:
  enforcement: Enforce
  match: {kinds: [Pod]}
  checks:
    - name: trusted-registries
      allowedRegistries: ["ghcr.io/acme/"]
`;

const pod = (name: string, image: string, extraMetadata = ""): string =>
  `{apiVersion: v1, kind: Pod, metadata: {name: ${name}, namespace: team-a${extraMetadata}}, spec: {containers: [{name: c, image: ${image}}]}}`;

const TWO_PODS = `apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
  - ${pod("good", "ghcr.io/acme/web:1")}
  - ${pod("bad", "docker.io/library/nginx:1")}
`;

const results = (stdout: string): PolicyTestResult[] => JSON.parse(stdout) as PolicyTestResult[];

const GATED = "Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod";

/** POD_POLICY, which now skips kube-system, and a second policy for Deployments and Pods in prod only. */
const TWO_POLICIES = `${POD_POLICY.replace("match: {kinds: [Pod]}", "match: {kinds: [Pod]}\n  exclude: {namespaces: [kube-system]}")}---
apiVersion: aegis.valina.ai/v1alpha1
kind: AegisPolicy
metadata: {name: deploy-gate}
spec:
  match: {kinds: [Deployment, Pod], namespaces: [prod]}
  checks: [{name: owner, requiredLabels: [team]}]
`;

/** A List of a Service, Pods, a Deployment and a nested List, then a second document. */
const MIXED = `apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Service, metadata: {name: web, namespace: team-a}, spec: {ports: [{port: 80}]}}
  - ${pod("good", "ghcr.io/acme/web:1")}
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: team-a}, spec: {template: {spec: {containers: [{name: c, image: nginx}]}}}}
  - apiVersion: v1
    kind: List
    items:
      - ${pod("owned", "nginx", ", ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d9, uid: u1, controller: true}]")}
      - ${pod("bad", "nginx")}
---
${pod("kube", "ghcr.io/acme/web:1").replace("team-a", "kube-system")}
`;

/** Document 3 (after an empty one) has no metadata.name. */
const NO_NAME = `${pod("a", "ghcr.io/acme/web:1")}\n---\n---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\n`;

/** Document 2 is not valid YAML. */
const INVALID_YAML = `${pod("a", "ghcr.io/acme/web:1")}\n---\nkind: [Pod\n`;

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
        if (fixture && (!result.evaluated || result.allowed !== (fixture.expectation === "pass")))
          disagreements.push(fixture.id);
      });
    }
    expect(disagreements).toEqual([]);
  }, 120_000);

  it(
    "prints one JSON element per resource document and exits 1 when one is denied",
    () => {
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
      const cli = aegis("policy", "test", path.join(repo, "examples/policy.yaml"), resources, "--output", "json");
      expect(cli.status, cli.stderr).toBe(1);
      const results = JSON.parse(cli.stdout) as PolicyTestResult[];
      expect(results.map(({ name, allowed }) => ({ name, allowed }))).toEqual([
        { name: "web", allowed: true },
        { name: "bad", allowed: false },
      ]);
      expect(Object.keys(results[1] ?? {}).sort()).toEqual([
        "allowed",
        "evaluated",
        "file",
        "kind",
        "name",
        "namespace",
        "violations",
      ]);
      expect(results[1]?.violations.map((violation) => violation.check)).toEqual(
        expect.arrayContaining(["pod-security", "trusted-registries", "resources", "owner", "replicas"]),
      );
    },
    CLI_TIMEOUT,
  );

  it(
    "explains an invalid policy instead of crashing",
    () => {
      const dir = mkdtempSync(path.join(tmpdir(), "aegis-policy-test-"));
      const policy = path.join(dir, "policy.yaml");
      writeFileSync(
        policy,
        "apiVersion: aegis.valina.ai/v1alpha1\nkind: AegisPolicy\nmetadata: {name: x}\nspec: {match: {kinds: [Deployment]}, checks: [{name: c, cel: 'object.spec.replicas <<< 1'}]}\n",
      );
      const cli = aegis("policy", "test", policy, path.join(repo, "examples/deployment.yaml"));
      expect(cli.status).toBe(2);
      expect(cli.stderr).toMatch(/aegis: .*policy.yaml.*spec\.checks\[0\]\.cel/);
    },
    CLI_TIMEOUT,
  );

  it(
    "expands a kind: List into one result per item and exits 1 when one is denied",
    () => {
      const files = writeFiles({ "policy.yaml": POD_POLICY, "pods.yaml": TWO_PODS });
      const json = aegis("policy", "test", files["policy.yaml"] ?? "", files["pods.yaml"] ?? "", "-o", "json");
      expect(json.status, json.stderr).toBe(1);
      expect(
        results(json.stdout).map(({ kind, name, allowed, evaluated }) => ({ kind, name, allowed, evaluated })),
      ).toEqual([
        { kind: "Pod", name: "good", allowed: true, evaluated: true },
        { kind: "Pod", name: "bad", allowed: false, evaluated: true },
      ]);
      expect(results(json.stdout)[1]?.violations.map((v) => v.check)).toEqual(["trusted-registries"]);

      const text = aegis("policy", "test", files["policy.yaml"] ?? "", files["pods.yaml"] ?? "");
      expect(text.status, text.stderr).toBe(1);
      expect(text.stdout).toContain(`${files["pods.yaml"]}: Pod team-a/good: allowed\n`);
      expect(text.stdout).toContain(`${files["pods.yaml"]}: Pod team-a/bad: denied\n  - trusted-registries`);
      expect(text.stdout).toMatch(/^2 resources: 1 allowed, 1 denied, 0 not evaluated$/m);
    },
    CLI_TIMEOUT,
  );

  it(
    "reports a kind AEGIS does not gate as not evaluated, with the reason, and never as a pass",
    () => {
      const files = writeFiles({
        "policy.yaml": POD_POLICY,
        "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
      });
      const reason = `no policy matches kind ConfigMap (AEGIS gates only ${GATED})`;

      const text = aegis("policy", "test", files["policy.yaml"] ?? "", files["cm.yaml"] ?? "");
      expect(text.status, text.stderr).toBe(0);
      expect(text.stdout).toBe(
        `${files["cm.yaml"]}: NOT EVALUATED ConfigMap default/x: ${reason}\n1 resource: 0 allowed, 0 denied, 1 not evaluated\n`,
      );

      const json = aegis("policy", "test", files["policy.yaml"] ?? "", files["cm.yaml"] ?? "", "--output", "json");
      expect(json.status, json.stderr).toBe(0);
      expect(results(json.stdout)).toEqual([
        {
          file: files["cm.yaml"],
          kind: "ConfigMap",
          namespace: "default",
          name: "x",
          allowed: true,
          evaluated: false,
          reason,
          violations: [],
        },
      ]);
    },
    CLI_TIMEOUT,
  );

  it(
    "decides a List mixing kinds, nested Lists and several documents, each with its own result",
    () => {
      const files = writeFiles({ "policy.yaml": TWO_POLICIES, "mixed.yaml": MIXED });
      const json = aegis("policy", "test", files["policy.yaml"] ?? "", files["mixed.yaml"] ?? "", "-o", "json");
      expect(json.status, json.stderr).toBe(1);
      const decided = results(json.stdout);
      expect(
        decided.map(({ kind, namespace, name, allowed, evaluated, reason, violations }) => ({
          kind,
          namespace,
          name,
          allowed,
          evaluated,
          reason,
          checks: violations.map(({ check }) => check),
        })),
      ).toEqual([
        {
          kind: "Service",
          namespace: "team-a",
          name: "web",
          allowed: true,
          evaluated: false,
          reason: `no policy matches kind Service (AEGIS gates only ${GATED})`,
          checks: [],
        },
        {
          kind: "Pod",
          namespace: "team-a",
          name: "good",
          allowed: true,
          evaluated: true,
          reason: undefined,
          checks: [],
        },
        // pod-gate lists only Pod, but a Deployment carries pods: its registry check applies through a side door.
        {
          kind: "Deployment",
          namespace: "team-a",
          name: "web",
          allowed: false,
          evaluated: true,
          reason: undefined,
          checks: ["trusted-registries"],
        },
        // A controller ownerReference in the object no longer exempts a Pod.
        {
          kind: "Pod",
          namespace: "team-a",
          name: "owned",
          allowed: false,
          evaluated: true,
          reason: undefined,
          checks: ["trusted-registries"],
        },
        {
          kind: "Pod",
          namespace: "team-a",
          name: "bad",
          allowed: false,
          evaluated: true,
          reason: undefined,
          checks: ["trusted-registries"],
        },
        {
          kind: "Pod",
          namespace: "kube-system",
          name: "kube",
          allowed: true,
          evaluated: false,
          reason:
            "policy pod-gate: namespace kube-system is in exclude.namespaces; policy deploy-gate: namespace kube-system is not in match.namespaces [prod]",
          checks: [],
        },
      ]);
      for (const result of decided) expect(Object.hasOwn(result, "reason")).toBe(!result.evaluated);

      const text = aegis("policy", "test", files["policy.yaml"] ?? "", files["mixed.yaml"] ?? "");
      expect(text.status, text.stderr).toBe(1);
      const prefix = `${files["mixed.yaml"]}: `;
      const heads = text.stdout.split("\n").filter((line) => line.startsWith(prefix));
      expect(heads.map((line) => line.slice(prefix.length))).toEqual([
        `NOT EVALUATED Service team-a/web: no policy matches kind Service (AEGIS gates only ${GATED})`,
        "Pod team-a/good: allowed",
        "Deployment team-a/web: denied",
        "Pod team-a/owned: denied",
        "Pod team-a/bad: denied",
        expect.stringMatching(/^NOT EVALUATED Pod kube-system\/kube: policy pod-gate: namespace kube-system is in /),
      ]);
      expect(text.stdout.trimEnd().split("\n").at(-1)).toBe("6 resources: 1 allowed, 3 denied, 2 not evaluated");
    },
    CLI_TIMEOUT,
  );

  it("exits 0 when nothing evaluated is denied, even if some resources are not evaluated", async () => {
    const files = writeFiles({
      "policy.yaml": POD_POLICY,
      "ok.yaml": `${pod("good", "ghcr.io/acme/web:1")}\n---\napiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n`,
    });
    const decided = await testResources(await loadPolicies(files["policy.yaml"] ?? ""), [files["ok.yaml"] ?? ""]);
    expect(decided.map(({ name, evaluated }) => ({ name, evaluated }))).toEqual([
      { name: "good", evaluated: true },
      { name: "s", evaluated: false },
    ]);
    expect(exitCodeOf(decided)).toBe(0);
    expect(formatSummaryText(decided)).toBe("2 resources: 1 allowed, 0 denied, 1 not evaluated");
  });

  it("rejects bad input naming the file and the document (and List item)", async () => {
    const files = writeFiles({
      "policy.yaml": POD_POLICY,
      "good.yaml": TWO_PODS,
      "no-name.yaml": NO_NAME,
      "no-kind.yaml": "apiVersion: v1\nmetadata: {name: a}\n",
      "no-api-version.yaml": "kind: Pod\nmetadata: {name: a}\n",
      "no-metadata.yaml": "apiVersion: v1\nkind: Pod\n",
      "bad-item.yaml":
        'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: List, items: ["just a string"]}\n',
      "bad-items.yaml": "apiVersion: v1\nkind: List\nitems: {a: 1}\n",
      "scalar.yaml": "hello\n",
      "invalid.yaml": INVALID_YAML,
      "empty.yaml": "---\n",
      "bad-policy.yaml":
        "apiVersion: aegis.valina.ai/v1alpha1\nkind: AegisPolicy\nmetadata: {name: p}\nspec: {match: {kinds: [ConfigMap]}, checks: []}\n",
    });
    const policies = await loadPolicies(files["policy.yaml"] ?? "");
    const cases: [file: string, message: RegExp][] = [
      ["no-name.yaml", /no-name\.yaml: document 3: the Pod has no metadata\.name$/],
      ["no-kind.yaml", /no-kind\.yaml: document 1: the object has no kind$/],
      ["no-api-version.yaml", /no-api-version\.yaml: document 1: the object has no apiVersion$/],
      ["no-metadata.yaml", /no-metadata\.yaml: document 1: the Pod has no metadata$/],
      [
        "bad-item.yaml",
        /bad-item\.yaml: document 1, item 1, item 1: a resource must be a Kubernetes object, got a string$/,
      ],
      ["bad-items.yaml", /bad-items\.yaml: document 1: a List needs an items sequence$/],
      ["scalar.yaml", /scalar\.yaml: document 1: a resource must be a Kubernetes object, got a string$/],
      ["invalid.yaml", /invalid\.yaml: document 2 is not valid YAML: \S/],
      ["empty.yaml", /empty\.yaml: no YAML document found$/],
      ["missing.yaml", /^cannot read .*missing\.yaml: ENOENT/],
    ];
    const dir = path.dirname(files["policy.yaml"] ?? "");
    for (const [name, message] of cases) {
      // a good file first: the bad one still rejects the whole run, before any result
      const run = testResources(policies, [files["good.yaml"] ?? "", files[name] ?? path.join(dir, name)]);
      await expect(run, name).rejects.toThrow(PolicyTestInputError);
      await expect(run, name).rejects.toThrow(message);
    }
    await expect(loadPolicies(files["bad-policy.yaml"] ?? "")).rejects.toThrow(
      /bad-policy\.yaml: document 1 is not a valid AegisPolicy: spec\.match\.kinds\.0: /,
    );
  });

  it(
    "exits 2 on bad input with one line on stderr naming the file and document, and prints no results",
    () => {
      const files = writeFiles({
        "policy.yaml": POD_POLICY,
        "good.yaml": TWO_PODS,
        "no-name.yaml": NO_NAME,
        "invalid.yaml": INVALID_YAML,
      });
      for (const [name, message] of [
        ["no-name.yaml", /^aegis: \S*no-name\.yaml: document 3: the Pod has no metadata\.name$/],
        ["invalid.yaml", /^aegis: \S*invalid\.yaml: document 2 is not valid YAML: \S/],
      ] as const) {
        const cli = aegis("policy", "test", files["policy.yaml"] ?? "", files["good.yaml"] ?? "", files[name] ?? "");
        expect(cli.status, `${name}: ${cli.stderr}`).toBe(2);
        expect(cli.stdout, name).toBe("");
        expect(cli.stderr.trimEnd().split("\n"), name).toEqual([expect.stringMatching(message)]);
      }
    },
    CLI_TIMEOUT,
  );

  it(
    "exits 2 on a bad argument and documents the exit codes in --help",
    () => {
      const files = writeFiles({ "policy.yaml": POD_POLICY, "pods.yaml": TWO_PODS });
      const bad = aegis("policy", "test", files["policy.yaml"] ?? "", files["pods.yaml"] ?? "", "-o", "yaml");
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/argument 'yaml' is invalid/);
      expect(aegis("policy", "test", files["policy.yaml"] ?? "").status).toBe(2);

      const help = aegis("policy", "test", "--help");
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/Exit codes:\n\s+0\s+every evaluated resource is allowed/);
      expect(help.stdout).toMatch(/^\s+1\s+at least one resource is denied$/m);
      expect(help.stdout).toMatch(/^\s+2\s+bad input/m);
      expect(help.stdout).toMatch(/NOT EVALUATED/);
    },
    CLI_TIMEOUT,
  );
});
