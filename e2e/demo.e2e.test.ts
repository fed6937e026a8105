// `npm run demo` is the README's main command: it must keep working end to end.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const repo = path.resolve(import.meta.dirname, "..");

describe("npm run demo", () => {
  it("walks a change from denied to approved to admitted and verifies the evidence", () => {
    const result = spawnSync(
      process.execPath,
      ["--import", path.join(repo, "node_modules", "tsx", "dist", "loader.mjs"), path.join(repo, "scripts", "demo.ts")],
      {
        cwd: repo,
        encoding: "utf8",
        env: process.env,
        timeout: 240_000,
      },
    );
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/needs 1 approval \(policy demo-gate/);
    expect(result.stdout).toMatch(/requested this change/);
    expect(result.stdout).toMatch(/approved by alice/);
    expect(result.stdout).toMatch(/deployment.apps\/web created/);
    expect(result.stdout).toMatch(/OK .*full bundle, \d+ records verified/);
    // The bundle is the ledger this demo's aegis serve wrote, not one named by the caller's DATABASE_URL.
    expect(result.stdout).toMatch(
      /approval\.decision\s+ApprovalRequest\/demo-prod\/deployment-web-[0-9a-f]{10}\s+by alice/,
    );
  }, 300_000);
});
