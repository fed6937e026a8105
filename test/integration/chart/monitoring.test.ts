// The chart's alerts and dashboard (charts/aegis/files): promtool (built from Prometheus's Go
// module, tools/promtool) finds the rules valid and proves the alerts fire on synthetic series of
// an unhealthy installation and stay quiet for a healthy one; helm renders the same rules and
// dashboard; and every metric they read is one AEGIS exports.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { registerBusMetrics } from "../../../src/bus/bus-metrics.js";
import { AegisMetrics } from "../../../src/observability/metrics.js";
import {
  buildHelm,
  chartDir,
  findObject,
  HELM_BUILD_TIMEOUT_MS,
  type KubeObject,
  renderChart,
  repoRoot,
} from "./helm.js";
import {
  buildPromtool,
  metricNames,
  promtool,
  PROMTOOL_BUILD_TIMEOUT_MS,
  withoutGrafanaVariables,
} from "./promtool.js";

const RULES_FILE = path.join(chartDir, "files", "prometheus-rules.yaml");
const DASHBOARD_FILE = path.join(chartDir, "files", "grafana-dashboard.json");
const RULES_TESTS = path.join(repoRoot, "test", "fixtures", "prometheus", "aegis-rules.test.yaml");

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}
interface Target {
  expr?: string;
}
interface Panel {
  title?: string;
  type: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

let rules: RuleGroup[];
let dashboard: Dashboard;
let scratch: string;

beforeAll(async () => {
  rules = (parse(await readFile(RULES_FILE, "utf8")) as { groups: RuleGroup[] }).groups;
  dashboard = JSON.parse(await readFile(DASHBOARD_FILE, "utf8")) as Dashboard;
  scratch = await mkdtemp(path.join(tmpdir(), "aegis-monitoring-"));
  await buildHelm();
  await buildPromtool();
}, HELM_BUILD_TIMEOUT_MS + PROMTOOL_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function alerts(groups: RuleGroup[] = rules): Rule[] {
  return groups.flatMap((group) => group.rules);
}

function panels(list: Panel[] = dashboard.panels): Panel[] {
  return list.flatMap((panel) => [panel, ...panels(panel.panels ?? [])]);
}

/** Every expression of the dashboard, with the panel it is in. */
function dashboardExpressions(): { where: string; expr: string }[] {
  const fromPanels = panels().flatMap((panel) =>
    (panel.targets ?? []).flatMap((target) =>
      target.expr ? [{ where: `panel "${panel.title}"`, expr: target.expr }] : [],
    ),
  );
  const fromVariables = dashboard.templating.list.flatMap((variable) => {
    const query = typeof variable.query === "string" ? variable.query : variable.query?.query;
    const selector = variable.type === "query" ? /^label_values\((.+),\s*\w+\)$/.exec(query ?? "")?.[1] : undefined;
    return selector ? [{ where: `variable $${variable.name}`, expr: selector }] : [];
  });
  return [...fromPanels, ...fromVariables];
}

/** The names AEGIS's /metrics serves: its registry (defaults included, aegis_ prefixed) and the bus counters main.ts adds. */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new AegisMetrics();
  registerBusMetrics(metrics.registry, () => ({
    kind: "in-process",
    published: 0,
    publishFailures: 0,
    received: 0,
    malformed: 0,
    connected: true,
  }));
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    const type = String(metric.type);
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(metric.name + suffix);
    if (type === "summary") for (const suffix of ["_sum", "_count"]) names.add(metric.name + suffix);
  }
  return names;
}

async function writeRules(name: string, groups: RuleGroup[]): Promise<string> {
  const file = path.join(scratch, name);
  await writeFile(file, stringify({ groups }));
  return file;
}

