import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MIN_NODE_MAJOR, nodeTooOld } from "../../../src/cli/require-node.js";
import * as npmScripts from "../../../scripts/require-node.mjs";

const repo = path.resolve(import.meta.dirname, "..", "..", "..");

describe("the Node.js version check of the CLIs and npm scripts", () => {
  it("requires the major version package.json engines names, in both copies", () => {
    const pkg = JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8")) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${MIN_NODE_MAJOR}.0.0`);
    expect(npmScripts.MIN_NODE_MAJOR).toBe(MIN_NODE_MAJOR);
  });

  it("says what to do on an older Node.js", () => {
    expect(nodeTooOld("aegis", "20.20.2")).toBe(
      "aegis needs Node.js 24 or newer (this is v20.20.2): install it with `npm install -g --force node@24`, then run the command again",
    );
    expect(nodeTooOld("kubectl aegis", "v23.11.1")).toMatch(
      /^kubectl aegis needs Node\.js 24 or newer \(this is v23\.11\.1\)/,
    );
  });

  it("passes Node.js 24 and newer, and anything that is not a version", () => {
    for (const version of ["24.0.0", "v24.21.0", "25.1.0", "100.0.0", "", "nightly"]) {
      expect(nodeTooOld("aegis", version)).toBeUndefined();
    }
  });

  it("gives the same answer in the npm scripts' copy", () => {
    for (const version of ["12.22.12", "18.20.8", "20.20.2", "v22.9.0", "23.11.1", "24.0.0", "26.0.0", "x"]) {
      expect(npmScripts.nodeTooOld("npm test", version)).toBe(nodeTooOld("npm test", version));
    }
    expect(npmScripts.nodeTooOld("aegis", "20.1.0", 21)).toBe(nodeTooOld("aegis", "20.1.0", 21));
  });

  it("names the npm script that runs it", () => {
    expect(npmScripts.npmCommand("test")).toBe("npm test");
    expect(npmScripts.npmCommand("demo")).toBe("npm run demo");
    expect(npmScripts.npmCommand(undefined)).toBe("AEGIS");
  });

  it("lets the aegis entry point through to the CLI on this Node.js", () => {
    const run = spawnSync(
      process.execPath,
      ["--import", path.join(repo, "node_modules/tsx/dist/loader.mjs"), path.join(repo, "src/bin/aegis.ts"), "--help"],
      { encoding: "utf8" },
    );
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/^Usage: aegis /);
    expect(run.status).toBe(0);
  }, 30_000);
});
