/**
 * The import rules of .dependency-cruiser.cjs catch a crossing import: a scratch tree with the
 * layout of src/ is cruised with the project's own configuration, once clean, once with a leak.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CONFIG = join(REPO_ROOT, ".dependency-cruiser.cjs");
const DEPCRUISE = join(REPO_ROOT, "node_modules/.bin/depcruise");
const scratch: string[] = [];

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "aegis-boundaries-"));
  scratch.push(root);
  const base = {
    "tsconfig.json": JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext" } }),
    "src/ports/kube.ts": "export interface Store { get(name: string): string | undefined }\n",
    "src/webhook/gate.ts":
      'import type { Store } from "../ports/kube.js";\nexport const gate = (s: Store) => s.get("x");\n',
    "src/policy/engine.ts": "export const evaluate = (x: number) => x + 1;\n",
    "src/adapters/kube/store.ts":
      'import type { Store } from "../../ports/kube.js";\nexport const store: Store = { get: () => undefined };\n',
    "src/wiring/root.ts":
      'import { store } from "../adapters/kube/store.js";\nimport { gate } from "../webhook/gate.js";\nexport const run = () => gate(store);\n',
  };
  for (const [path, text] of Object.entries({ ...base, ...files })) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function cruise(root: string): { ok: boolean; output: string } {
  try {
    const output = execFileSync(DEPCRUISE, ["src", "--config", CONFIG, "--output-type", "err"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { ok: true, output };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

afterAll(() => scratch.forEach((root) => rmSync(root, { recursive: true, force: true })));

describe("import boundaries", () => {
  it("accept the layout as designed", () => {
    const result = cruise(tree({}));
    expect(result.output).not.toMatch(/error/);
    expect(result.ok).toBe(true);
  }, 60_000);

  it("refuse an adapter that imports webhook code", () => {
    const result = cruise(
      tree({
        "src/adapters/kube/leak.ts": 'import { gate } from "../../webhook/gate.js";\nexport const leak = gate;\n',
      }),
    );
    expect(result.ok).toBe(false);
    expect(result.output).toContain("adapters-are-the-edge: src/adapters/kube/leak.ts → src/webhook/gate.ts");
  }, 60_000);

  it("refuse decision code that imports an adapter or does I/O", () => {
    const result = cruise(
      tree({
        "src/policy/leak.ts":
          'import { readFileSync } from "node:fs";\nimport { store } from "../adapters/kube/store.js";\nexport const leak = [readFileSync, store];\n',
      }),
    );
    expect(result.ok).toBe(false);
    expect(result.output).toContain("decisions-are-pure: src/policy/leak.ts → src/adapters/kube/store.ts");
    expect(result.output).toContain("decisions-do-no-io: src/policy/leak.ts → fs");
  }, 60_000);

  it("refuse core code that builds an adapter itself", () => {
    const result = cruise(
      tree({
        "src/webhook/leak.ts": 'import { store } from "../adapters/kube/store.js";\nexport const leak = store;\n',
      }),
    );
    expect(result.ok).toBe(false);
    expect(result.output).toContain("core-does-not-reach-the-edge: src/webhook/leak.ts → src/adapters/kube/store.ts");
  }, 60_000);
});
