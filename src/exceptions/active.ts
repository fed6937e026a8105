import type { AegisException, ApprovalRequest } from "../api/v1alpha1/index.js";
import { exceptionRequestName, exceptionStanding, type ExceptionPolicyLookup } from "./standing.js";

export interface ActiveExceptionInputs {
  /** Looks an ApprovalRequest up by name and namespace (the informer cache). */
  readonly approval: (name: string, namespace: string) => ApprovalRequest | undefined;
  readonly policies: ExceptionPolicyLookup;
  readonly extraApprovals: number;
  readonly now: Date;
}

/** The exceptions among these that waive something now (approved, valid, unexpired). */
export function activeExceptions(
  exceptions: readonly AegisException[],
  inputs: ActiveExceptionInputs,
): AegisException[] {
  return exceptions.filter((exception) => {
    const request = inputs.approval(exceptionRequestName(exception), exception.metadata.namespace ?? "");
    return exceptionStanding(exception, { ...inputs, request }).phase === "Active";
  });
}
