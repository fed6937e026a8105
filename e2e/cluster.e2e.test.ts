// Proves the e2e control plane is a real one: RBAC decides, impersonation works, ServiceAccount
// tokens authenticate through TokenReview, SubjectAccessReview answers per RBAC, and the real
// kube-controller-manager turns a Deployment into a ReplicaSet and Pods.
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { AuthenticationV1Api, AuthorizationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { eventually, kubeConfig, kubectl } from "./helpers/kube.js";

const ns = `aegis-e2e-cluster-${randomBytes(3).toString("hex")}`;

interface OwnedList {
  items: { metadata: { name: string; ownerReferences?: { kind: string; name: string }[] } }[];
}

async function listOwned(kind: string, selector: string): Promise<OwnedList> {
  const { stdout } = await kubectl(["get", kind, "-n", ns, "-l", selector, "-o", "json"]);
  return JSON.parse(stdout) as OwnedList;
}

/** Names of the CRDs under crds/ (what the global setup applies). */
async function crdNames(): Promise<string[]> {
  const dir = new URL("../crds/", import.meta.url);
  const files = (await readdir(dir).catch(() => [])).filter((f) => /\.ya?ml$/.test(f));
  const names: string[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(new URL(file, dir), "utf8"))) {
      const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (obj?.kind === "CustomResourceDefinition" && obj.metadata?.name) names.push(obj.metadata.name);
    }
  }
  return names;
}

async function sar(user: string, verb: string, resource: string, namespace: string): Promise<boolean> {
  const api = kubeConfig().makeApiClient(AuthorizationV1Api);
  const review = await api.createSubjectAccessReview({
    body: { spec: { user, resourceAttributes: { namespace, verb, resource } } },
  });
  return review.status?.allowed === true;
}

describe("local control plane", () => {
  beforeAll(async () => {
    await kubectl(["create", "namespace", ns]);
  });

  afterAll(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false", "--ignore-not-found"], { allowFail: true });
  });

  it("refuses an unbound user through RBAC while the admin is allowed", async () => {
    const denied = await kubectl(["get", "pods", "-n", ns], { as: "nobody", allowFail: true });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Forbidden/);
    expect(denied.stderr).toContain('User "nobody" cannot list resource "pods"');

    const admin = await kubectl(["get", "pods", "-n", ns]);
    expect(admin.code).toBe(0);
  });

  it("allows the user once a RoleBinding grants it", async () => {
    await kubectl(["create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods", "-n", ns]);
    await kubectl(["create", "rolebinding", "nobody-reads-pods", "--role=pod-reader", "--user=nobody", "-n", ns]);

    const allowed = await eventually(async () => {
      const r = await kubectl(["get", "pods", "-n", ns], { as: "nobody", allowFail: true });
      return r.code === 0 ? r : undefined;
    }, "the RoleBinding to take effect");
    expect(allowed.code).toBe(0);

    // Still nothing beyond the Role: another namespace and another verb stay forbidden.
    const otherNs = await kubectl(["get", "pods", "-n", "kube-system"], { as: "nobody", allowFail: true });
    expect(otherNs.code).not.toBe(0);
    expect(otherNs.stderr).toMatch(/Forbidden/);
    const create = await kubectl(["create", "configmap", "c", "-n", ns], { as: "nobody", allowFail: true });
    expect(create.code).not.toBe(0);
    expect(create.stderr).toContain('User "nobody" cannot create resource "configmaps"');
  });

  it("authenticates a ServiceAccount token through TokenReview", async () => {
    const { stdout } = await kubectl(["create", "token", "default", "-n", "default", "--duration=10m"]);
    const token = stdout.trim();
    expect(token.split(".")).toHaveLength(3);

    const api = kubeConfig().makeApiClient(AuthenticationV1Api);
    const review = await api.createTokenReview({ body: { spec: { token } } });
    expect(review.status?.authenticated).toBe(true);
    expect(review.status?.user?.username).toBe("system:serviceaccount:default:default");
    expect(review.status?.user?.groups).toEqual(
      expect.arrayContaining(["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]),
    );

    const forged = await api.createTokenReview({ body: { spec: { token: `${token.slice(0, -4)}AAAA` } } });
    expect(forged.status?.authenticated).not.toBe(true);
  });

  it("answers SubjectAccessReviews according to RBAC", async () => {
    const user = "auditor";
    expect(await sar(user, "get", "configmaps", ns)).toBe(false);

    await kubectl(["create", "role", "cm-reader", "--verb=get,list", "--resource=configmaps", "-n", ns]);
    await kubectl(["create", "rolebinding", "auditor-reads-cm", "--role=cm-reader", `--user=${user}`, "-n", ns]);

    await eventually(async () => ((await sar(user, "get", "configmaps", ns)) ? true : undefined), "SAR allowed");
    expect(await sar(user, "delete", "configmaps", ns)).toBe(false);
    expect(await sar(user, "get", "configmaps", "kube-system")).toBe(false);
    expect(await sar(user, "get", "secrets", ns)).toBe(false);
    expect(await sar("kubernetes-admin-impostor", "get", "configmaps", ns)).toBe(false);
  });

  it("has every CRD from crds/ installed and Established by the global setup", async () => {
    const names = await crdNames();
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const { stdout } = await kubectl([
        "get",
        "crd",
        name,
        "-o",
        'jsonpath={.status.conditions[?(@.type=="Established")].status}',
      ]);
      expect(stdout, name).toBe("True");
    }
  });

  it("runs the real kube-controller-manager: a Deployment gets a ReplicaSet and Pods", async () => {
    await kubectl(["create", "deployment", "web", "--image=registry.k8s.io/pause:3.10", "--replicas=2", "-n", ns]);

    const rs = await eventually(async () => {
      const list = await listOwned("replicasets", "app=web");
      return list.items.length > 0 ? list.items[0] : undefined;
    }, "a ReplicaSet for Deployment web");
    expect(rs.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Deployment", name: "web" });

    const pods = await eventually(async () => {
      const list = await listOwned("pods", "app=web");
      return list.items.length === 2 ? list.items : undefined;
    }, "two Pods from the ReplicaSet");
    for (const pod of pods) {
      expect(pod.metadata.ownerReferences?.[0]).toMatchObject({ kind: "ReplicaSet", name: rs.metadata.name });
    }
  });
});
