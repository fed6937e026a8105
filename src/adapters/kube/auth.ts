import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { GROUP } from "../../api/v1alpha1/index.js";
import type { Identity } from "../../api/identity.js";
import type { AccessReviewer, TokenAuthenticator } from "../../ports/auth.js";
import { kubeErrorMessage } from "./errors.js";

/** The audience AEGIS's API accepts bearer tokens for unless configured otherwise. */
export const DEFAULT_API_TOKEN_AUDIENCE = "aegis";

/**
 * TokenReview and SubjectAccessReview: identity and permission come from the API server only.
 * Tokens are reviewed for AEGIS's own audience, so a token minted for AEGIS
 * (`kubectl create token NAME --audience aegis`) is all a user hands over: a token for the API
 * server itself (full power over the cluster) is refused.
 */
export class KubeAuth implements TokenAuthenticator, AccessReviewer {
  private readonly authentication: AuthenticationV1Api;
  private readonly authorization: AuthorizationV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly audience: string = DEFAULT_API_TOKEN_AUDIENCE,
  ) {
    this.authentication = kubeConfig.makeApiClient(AuthenticationV1Api);
    this.authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  }

  async authenticate(token: string): Promise<Identity | null> {
    try {
      const review = await this.authentication.createTokenReview({
        body: { spec: { token, audiences: [this.audience] } },
      });
      const user = review.status?.user;
      if (!review.status?.authenticated || !user?.username) return null;
      // An authenticator that ignores audiences answers without them: such a token is not ours.
      if (!(review.status.audiences ?? []).includes(this.audience)) return null;
      return { username: user.username, groups: user.groups ?? [] };
    } catch (error) {
      throw new Error(`TokenReview failed: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }

  canApprove(identity: Identity, namespace: string): Promise<boolean> {
    return this.review(identity, "approve", namespace);
  }

  canRead(identity: Identity, namespace: string | null): Promise<boolean> {
    return this.review(identity, "get", namespace ?? "");
  }

  canTrainRisk(identity: Identity): Promise<boolean> {
    return this.review(identity, "update", "", "aegispolicies");
  }

  private async review(
    identity: Identity,
    verb: string,
    namespace: string,
    resource = "approvalrequests",
  ): Promise<boolean> {
    try {
      const review = await this.authorization.createSubjectAccessReview({
        body: {
          spec: {
            user: identity.username,
            groups: [...identity.groups],
            resourceAttributes: { group: GROUP, resource, verb, namespace },
          },
        },
      });
      return review.status?.allowed === true;
    } catch (error) {
      throw new Error(
        `SubjectAccessReview (${verb} ${resource} in ${namespace || "all namespaces"}) failed: ${kubeErrorMessage(error)}`,
        { cause: error },
      );
    }
  }
}
