#!/usr/bin/env node
import { Command, Option } from "commander";
import { SERVE_OPTIONS } from "../config/serve-config.js";
import { registerEvidenceCommands } from "./evidence-commands.js";
import { formatResultText, loadPolicies, testResources } from "./policy-test.js";

const program = new Command()
  .name("aegis")
  .description("AEGIS: admission gate, approvals, self-healing and evidence for Kubernetes")
  .showHelpAfterError();

const serve = program.command("serve").description("run the webhook, REST API, dashboard, metrics and controllers");
for (const option of SERVE_OPTIONS) {
  const described = new Option(option.flag, option.help).env(option.env);
  serve.addOption("default" in option ? described.default(option.default) : described);
}
serve.action(async (flags: Record<string, string | undefined>) => {
  const { runServe } = await import("../main.js");
  await runServe(flags);
});

program
  .command("policy")
  .description("work with AegisPolicy files offline")
  .command("test")
  .description("decide offline whether resources pass a policy; exits 1 if any resource is denied")
  .argument("<policy>", "AegisPolicy YAML (one or more documents)")
  .argument("<resources...>", "resource YAML files, each with one or more documents")
  .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
  .action(async (policyFile: string, resourceFiles: string[], options: { output: "text" | "json" }) => {
    const results = await testResources(await loadPolicies(policyFile), resourceFiles);
    if (options.output === "json") process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    else process.stdout.write(`${results.map(formatResultText).join("\n")}\n`);
    process.exitCode = results.every((result) => result.allowed) ? 0 : 1;
  });

const evidence = program.command("evidence").description("export and verify the tamper-evident evidence log");
registerEvidenceCommands(evidence);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`aegis: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
