import { AuthorizationV1Api, type KubeConfig, type V1ResourceAttributes } from "@kubernetes/client-node";
import type { Identity } from "../../api/identity.js";
import type { SlackMappingReviewer } from "../../ports/notify.js";
import { kubeErrorMessage } from "../kube/errors.js";

const SERVICE_ACCOUNT_USERNAME = /^system:serviceaccount:([^:]+):([^:]+)$/;

/**
 * What the API server checks before `kubectl --as <username>`: `impersonate` on `users` named
 * `username`, or, for a service account's username, on `serviceaccounts` named after it in its
 * namespace (k8s.io/apiserver/pkg/endpoints/filters/impersonation.go).
 */
export function impersonationAttributes(username: string): V1ResourceAttributes {
  const serviceAccount = SERVICE_ACCOUNT_USERNAME.exec(username);
  if (serviceAccount)
    return {
      group: "",
      resource: "serviceaccounts",
      verb: "impersonate",
      namespace: serviceAccount[1] ?? "",
      name: serviceAccount[2] ?? "",
    };
  return { group: "", resource: "users", verb: "impersonate", name: username };
}

/**
 * May a writer of `aegis-slack-users` map a Slack user to `username`? Only when Kubernetes lets
 * the writer act as `username` already (SubjectAccessReview for the impersonation above). The
 * writer's username and groups come from the AdmissionReview's userInfo.
 */
export class KubeSlackMappingReviewer implements SlackMappingReviewer {
  private readonly authorization: AuthorizationV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  }

  async mayActAs(writer: Identity, username: string): Promise<boolean> {
    try {
      const review = await this.authorization.createSubjectAccessReview({
        body: {
          spec: {
            user: writer.username,
            groups: [...writer.groups],
            resourceAttributes: impersonationAttributes(username),
          },
        },
      });
      return review.status?.allowed === true;
    } catch (error) {
      throw new Error(
        `SubjectAccessReview (may ${writer.username} impersonate ${username}) failed: ${kubeErrorMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}