describe("promtool on charts/aegis/files/prometheus-rules.yaml", () => {
  it("check rules: valid, no lint findings", async () => {
    const result = await promtool(["check", "rules", "--lint=all", "--lint-fatal", RULES_FILE]);
    expect(result.stderr + result.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.code, result.stderr + result.stdout).toBe(0);
  });

  it("check rules refuses a broken expression (the check can fail)", async () => {
    const broken = await writeRules("broken.yaml", [
      { name: "broken", rules: [{ alert: "Broken", expr: "sum by (namespace) (rate(aegis_admissions_total[5m])" }] },
    ]);
    const result = await promtool(["check", "rules", broken]);
    expect(result.code).not.toBe(0);
  });

  it("test rules: every alert fires for the unhealthy installation only, after its `for`", async () => {
    const result = await promtool(["test", "rules", RULES_TESTS]);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS/);
  });

  it("test rules fails when an expected alert does not fire (the tests can fail)", async () => {
    const tests = parse(await readFile(RULES_TESTS, "utf8")) as {
      rule_files: string[];
      tests: { name: string; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    // The breaker test with the breaker never open: the alert it expects at 5m must be missing.
    const breaker = tests.tests.find((test) =>
      test.alert_rule_test.some((t) => t.alertname === "AegisSelfHealingBreakerOpen"),
    );
    if (!breaker) throw new Error("no breaker test in the fixture");
    const quiet = {
      ...breaker,
      input_series: [
        { series: 'aegis_selfhealing_breaker_open{namespace="prod-aegis",pod="aegis-0"}', values: "0x17" },
      ],
    };
    const file = path.join(scratch, "quiet.test.yaml");
    await writeFile(file, stringify({ ...tests, rule_files: [RULES_FILE], tests: [quiet] }));
    const result = await promtool(["test", "rules", file]);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/AegisSelfHealingBreakerOpen/);
  });

  it("the unit tests cover every alert, and each alert has for, severity, summary and description", async () => {
    const tested = new Set(
      (
        parse(await readFile(RULES_TESTS, "utf8")) as { tests: { alert_rule_test: { alertname: string }[] }[] }
      ).tests.flatMap((test) => test.alert_rule_test.map((t) => t.alertname)),
    );
    const names = alerts().map((rule) => rule.alert);
    expect(names).toEqual(
      expect.arrayContaining([
        "AegisWebhookErrors",
        "AegisWebhookLatencyHigh",
        "AegisEvidenceSpoolBacklog",
        "AegisEvidenceDatabaseDown",
        "AegisLeaderFlapping",
        "AegisNoLeader",
        "AegisSelfHealingBreakerOpen",
        "AegisCheckpointPublishFailing",
      ]),
    );
    for (const rule of alerts()) {
      const where = rule.alert ?? rule.record ?? "?";
      expect(rule.for, where).toMatch(/^\d+[smh]$/);
      expect(["critical", "warning", "info"], where).toContain(rule.labels?.["severity"]);
      expect(rule.annotations?.["summary"], where).toBeTruthy();
      expect(rule.annotations?.["description"]?.length ?? 0, where).toBeGreaterThan(80);
    }
    const untested = names.filter((name) => !tested.has(name ?? ""));
    expect(untested).toEqual([]);
  });
});

