/** A user's clone has nothing beside it: no code, test or script may reach outside the repository. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const OUTSIDE = ["..", "shared"].join("/");

function trackedFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "-z", "src", "test", "e2e", "scripts", "bench", ".ci", "package.json"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  return out.split("\0").filter((path) => path !== "" && !path.startsWith("test/fixtures/"));
}

describe("the repository is self-contained", () => {
  it("no tracked code, test or script names a folder beside the clone", () => {
    const offenders = trackedFiles().filter((path) => readFileSync(`${REPO_ROOT}${path}`, "utf8").includes(OUTSIDE));
    expect(offenders).toEqual([]);
  });
});
