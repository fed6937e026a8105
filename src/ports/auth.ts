import type { Identity } from "../api/identity.js";

/** Who a bearer token belongs to, as the API server's TokenReview says; null when it is not valid. */
export interface TokenAuthenticator {
  authenticate(token: string): Promise<Identity | null>;
}

/** May `identity` perform `verb` on approvalrequests in `namespace`? (SubjectAccessReview) */
export interface AccessReviewer {
  canApprove(identity: Identity, namespace: string): Promise<boolean>;
}
