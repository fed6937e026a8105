// The Node.js version check run before anything else by the `aegis` and `kubectl-aegis` entry
// points (src/bin/). Older Node.js fails to load the CLIs' dependencies with a stack trace; this
// says what to do instead. No imports and nothing newer than ES2017 at run time, so that it runs
// on any Node.js old enough to need it. scripts/require-node.mjs is the same check for the npm
// scripts (a unit test keeps the two in step with package.json `engines`).

/** The oldest Node.js major version AEGIS runs on (package.json `engines.node`). */
export const MIN_NODE_MAJOR = 24;

/**
 * The message for COMMAND when VERSION (`process.versions.node`, with or without a leading "v")
 * is older than MIN_MAJOR, or undefined when it is new enough (or not a version at all).
 */
export function nodeTooOld(command: string, version: string, minMajor: number = MIN_NODE_MAJOR): string | undefined {
  const bare = version.replace(/^v/, "");
  const major = Number.parseInt(bare, 10);
  if (Number.isNaN(major) || major >= minMajor) return undefined;
  return (
    `${command} needs Node.js ${minMajor} or newer (this is v${bare}): ` +
    `install it with \`npm install -g --force node@${minMajor}\`, then run the command again`
  );
}

/** Writes nodeTooOld's message to stderr and sets exit code 1; returns whether this Node.js is new enough. */
export function checkNode(command: string, version: string = process.versions.node): boolean {
  const problem = nodeTooOld(command, version);
  if (problem === undefined) return true;
  process.stderr.write(`${problem}\n`);
  process.exitCode = 1;
  return false;
}
