// What the API server fills in per try must not make the same change a new one, and nothing a
// user writes may hide behind that exclusion.
import { describe, expect, it } from "vitest";
import { computeChangeHash } from "../../../src/changehash/index.js";

function job(uid: string, extraLabels: Record<string, string> = {}, manualSelector = false): Record<string, unknown> {
  const serverLabels = {
    "batch.kubernetes.io/controller-uid": uid,
    "controller-uid": uid,
    "batch.kubernetes.io/job-name": "migrate",
    "job-name": "migrate",
  };
  return {
    spec: {
      ...(manualSelector ? { manualSelector: true } : {}),
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": uid } },
      template: {
        metadata: { labels: { ...serverLabels, ...extraLabels } },
        spec: { restartPolicy: "Never", containers: [{ name: "m", image: "ghcr.io/acme/m:1" }] },
      },
    },
  };
}

const tokenVolume = (name: string, sources?: unknown[]): Record<string, unknown> => ({
  name,
  projected: {
    defaultMode: 420,
    sources: sources ?? [
      { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      {
        downwardAPI: {
          items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
        },
      },
    ],
  },
});

function pod(volumeName: string, sources?: unknown[]): Record<string, unknown> {
  return {
    spec: {
      containers: [
        {
          name: "c",
          image: "ghcr.io/acme/web:1",
          volumeMounts: [
            { name: volumeName, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
          ],
        },
      ],
      volumes: [tokenVolume(volumeName, sources)],
    },
  };
}

describe("changeHash ignores what the API server fills in", () => {
  it("a Job's uid-based selector and template labels", () => {
    expect(computeChangeHash(job("uid-a"))).toBe(computeChangeHash(job("uid-b")));
    expect(computeChangeHash(job("uid-a", { team: "a" }))).not.toBe(computeChangeHash(job("uid-a", { team: "b" })));
  });

  it("keeps a selector the user chose (manualSelector)", () => {
    expect(computeChangeHash(job("uid-a", {}, true))).not.toBe(computeChangeHash(job("uid-b", {}, true)));
  });

  it("a Pod's randomly named service-account token volume, and only the genuine one", () => {
    expect(computeChangeHash(pod("kube-api-access-abcde"))).toBe(computeChangeHash(pod("kube-api-access-zz9zz")));
    const withoutVolume = { spec: { containers: [{ name: "c", image: "ghcr.io/acme/web:1" }] } };
    expect(computeChangeHash(pod("kube-api-access-abcde"))).toBe(computeChangeHash(withoutVolume));
    // A look-alike that projects a Secret stays in the hash: it cannot ride on an approval.
    const secret = [{ secret: { name: "db-password" } }, { configMap: { name: "x" } }, { configMap: { name: "y" } }];
    expect(computeChangeHash(pod("kube-api-access-abcde", secret))).not.toBe(computeChangeHash(withoutVolume));
    expect(computeChangeHash(pod("my-token"))).not.toBe(computeChangeHash(withoutVolume));
  });
});
