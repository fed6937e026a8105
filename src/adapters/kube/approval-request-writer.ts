import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import {
  approvalRequestSchema,
  GROUP,
  VERSION,
  type ApprovalRequest,
  type Decision,
} from "../../api/v1alpha1/index.js";
import type { ApprovalRequestWriter, CreateOutcome } from "../../ports/kube.js";
import { isAlreadyExists, isConflict, isNotFound, kubeErrorMessage, statusCodeOf } from "./errors.js";

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

  async consume(request: ApprovalRequest, decision: Decision): Promise<"consumed" | "conflict"> {
    try {
      await patchDecision(this.api, request, decision);
      return "consumed";
    } catch (error) {
      // A failed resourceVersion test: 409 from the API server (422 from some versions).
      if (isConflict(error) || statusCodeOf(error) === 422) return "conflict";
      throw new Error(
        `using the approval of ApprovalRequest ${request.metadata.namespace ?? ""}/${request.metadata.name ?? ""}: ${kubeErrorMessage(error)}`,
        { cause: error },
      );
    }
  }

  async read(namespace: string, name: string): Promise<ApprovalRequest | undefined> {
    try {
      const object: unknown = await this.api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: APPROVAL_REQUEST_PLURAL,
        name,
      });
      const parsed = approvalRequestSchema.safeParse(object);
      if (!parsed.success)
        throw new Error(`ApprovalRequest ${namespace}/${name} is malformed: ${parsed.error.message}`);
      return parsed.data;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`reading ApprovalRequest ${namespace}/${name}: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }
}

/** Appends one decision as AEGIS (for a user it authenticated), guarded by resourceVersion. */
export async function appendDecision(
  kubeConfig: KubeConfig,
  request: ApprovalRequest,
  decision: Decision,
): Promise<void> {
  const { namespace = "", name = "" } = request.metadata;
  try {
    await patchDecision(kubeConfig.makeApiClient(CustomObjectsApi), request, decision);
  } catch (error) {
    throw new Error(`recording decision on ApprovalRequest ${namespace}/${name}: ${kubeErrorMessage(error)}`, {
      cause: error,
    });
  }
}

function patchDecision(api: CustomObjectsApi, request: ApprovalRequest, decision: Decision): Promise<unknown> {
  const { namespace = "", name = "", resourceVersion } = request.metadata;
  const body = [
    { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
    ...(request.spec.decisions.length === 0 ? [{ op: "add", path: "/spec/decisions", value: [] }] : []),
    { op: "add", path: "/spec/decisions/-", value: decision },
  ];
  return api.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace, plural: APPROVAL_REQUEST_PLURAL, name, body },
    setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
  );
}