describe("metric names", () => {
  it("the extractor finds the metrics an expression selects, not functions, labels or keywords", () => {
    expect(
      [
        ...metricNames(
          'sum by (le, pod) (rate(aegis_admission_duration_seconds_bucket{namespace="$namespace",job=~"aegis_x"}[$__rate_interval] offset 5m)) / on (pod) group_left up > bool 1e3 or vector(0) unless {__name__="aegis_other"}',
        ),
      ].sort(),
    ).toEqual(["aegis_admission_duration_seconds_bucket", "aegis_other", "up"]);
  });

  it("every alert reads only metrics AEGIS exports", async () => {
    const exported = await exportedNames();
    const unknown = alerts().flatMap((rule) =>
      [...metricNames(rule.expr)].filter((name) => !exported.has(name)).map((name) => `${rule.alert}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it("every dashboard query reads only metrics AEGIS exports, and the dashboard shows what operators need", async () => {
    const exported = await exportedNames();
    const expressions = dashboardExpressions();
    expect(expressions.length).toBeGreaterThan(15);
    const used = new Set(expressions.flatMap(({ expr }) => [...metricNames(expr)]));
    const unknown = expressions.flatMap(({ where, expr }) =>
      [...metricNames(expr)].filter((name) => !exported.has(name)).map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
    for (const needed of [
      "aegis_admissions_total",
      "aegis_admission_duration_seconds_bucket",
      "aegis_policy_decisions_total",
      "aegis_approval_requests",
      "aegis_evidence_spool_depth",
      "aegis_evidence_lag_seconds",
      "aegis_evidence_database_up",
      "aegis_evidence_checkpoint_size",
      "aegis_evidence_checkpoint_publish_failures_total",
      "aegis_leader",
      "aegis_selfhealing_actions_total",
      "aegis_selfhealing_breaker_open",
      "aegis_threats_total",
    ])
      expect([...used], needed).toContain(needed);
  });

  it("every dashboard query is valid PromQL (promtool, as recording rules)", async () => {
    const groups: RuleGroup[] = [
      {
        name: "dashboard",
        rules: dashboardExpressions().map(({ expr }, index) => ({
          record: `aegis:dashboard_query_${index}`,
          expr: withoutGrafanaVariables(expr),
        })),
      },
    ];
    const result = await promtool(["check", "rules", await writeRules("dashboard.yaml", groups)]);
    expect(result.code, result.stderr + result.stdout).toBe(0);
  });
});

describe("the chart ships them", () => {
  let objects: KubeObject[];
  beforeAll(async () => {
    objects = (
      await renderChart({
        namespace: "aegis-system",
        set: {
          "database.existingSecret.name": "aegis-db",
          "prometheusRule.enabled": "true",
          "grafanaDashboard.enabled": "true",
        },
      })
    ).objects;
  });

  it("renders neither by default", async () => {
    const { objects: defaults } = await renderChart({ set: { "database.existingSecret.name": "aegis-db" } });
    expect(defaults.filter((o) => o.kind === "PrometheusRule")).toEqual([]);
    expect(defaults.filter((o) => o.kind === "ConfigMap" && o.metadata.labels?.["grafana_dashboard"])).toEqual([]);
  });

  it("a PrometheusRule whose groups are the rules file's, which promtool accepts as rendered", async () => {
    const rule = findObject<KubeObject & { spec: { groups: RuleGroup[] } }>(objects, "PrometheusRule", "aegis");
    expect(rule.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(rule.metadata.namespace).toBe("aegis-system");
    expect(rule.spec.groups).toEqual(rules);
    const result = await promtool(["check", "rules", await writeRules("rendered.yaml", rule.spec.groups)]);
    expect(result.code, result.stderr + result.stdout).toBe(0);
  });

  it("adds prometheusRule.labels and additionalRuleLabels, and leaves out disabledAlerts", async () => {
    const { objects: custom } = await renderChart({
      values: {
        database: { existingSecret: { name: "aegis-db" } },
        prometheusRule: {
          enabled: true,
          labels: { release: "kube-prometheus-stack" },
          additionalRuleLabels: { team: "platform", severity: "ignored" },
          disabledAlerts: ["AegisLeaderFlapping", "AegisNoLeader", "AegisSelfHealingBreakerOpen"],
        },
      },
    });
    const rule = findObject<KubeObject & { spec: { groups: RuleGroup[] } }>(custom, "PrometheusRule");
    expect(rule.metadata.labels?.["release"]).toBe("kube-prometheus-stack");
    const expected = rules
      .map((group) => ({
        ...group,
        rules: group.rules
          .filter(
            (r) => !["AegisLeaderFlapping", "AegisNoLeader", "AegisSelfHealingBreakerOpen"].includes(r.alert ?? ""),
          )
          .map((r) => ({ ...r, labels: { team: "platform", ...r.labels } })),
      }))
      .filter((group) => group.rules.length > 0);
    expect(rule.spec.groups).toEqual(expected);
    expect(rule.spec.groups.map((group) => group.name)).not.toContain("aegis-controllers");
  });

  it('a ConfigMap labelled grafana_dashboard: "1" holding the dashboard file', async () => {
    const configMap = findObject<KubeObject & { data: Record<string, string> }>(
      objects,
      "ConfigMap",
      "aegis-dashboard",
    );
    expect(configMap.metadata.labels?.["grafana_dashboard"]).toBe("1");
    expect(configMap.metadata.namespace).toBe("aegis-system");
    expect(Object.keys(configMap.data)).toEqual(["aegis.json"]);
    expect(JSON.parse(configMap.data["aegis.json"] ?? "")).toEqual(dashboard);
    const elsewhere = await renderChart({
      set: {
        "database.existingSecret.name": "aegis-db",
        "grafanaDashboard.enabled": "true",
        "grafanaDashboard.namespace": "monitoring",
        "grafanaDashboard.annotations.grafana_folder": "AEGIS",
      },
    });
    const moved = findObject(elsewhere.objects, "ConfigMap", "aegis-dashboard");
    expect(moved.metadata.namespace).toBe("monitoring");
    expect(moved.metadata.annotations).toEqual({ grafana_folder: "AEGIS" });
  });
});
