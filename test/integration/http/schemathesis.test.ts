// Fuzzes the REST API from its own OpenAPI document with schemathesis (PyPI): no 5xx, no
// response that breaks the schema, on every documented endpoint and method.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = path.resolve(import.meta.dirname, "..", "..", "..");
const venv = process.env.AEGIS_SCHEMATHESIS_VENV ?? path.join(homedir(), ".cache", "aegis", "schemathesis");
const st = path.join(venv, "bin", "schemathesis");
let server: ChildProcess;
let baseUrl = "";

beforeAll(async () => {
  if (!existsSync(st)) {
    const install = spawnSync("bash", [path.join(repo, "scripts", "test-deps.sh")], { encoding: "utf8" });
    if (install.status !== 0) throw new Error(`installing schemathesis failed: ${install.stderr}`);
  }
  server = spawn(
    process.execPath,
    [
      "--import",
      path.join(repo, "node_modules/tsx/dist/loader.mjs"),
      path.join(import.meta.dirname, "fuzz-server.ts"),
      "0",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  baseUrl = await new Promise<string>((resolve, reject) => {
    server.stdout?.on("data", (chunk: Buffer) => {
      const port = /listening (\d+)/.exec(chunk.toString())?.[1];
      if (port) resolve(`http://127.0.0.1:${port}`);
    });
    server.once("exit", (code) => reject(new Error(`fuzz server exited with ${code}`)));
  });
}, 300_000);

afterAll(() => {
  server?.kill();
});

describe("REST API fuzzed by schemathesis", () => {
  it("answers every generated request without a server error and within its schema", () => {
    const result = spawnSync(
      st,
      [
        "run",
        `${baseUrl}/api/v1/openapi.json`,
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--max-examples",
        "40",
        "--header",
        "Authorization: Bearer alice-token",
        "--seed",
        "1",
      ],
      { encoding: "utf8", timeout: 240_000, env: { ...process.env, NO_COLOR: "1", SCHEMATHESIS_TELEMETRY: "false" } },
    );
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/passed/i);
  }, 300_000);
});
