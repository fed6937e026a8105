/** An authenticated caller, as the API server says (AdmissionReview userInfo, TokenReview) or a verified Slack user mapped to one. */
export interface Identity {
  username: string;
  groups: readonly string[];
}
