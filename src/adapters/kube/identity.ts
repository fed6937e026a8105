import { AuthenticationV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Identity } from "../../api/identity.js";
import { kubeErrorMessage } from "./errors.js";

/** Who AEGIS is to the API server (SelfSubjectReview): its own changes are recognised by this name. */
export async function whoAmI(kubeConfig: KubeConfig): Promise<Identity> {
  const api = kubeConfig.makeApiClient(AuthenticationV1Api);
  try {
    const review = await api.createSelfSubjectReview({ body: {} });
    const user = review.status?.userInfo;
    if (!user?.username) throw new Error("the API server returned no username");
    return { username: user.username, groups: user.groups ?? [] };
  } catch (error) {
    throw new Error(`SelfSubjectReview failed (cannot tell which identity AEGIS runs as): ${kubeErrorMessage(error)}`, {
      cause: error,
    });
  }
}
