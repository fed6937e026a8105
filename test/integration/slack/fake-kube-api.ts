// A local stand-in for the two Kubernetes requests of the Slack identity map, over HTTP, so the
// real client-node clients (KubeSlackIdentityMap from a kubeconfig, KubeSlackMappingReviewer) run:
// GET /api/v1/namespaces/{ns}/configmaps/{name} (404 Status when absent; every write gets a new
// resourceVersion and a managedFields entry, as the API server gives) and
// POST /apis/authorization.k8s.io/v1/subjectaccessreviews, answered by a function.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export interface AccessReviewSpec {
  user?: string;
  groups?: string[];
  resourceAttributes?: Record<string, string>;
}

export interface FakeKubeApi {
  kubeConfig: KubeConfig;
  /** Stores the ConfigMap (a new resourceVersion); returns that resourceVersion. */
  writeConfigMap(namespace: string, name: string, data: Record<string, string>, manager?: string): string;
  deleteConfigMap(namespace: string, name: string): void;
  uidOf(namespace: string, name: string): string;
  /** Every GET of a ConfigMap, as `namespace/name`. */
  configMapReads: string[];
  /** Every SubjectAccessReview spec posted. */
  accessReviews: AccessReviewSpec[];
  /** Decides SubjectAccessReviews; default: denied. */
  allow: (spec: AccessReviewSpec) => boolean;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (text += chunk));
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}

const CONFIGMAP_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/?]+)$/;

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  const configMaps = new Map<string, Record<string, unknown>>();
  const uids = new Map<string, string>();
  let resourceVersion = 1000;
  let uidCounter = 0;
  const api: Omit<FakeKubeApi, "kubeConfig" | "close"> = {
    writeConfigMap(namespace, name, data, manager = "kubectl-edit") {
      resourceVersion += 1;
      const key = `${namespace}/${name}`;
      if (!uids.has(key)) uids.set(key, `00000000-0000-4000-8000-${String(++uidCounter).padStart(12, "0")}`);
      configMaps.set(key, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name,
          namespace,
          uid: uids.get(key),
          resourceVersion: String(resourceVersion),
          managedFields: [
            { manager, operation: "Update", apiVersion: "v1", time: new Date().toISOString().replace(/\.\d+Z$/, "Z") },
          ],
        },
        data: { ...data },
      });
      return String(resourceVersion);
    },
    deleteConfigMap(namespace, name) {
      configMaps.delete(`${namespace}/${name}`);
      uids.delete(`${namespace}/${name}`);
    },
    uidOf: (namespace, name) => uids.get(`${namespace}/${name}`) ?? "",
    configMapReads: [],
    accessReviews: [],
    allow: () => false,
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      res.setHeader("content-type", "application/json");
      const path = (req.url ?? "").split("?")[0] ?? "";
      const configMap = CONFIGMAP_PATH.exec(path);
      if (req.method === "GET" && configMap) {
        const key = `${decodeURIComponent(configMap[1] ?? "")}/${decodeURIComponent(configMap[2] ?? "")}`;
        api.configMapReads.push(key);
        const stored = configMaps.get(key);
        if (stored) {
          res.end(JSON.stringify(stored));
          return;
        }
        res.statusCode = 404;
        res.end(
          JSON.stringify({
            kind: "Status",
            apiVersion: "v1",
            status: "Failure",
            reason: "NotFound",
            code: 404,
            message: `configmaps "${key}" not found`,
          }),
        );
        return;
      }
      if (req.method === "POST" && path === "/apis/authorization.k8s.io/v1/subjectaccessreviews") {
        const review = JSON.parse(body) as { spec?: AccessReviewSpec };
        const spec = review.spec ?? {};
        api.accessReviews.push(spec);
        res.statusCode = 201;
        res.end(
          JSON.stringify({
            apiVersion: "authorization.k8s.io/v1",
            kind: "SubjectAccessReview",
            spec,
            status: { allowed: api.allow(spec) },
          }),
        );
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: "Status", code: 404, message: `${req.method ?? ""} ${path} is not served here` }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      { name: "fake", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: "aegis", token: "fake-token" }],
    contexts: [{ name: "fake", cluster: "fake", user: "aegis" }],
    currentContext: "fake",
  });
  return Object.assign(api, {
    kubeConfig,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
