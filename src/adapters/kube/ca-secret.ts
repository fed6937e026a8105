import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { CertificateAuthority } from "../../tls/certificates.js";
import { isAlreadyExists, isNotFound, kubeErrorMessage } from "./errors.js";

export const CA_SECRET_NAME = "aegis-webhook-ca";

/**
 * Every replica must serve certificates from one CA (the configuration has one caBundle), so
 * the CA lives in a Secret: the first replica creates it, the others read it; a lost create
 * race is resolved by reading the winner's.
 */
export async function loadOrCreateCa(
  kubeConfig: KubeConfig,
  namespace: string,
  create: () => Promise<CertificateAuthority>,
): Promise<CertificateAuthority> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const existing = await readCa(api, namespace);
  if (existing) return existing;
  const fresh = await create();
  try {
    await api.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: CA_SECRET_NAME, namespace, labels: { "app.kubernetes.io/name": "aegis" } },
        type: "Opaque",
        data: {
          "ca.crt": Buffer.from(fresh.certPem).toString("base64"),
          "ca.key": Buffer.from(fresh.keyPem).toString("base64"),
        },
      },
    });
    return fresh;
  } catch (error) {
    if (!isAlreadyExists(error))
      throw new Error(`creating Secret ${namespace}/${CA_SECRET_NAME}: ${kubeErrorMessage(error)}`, { cause: error });
    const winner = await readCa(api, namespace);
    if (!winner)
      throw new Error(`Secret ${namespace}/${CA_SECRET_NAME} exists but holds no ca.crt/ca.key`, { cause: error });
    return winner;
  }
}

async function readCa(api: CoreV1Api, namespace: string): Promise<CertificateAuthority | undefined> {
  try {
    const secret = await api.readNamespacedSecret({ name: CA_SECRET_NAME, namespace });
    const cert = secret.data?.["ca.crt"];
    const key = secret.data?.["ca.key"];
    if (!cert || !key) return undefined;
    return {
      certPem: Buffer.from(cert, "base64").toString("utf8"),
      keyPem: Buffer.from(key, "base64").toString("utf8"),
    };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new Error(`reading Secret ${namespace}/${CA_SECRET_NAME}: ${kubeErrorMessage(error)}`, { cause: error });
  }
}

/** Creates AEGIS's namespace when missing (outside a cluster it may not exist yet). */
export async function ensureNamespace(kubeConfig: KubeConfig, name: string): Promise<void> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  try {
    await api.createNamespace({ body: { metadata: { name } } });
  } catch (error) {
    if (!isAlreadyExists(error))
      throw new Error(`creating namespace ${name}: ${kubeErrorMessage(error)}`, { cause: error });
  }
}
