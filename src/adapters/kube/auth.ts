import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { GROUP } from "../../api/v1alpha1/index.js";
import type { Identity } from "../../api/identity.js";
import type { AccessReviewer, TokenAuthenticator } from "../../ports/auth.js";
import { kubeErrorMessage } from "./errors.js";

/** TokenReview and SubjectAccessReview: identity and permission come from the API server only. */
export class KubeAuth implements TokenAuthenticator, AccessReviewer {
  private readonly authentication: AuthenticationV1Api;
  private readonly authorization: AuthorizationV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.authentication = kubeConfig.makeApiClient(AuthenticationV1Api);
    this.authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  }

  async authenticate(token: string): Promise<Identity | null> {
    try {
      const review = await this.authentication.createTokenReview({ body: { spec: { token } } });
      const user = review.status?.user;
      if (!review.status?.authenticated || !user?.username) return null;
      return { username: user.username, groups: user.groups ?? [] };
    } catch (error) {
      throw new Error(`TokenReview failed: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }

  async canApprove(identity: Identity, namespace: string): Promise<boolean> {
    try {
      const review = await this.authorization.createSubjectAccessReview({
        body: {
          spec: {
            user: identity.username,
            groups: [...identity.groups],
            resourceAttributes: { group: GROUP, resource: "approvalrequests", verb: "approve", namespace },
          },
        },
      });
      return review.status?.allowed === true;
    } catch (error) {
      throw new Error(`SubjectAccessReview failed: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }
}
