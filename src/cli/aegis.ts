#!/usr/bin/env node
import { Command, Option } from "commander";
import { SERVE_OPTIONS } from "../wiring/config.js";
import { registerEvidenceCommands } from "./evidence-commands.js";
import { registerEvidenceMigrateCommand } from "./evidence-migrate.js";
import {
  exitCodeOf,
  formatResultText,
  formatSummaryText,
  loadExceptions,
  loadPolicies,
  PolicyTestInputError,
  testResources,
} from "./policy-test.js";
import { riskReportCommand } from "./risk-report.js";
import { riskTrainCommand } from "./risk-train.js";

const program = new Command()
  .name("aegis")
  .description("AEGIS: admission gate, approvals, self-healing and evidence for Kubernetes")
  .showHelpAfterError();

const serve = program.command("serve").description("run the webhook, REST API, dashboard, metrics and controllers");
for (const option of SERVE_OPTIONS) {
  const described = new Option(option.flag, option.help).env(option.env);
  serve.addOption("default" in option ? described.default(option.default) : described);
}
serve.addHelpText(
  "after",
  `
Who may call the webhook: without --webhook-client-ca, anyone who can reach the
webhook port can post an AdmissionReview with any userInfo (aegis serve warns at
start). With it, the TLS handshake fails for a caller without a client
certificate chaining to that CA; point the API server's AdmissionConfiguration
(--admission-control-config-file) at a kubeconfig presenting such a certificate.
The CA file is re-read every 30 s. See docs/security.md.
`,
);
serve.action(async (flags: Record<string, string | undefined>) => {
  const { runServe } = await import("../main.js");
  await runServe(flags);
});

const POLICY_TEST_HELP = `
A resource file may hold several YAML documents; a \`kind: List\` (what
\`kubectl get -o yaml\` prints) is expanded into its items. A resource no policy
evaluates (a kind AEGIS does not gate, one no policy's match selects, a Pod with
a controller ownerReference) is printed as NOT EVALUATED with the reason, and in
JSON has "evaluated": false and "reason"; it is not denied, and not a pass.
Offline, the user is aegis-policy-test and a namespace has only its
kubernetes.io/metadata.name label.

With --exceptions FILE, the AegisExceptions in FILE waive what they name as if
approved (offline there is no ApprovalRequest to consult), but one that has
expired at --now (default: the current time), or that its policies refuse
(unknown check, longer than maxExceptionDuration, no approvers), waives
nothing; stderr says which and why. Waived violations are listed with "~" (in
JSON under "waived") and do not deny.

Exit codes:
  0  every evaluated resource is allowed (not evaluated ones do not count)
  1  at least one resource is denied
  2  bad input: an unreadable file, invalid YAML, an invalid policy, a resource
     without apiVersion, kind or metadata.name, or a bad argument; stderr has
     one line naming the file and document
`;

program
  .command("policy")
  .description("work with AegisPolicy files offline")
  .command("test")
  .description("decide offline whether resources pass a policy; exits 1 if any resource is denied, 2 on bad input")
  .argument("<policy>", "AegisPolicy YAML (one or more documents)")
  .argument("<resources...>", "resource YAML files, each with one or more documents or kind: List")
  .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
  .option("--exceptions <file>", "AegisException YAML whose unexpired exceptions waive what they name")
  .option("--now <time>", "the time exceptions' expiry is judged at (RFC 3339; default: now)")
  .addHelpText("after", POLICY_TEST_HELP)
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .action(async (policyFile: string, resourceFiles: string[], options: PolicyTestOptions) => {
    const policies = await loadPolicies(policyFile);
    const now = options.now === undefined ? new Date() : new Date(options.now);
    if (Number.isNaN(now.getTime()))
      throw new PolicyTestInputError(`--now ${JSON.stringify(options.now)} is not an RFC 3339 time`);
    const exceptions = options.exceptions ? await loadExceptions(options.exceptions, policies, now) : undefined;
    for (const { exception, why } of exceptions?.ignored ?? [])
      process.stderr.write(`aegis: AegisException ${exception} waives nothing: ${why}\n`);
    const results = await testResources(policies, resourceFiles, exceptions);
    if (options.output === "json") process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    else process.stdout.write(`${[...results.map(formatResultText), formatSummaryText(results)].join("\n")}\n`);
    process.exitCode = exitCodeOf(results);
  });

interface PolicyTestOptions {
  output: "text" | "json";
  exceptions?: string;
  now?: string;
}

const risk = program.command("risk").description("how risk scoring is doing");
risk
  .command("report")
  .description(
    "how people decided the changes shadow-mode risk would have auto-approved (agreed, missed rejections, precision), from the cluster's ApprovalRequests",
  )
  .option("--kubeconfig <file>", "kubeconfig to read ApprovalRequests with (default: KUBECONFIG or ~/.kube/config)")
  .addOption(new Option("-o, --output <format>", "text or json").choices(["text", "json"]).default("text"))
  .action(async (options: { kubeconfig?: string; output: "text" | "json" }) => {
    await riskReportCommand(options, process.stdout);
  });

risk
  .command("train")
  .description(
    "retrain the risk model now from the ledger's human decisions, through AEGIS's REST API (verb update on aegispolicies); a changed model is published to every replica",
  )
  .option("--url <url>", "AEGIS's API, e.g. https://aegis.aegis-system:8750 (default: AEGIS_API_URL)")
  .option("--token <token>", "a token for audience aegis (default: AEGIS_TOKEN)")
  .addOption(new Option("-o, --output <format>", "text or json").choices(["text", "json"]).default("text"))
  .action(async (options: { url?: string; token?: string; output: "text" | "json" }) => {
    await riskTrainCommand(options, process.stdout);
  });

const evidence = program.command("evidence").description("export and verify the tamper-evident evidence log");
registerEvidenceCommands(evidence);
registerEvidenceMigrateCommand(evidence);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`aegis: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
