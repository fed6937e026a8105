import type {
  AegisException,
  AegisExceptionStatus,
  AegisPolicy,
  ApprovalRequest,
  ApprovalRequestStatus,
} from "../api/v1alpha1/index.js";

/** Status, Event and clean-up writes of the ApprovalRequest reconciler. */
export interface ApprovalRequestActions {
  patchStatus(request: ApprovalRequest, status: ApprovalRequestStatus): Promise<void>;
  emitEvent(
    request: ApprovalRequest,
    event: { type: "Normal" | "Warning"; reason: string; message: string },
  ): Promise<void>;
  delete(request: ApprovalRequest): Promise<void>;
}

/** The status write of the AegisPolicy reconciler. */
export interface AegisPolicyActions {
  patchStatus(policy: AegisPolicy, status: NonNullable<AegisPolicy["status"]>): Promise<void>;
}

/** The status write and Events of the AegisException reconciler. */
export interface AegisExceptionActions {
  patchStatus(exception: AegisException, status: AegisExceptionStatus): Promise<void>;
  emitEvent(
    exception: AegisException,
    event: { type: "Normal" | "Warning"; reason: string; message: string },
  ): Promise<void>;
}
