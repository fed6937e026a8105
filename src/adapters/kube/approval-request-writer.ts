import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { GROUP, VERSION, type ApprovalRequest } from "../../api/v1alpha1/index.js";
import type { ApprovalRequestWriter, CreateOutcome } from "../../ports/kube.js";
import { isAlreadyExists, isNotFound, kubeErrorMessage } from "./errors.js";

export const APPROVAL_REQUEST_PLURAL = "approvalrequests";

/** Creates the gate's ApprovalRequests through the API server, idempotently. */
export class KubeApprovalRequestWriter implements ApprovalRequestWriter {
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async create(request: ApprovalRequest): Promise<CreateOutcome> {
    const namespace = request.metadata.namespace ?? "";
    try {
      await this.api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: APPROVAL_REQUEST_PLURAL,
        body: request,
      });
      return "created";
    } catch (error) {
      if (isAlreadyExists(error)) return "exists";
      throw new Error(
        `creating ApprovalRequest ${namespace}/${request.metadata.name ?? "?"}: ${kubeErrorMessage(error)}`,
        { cause: error },
      );
    }
  }

  async replace(expired: ApprovalRequest, fresh: ApprovalRequest): Promise<void> {
    const namespace = expired.metadata.namespace ?? "";
    const name = expired.metadata.name ?? "";
    try {
      await this.api.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: APPROVAL_REQUEST_PLURAL,
        name,
        body: expired.metadata.uid ? { preconditions: { uid: expired.metadata.uid } } : {},
      });
    } catch (error) {
      // Gone already, or replaced by another replica (uid precondition failed): create or find it below.
      if (!isNotFound(error) && !isAlreadyExists(error)) {
        throw new Error(`deleting expired ApprovalRequest ${namespace}/${name}: ${kubeErrorMessage(error)}`, {
          cause: error,
        });
      }
    }
    await this.create(fresh);
  }
}

/** Appends one decision as AEGIS (for a user it authenticated), guarded by resourceVersion. */
export async function appendDecision(
  kubeConfig: KubeConfig,
  request: ApprovalRequest,
  decision: ApprovalRequest["spec"]["decisions"][number],
): Promise<void> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const { namespace = "", name = "", resourceVersion } = request.metadata;
  const body = [
    { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
    ...(request.spec.decisions.length === 0 ? [{ op: "add", path: "/spec/decisions", value: [] }] : []),
    { op: "add", path: "/spec/decisions/-", value: decision },
  ];
  try {
    await api.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace, plural: APPROVAL_REQUEST_PLURAL, name, body },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
  } catch (error) {
    throw new Error(`recording decision on ApprovalRequest ${namespace}/${name}: ${kubeErrorMessage(error)}`, {
      cause: error,
    });
  }
}
