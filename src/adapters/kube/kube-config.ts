import { KubeConfig } from "@kubernetes/client-node";

/** In-cluster configuration when running in a pod, else KUBECONFIG or ~/.kube/config (DESIGN §4). */
export function loadKubeConfig(
  options: { kubeconfig?: string | undefined; context?: string | undefined } = {},
): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromDefault();
  if (options.context) kubeConfig.setCurrentContext(options.context);
  if (!kubeConfig.getCurrentCluster()) {
    throw new Error("no Kubernetes cluster configured: run in a pod, or set KUBECONFIG / --kubeconfig");
  }
  return kubeConfig;
}
