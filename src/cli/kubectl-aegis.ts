#!/usr/bin/env node
import { Command } from "commander";
import { decideCommand, describeCommand, listCommand, reportCommand, type KubectlGlobals } from "./kubectl-plugin.js";

const program = new Command()
  .name("kubectl aegis")
  .description(
    "list, inspect, approve, reject and revoke AEGIS ApprovalRequests; print the background audit's failures",
  )
  .option("-n, --namespace <ns>", "namespace of the request")
  .option("-A, --all-namespaces", "list requests in every namespace")
  .option("--context <name>", "kubeconfig context")
  .option("--kubeconfig <file>", "kubeconfig file")
  .option("--as <user>", "impersonate this user")
  .option("--as-group <group>", "impersonate this group (repeatable)", (value: string, previous: string[] = []) => [
    ...previous,
    value,
  ])
  .showHelpAfterError();

const globals = (): KubectlGlobals => program.opts<KubectlGlobals>();

program
  .command("list")
  .description("list ApprovalRequests")
  .action(async () => listCommand(globals()));
program
  .command("report")
  .description("print the failing and warning results of AEGIS's PolicyReports (-n NS, or -A)")
  .action(async () => reportCommand(globals()));
program
  .command("describe")
  .argument("<name>")
  .description("show a request: target, change, risk, decisions, what is missing")
  .action(async (name: string) => describeCommand(globals(), name));
const DECISION_COMMANDS = [
  {
    command: "approve",
    decision: "Approve",
    description: "approve a pending request as the current (or impersonated) user",
  },
  {
    command: "reject",
    decision: "Reject",
    description: "reject a pending request as the current (or impersonated) user",
  },
  {
    command: "revoke",
    decision: "Revoke",
    description:
      "withdraw your own approval of a pending or approved request (it no longer admits unless approval still stands)",
  },
] as const;
for (const { command, decision, description } of DECISION_COMMANDS) {
  program
    .command(command)
    .argument("<name>")
    .option("-m, --message <comment>", "comment recorded with the decision", "")
    .description(description)
    .action(async (name: string, options: { message: string }) =>
      decideCommand(globals(), name, decision, options.message),
    );
}

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`kubectl-aegis: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
