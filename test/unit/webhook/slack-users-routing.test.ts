// The admission handler routes AEGIS's Slack user map to its guard (not to the ungated-namespace
// allow): a writer who may not act as the mapped username is refused.
import { describe, expect, it } from "vitest";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import { createAdmissionHandler } from "../../../src/webhook/handler.js";
import { MemoryApprovalRequests, MemoryEvidence, MemoryPolicySource } from "../../fakes/memory-ports.js";

function handlerMayActAs(allowed: ReadonlySet<string>) {
  const requests = new MemoryApprovalRequests();
  const evidence = new MemoryEvidence();
  const handler = createAdmissionHandler({
    policies: new MemoryPolicySource(),
    evidencePublicKey: generateSigningKey().publicKey,
    namespaceLabels: (namespace) => ({ "kubernetes.io/metadata.name": namespace }),
    approvalRequests: requests,
    requestWriter: requests,
    slackMappingReviewer: { mayActAs: (_writer, username) => Promise.resolve(allowed.has(username)) },
    evidence,
    now: () => new Date("2026-12-02T12:00:00Z"),
    aegisUsername: "system:serviceaccount:aegis-system:aegis",
    aegisNamespace: "aegis-system",
    extraApprovals: () => 0,
  });
  return { handler, evidence };
}

const mapWrite = (name: string, data: Record<string, string>) => ({
  uid: "u1",
  kind: { group: "", version: "v1", kind: "ConfigMap" },
  resource: { group: "", version: "v1", resource: "configmaps" },
  operation: "CREATE" as const,
  dryRun: false,
  namespace: "aegis-system",
  name,
  userInfo: { username: "mallory", groups: ["system:authenticated"] },
  object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "aegis-system" }, data },
});

describe("the Slack user map in AEGIS's namespace", () => {
  it("is refused when the writer may not act as the mapped user, admitted and recorded when they may", async () => {
    const refused = handlerMayActAs(new Set());
    const denied = await refused.handler(mapWrite("aegis-slack-users", { U1: "alice" }));
    expect(denied.allowed).toBe(false);
    expect(refused.evidence.records).toHaveLength(0);

    const permitted = handlerMayActAs(new Set(["alice"]));
    expect((await permitted.handler(mapWrite("aegis-slack-users", { U1: "alice" }))).allowed).toBe(true);
    expect(permitted.evidence.records.map((record) => record.actor)).toEqual(["mallory"]);
  });

  it("leaves other ConfigMaps in AEGIS's namespace alone", async () => {
    const { handler } = handlerMayActAs(new Set());
    expect((await handler(mapWrite("something-else", { U1: "alice" }))).allowed).toBe(true);
  });
});
