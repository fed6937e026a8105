import type { DecisionRefusal } from "../approval/index.js";

/** An error the HTTP layer answers with its own status and a stable machine-readable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The HTTP status of each reason a decision is refused. */
export const REFUSAL_STATUS: Readonly<Record<DecisionRefusal, number>> = {
  NotFound: 404,
  Forbidden: 403,
  NotPending: 409,
  NotAnApprover: 403,
};
