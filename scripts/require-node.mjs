#!/usr/bin/env node
// `node scripts/require-node.mjs [COMMAND]`: the first step of the npm scripts that need Node.js
// 24 (npm test, npm run demo, npm run bench, ...). On an older Node.js it prints what to do and
// exits 1, instead of the stack trace the scripts' dependencies would show. COMMAND names the
// command in the message; by default it is the npm script that runs this (`npm run demo`).
// Plain JavaScript with no syntax newer than ES2017, so it runs on any Node.js that needs it.
// src/cli/require-node.ts is the same check for the CLIs (a unit test keeps them in step).
import process from "node:process";
import { pathToFileURL } from "node:url";

/** The oldest Node.js major version AEGIS runs on (package.json `engines.node`). */
export const MIN_NODE_MAJOR = 24;

/** The message for COMMAND when VERSION is older than MIN_MAJOR, or undefined when it is new enough. */
export function nodeTooOld(command, version, minMajor = MIN_NODE_MAJOR) {
  const bare = version.replace(/^v/, "");
  const major = Number.parseInt(bare, 10);
  if (Number.isNaN(major) || major >= minMajor) return undefined;
  return (
    `${command} needs Node.js ${minMajor} or newer (this is v${bare}): ` +
    `install it with \`npm install -g --force node@${minMajor}\`, then run the command again`
  );
}

/** `npm test` for the test script, `npm run NAME` for the others. */
export function npmCommand(event) {
  if (!event) return "AEGIS";
  return event === "test" ? "npm test" : `npm run ${event}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const problem = nodeTooOld(process.argv[2] || npmCommand(process.env.npm_lifecycle_event), process.versions.node);
  if (problem !== undefined) {
    process.stderr.write(`${problem}\n`);
    process.exitCode = 1;
  }
}
