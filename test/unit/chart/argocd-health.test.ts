// docs/argocd/approvalrequest-health.lua, the Argo CD health check for ApprovalRequests, run by a
// real Lua interpreter (Debian's lua5.4; Argo CD runs gopher-lua, a Lua 5.1, and the script sticks
// to what both have) on sample objects. As in Argo CD, the object is the global `obj` and the
// script's chunk returns the health table.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const scriptPath = path.join(repoRoot, "docs", "argocd", "approvalrequest-health.lua");
const docPath = path.join(repoRoot, "docs", "argocd.md");

/** The first Lua interpreter on PATH (`apt-get install -y lua5.4` provides lua5.4 and lua). */
function findLua(): string {
  for (const candidate of ["lua5.4", "lua5.3", "lua"]) {
    const probe = spawnSync(candidate, ["-v"], { encoding: "utf8" });
    if (probe.status === 0) return candidate;
  }
  throw new Error("no Lua interpreter on PATH: install it with `apt-get install -y lua5.4`");
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function luaString(text: string): string {
  // Decimal escapes for control characters; other bytes (UTF-8 included) go through as they are.
  let escaped = "";
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (char === "\\" || char === '"') escaped += `\\${char}`;
    else if (code < 0x20 || code === 0x7f) escaped += `\\${code.toString().padStart(3, "0")}`;
    else escaped += char;
  }
  return `"${escaped}"`;
}

/** A JSON value as a Lua table constructor; JSON null becomes an absent key, as in Argo CD. */
function toLua(value: Json): string {
  if (value === null) return "nil";
  if (typeof value === "string") return luaString(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`not a JSON number: ${value}`);
    return String(value);
  }
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(", ")}}`;
  const fields = Object.entries(value)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `[${luaString(k)}] = ${toLua(v)}`);
  return `{${fields.join(", ")}}`;
}

interface Health {
  status: string;
  message: string;
}

const lua = findLua();

function health(object: Json, script = scriptPath): Health {
  const harness = [
    `obj = ${toLua(object)}`,
    "local chunk = assert(loadfile(arg[1]))",
    "local hs = chunk()",
    "assert(type(hs) == 'table', 'the health script returned no table')",
    "io.write(tostring(hs.status), '\\n', tostring(hs.message))",
  ].join("\n");
  const run = spawnSync(lua, ["-", script], { input: harness, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${lua} failed (${run.status}): ${run.stderr}`);
  const [status = "", ...message] = run.stdout.split("\n");
  return { status, message: message.join("\n") };
}

function request(status?: Record<string, Json>, decisions: Json[] = []): Json {
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "ApprovalRequest",
    metadata: {
      name: "deployment-web-3f2a9c1b0d",
      namespace: "prod",
      uid: "1",
      creationTimestamp: "2026-11-26T10:00:00Z",
    },
    spec: {
      target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: "web" },
      changeHash: "sha256:3f2a9c1b0d",
      policies: ["prod-gate"],
      requester: { username: "dev", groups: ["developers"] },
      risk: { score: 42, factors: [{ name: "new-registry", points: 20, detail: "ghcr.io/acme/ is new — first use" }] },
      summary: 'image ghcr.io/acme/web:1.2 -> ghcr.io/acme/web:1.3 "quoted"\nsecond line',
      reason: "",
      decisions,
    },
    ...(status ? { status } : {}),
  };
}

describe("Argo CD health check for ApprovalRequest", () => {
  it("Pending → Progressing, naming the approve command", () => {
    const hs = health(
      request({
        phase: "Pending",
        approvals: 0,
        requiredApprovals: 1,
        expiresAt: "2026-11-27T10:00:00Z",
        decidedAt: null,
        conditions: [],
      }),
    );
    expect(hs.status).toBe("Progressing");
    expect(hs.message).toBe(
      "Pending (0/1 approvals) for Deployment prod/web; approve with: kubectl aegis approve deployment-web-3f2a9c1b0d -n prod",
    );
  });

  it("Approved → Healthy", () => {
    const hs = health(
      request({ phase: "Approved", approvals: 2, requiredApprovals: 2, decidedAt: "2026-11-26T11:00:00Z" }, [
        { user: "alice", decision: "Approve", comment: "ok", at: "2026-11-26T10:30:00Z", via: "kubectl" },
        { user: "bob", decision: "Approve", comment: "", at: "2026-11-26T11:00:00Z", via: "slack" },
      ]),
    );
    expect(hs).toEqual({ status: "Healthy", message: "Approved (2/2 approvals) for Deployment prod/web" });
  });

  it("Rejected → Degraded, with who rejected and why", () => {
    const hs = health(
      request({ phase: "Rejected", approvals: 1, requiredApprovals: 2 }, [
        { user: "alice", decision: "Approve", comment: "", at: "2026-11-26T10:30:00Z", via: "kubectl" },
        {
          user: "carol",
          decision: "Reject",
          comment: 'not on a Friday — "no"',
          at: "2026-11-26T10:40:00Z",
          via: "web",
        },
      ]),
    );
    expect(hs).toEqual({
      status: "Degraded",
      message: 'Rejected by carol: not on a Friday — "no" (Deployment prod/web)',
    });
  });

  it("Expired → Degraded", () => {
    const hs = health(
      request({ phase: "Expired", approvals: 0, requiredApprovals: 1, expiresAt: "2026-11-27T10:00:00Z" }),
    );
    expect(hs.status).toBe("Degraded");
    expect(hs.message).toBe(
      "Expired at 2026-11-27T10:00:00Z with 0/1 approvals for Deployment prod/web; apply the change again to open a new request",
    );
  });

  it("no status, or a status without a phase → Progressing", () => {
    expect(health(request()).status).toBe("Progressing");
    expect(health(request({ conditions: [] })).status).toBe("Progressing");
    expect(health(request({ phase: null })).message).toBe(
      "Waiting for AEGIS to evaluate the request for Deployment prod/web",
    );
  });

  it("an unknown phase → Unknown; a sparse object does not crash the script", () => {
    expect(health(request({ phase: "Sleeping" }))).toEqual({ status: "Unknown", message: "Unknown phase Sleeping" });
    const sparse = health({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "ApprovalRequest",
      metadata: { name: "x", namespace: "ns" },
      status: { phase: "Rejected" },
    });
    expect(sparse).toEqual({ status: "Degraded", message: "Rejected (its target)" });
  });

  it("docs/argocd.md carries the same script in its argocd-cm snippet", () => {
    const doc = readFileSync(docPath, "utf8");
    const key = "resource.customizations.health.aegis.valina.ai_ApprovalRequest: |";
    const at = doc.indexOf(key);
    expect(at, `docs/argocd.md has no ${key}`).toBeGreaterThan(-1);
    const lines = doc
      .slice(at + key.length)
      .split("\n")
      .slice(1);
    const indent = /^ */.exec(lines[0] ?? "")?.[0].length ?? 0;
    expect(indent).toBeGreaterThan(0);
    const block: string[] = [];
    for (const line of lines) {
      if (line.trim() !== "" && !line.startsWith(" ".repeat(indent))) break;
      block.push(line.slice(indent));
    }
    const embedded = block.join("\n").trimEnd() + "\n";
    expect(embedded).toBe(readFileSync(scriptPath, "utf8"));
  });
});
