// charts/aegis/Chart.yaml follows the project: its appVersion (the default image tag) is the
// version in package.json, so a release bumps both together.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

function readYaml(file: string): Record<string, unknown> {
  return parse(readFileSync(path.join(repoRoot, file), "utf8")) as Record<string, unknown>;
}

describe("charts/aegis/Chart.yaml", () => {
  it("has appVersion = package.json version, and the image defaults to ghcr.io/valina-ai/aegis", () => {
    const chart = readYaml("charts/aegis/Chart.yaml");
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string };
    expect(chart["apiVersion"]).toBe("v2");
    expect(chart["name"]).toBe("aegis");
    expect(chart["appVersion"]).toBe(pkg.version);
    const values = readYaml("charts/aegis/values.yaml");
    expect(values["image"]).toMatchObject({ repository: "ghcr.io/valina-ai/aegis", tag: "" });
  });

  it("values.yaml fits values.schema.json's required keys", () => {
    const schema = JSON.parse(readFileSync(path.join(repoRoot, "charts/aegis/values.schema.json"), "utf8")) as {
      required: string[];
      properties: Record<string, unknown>;
    };
    const values = readYaml("charts/aegis/values.yaml");
    expect(Object.keys(values).sort()).toEqual([...schema.required].sort());
    for (const key of Object.keys(values)) expect(schema.properties, key).toHaveProperty(key);
  });
});
