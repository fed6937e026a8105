import type { AegisPolicy, ApprovalRequest, ApprovalRequestStatus, Decision } from "../api/v1alpha1/index.js";
import type { BusMessage, EventBus } from "../ports/bus.js";
import type { AegisPolicyActions, ApprovalRequestActions } from "../ports/status.js";

/** `namespace/name`, the key the approval controller and the dashboard use. */
export function approvalKey(request: ApprovalRequest): string {
  return `${request.metadata.namespace ?? ""}/${request.metadata.name ?? ""}`;
}

/**
 * Publishes a hint after each ApprovalRequest status write that changes its phase or approval
 * count. Only the leader reconciles, so each transition is announced once for all replicas, and
 * only after Kubernetes holds it: a subscriber that re-reads finds what the hint announced.
 */
export function publishingApprovalActions(actions: ApprovalRequestActions, bus: EventBus): ApprovalRequestActions {
  return {
    patchStatus: async (request: ApprovalRequest, status: ApprovalRequestStatus): Promise<void> => {
      await actions.patchStatus(request, status);
      const before = request.status;
      if (before && before.phase === status.phase && before.approvals === status.approvals) return;
      void bus.publish({
        topic: "approval",
        key: approvalKey(request),
        data: {
          phase: status.phase ?? null,
          from: before?.phase ?? null,
          approvals: status.approvals ?? 0,
          requiredApprovals: status.requiredApprovals ?? 0,
        },
      });
    },
    emitEvent: (request, event) => actions.emitEvent(request, event),
    delete: (request) => actions.delete(request),
  };
}

/** Publishes a hint after each AegisPolicy status write (a new generation was accepted or refused). */
export function publishingPolicyActions(actions: AegisPolicyActions, bus: EventBus): AegisPolicyActions {
  return {
    patchStatus: async (policy: AegisPolicy, status: NonNullable<AegisPolicy["status"]>): Promise<void> => {
      await actions.patchStatus(policy, status);
      const ready = status.conditions?.find((condition) => condition.type === "Ready")?.status ?? "Unknown";
      void bus.publish({
        topic: "policy",
        key: policy.metadata.name ?? "",
        data: { generation: status.observedGeneration ?? 0, ready },
      });
    },
  };
}

/** The hint an approver's decision made through this replica's API (or Slack, or the dashboard) gives. */
export function decisionHint(request: ApprovalRequest, decision: Decision): BusMessage {
  return {
    topic: "approval",
    key: approvalKey(request),
    data: { decision: decision.decision, user: decision.user, via: decision.via },
  };
}

/** The controller a hint concerns, if any: the leader enqueues the key so it converges at once. */
export function controllerForHint(message: BusMessage): "ApprovalRequest" | "AegisPolicy" | undefined {
  if (message.topic === "approval") return "ApprovalRequest";
  if (message.topic === "policy") return "AegisPolicy";
  return undefined;
}
