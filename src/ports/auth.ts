import type { Identity } from "../api/identity.js";

/** Who a bearer token belongs to, as the API server's TokenReview says; null when it is not valid. */
export interface TokenAuthenticator {
  authenticate(token: string): Promise<Identity | null>;
}

/** What SubjectAccessReview says `identity` may do with approvalrequests.aegis.valina.ai. */
export interface AccessReviewer {
  /** Verb `approve` in `namespace`. */
  canApprove(identity: Identity, namespace: string): Promise<boolean>;
  /** Verb `get` in `namespace`; `null` asks for every namespace (a ClusterRole binding). */
  canRead(identity: Identity, namespace: string | null): Promise<boolean>;
  /** Verb `update` on aegispolicies: who may change the policies may retrain the risk model they use. */
  canTrainRisk(identity: Identity): Promise<boolean>;
}
