import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import {
  GROUP,
  VERSION,
  type AegisException,
  type AegisExceptionStatus,
  type AegisPolicy,
  type ApprovalRequest,
  type ApprovalRequestStatus,
} from "../../api/v1alpha1/index.js";
import type { AegisExceptionActions, AegisPolicyActions, ApprovalRequestActions } from "../../ports/status.js";
import { APPROVAL_REQUEST_PLURAL } from "./approval-request-writer.js";
import { isNotFound, kubeErrorMessage } from "./errors.js";
import { recordKubeEvent } from "./events.js";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** Merge-patches the status of one of AEGIS's namespaced objects; a deleted object has none to write. */
async function patchNamespacedStatus(
  custom: CustomObjectsApi,
  kind: string,
  plural: string,
  metadata: { namespace?: string | undefined; name?: string | undefined },
  status: object,
): Promise<void> {
  const { namespace = "", name = "" } = metadata;
  try {
    await custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural, name, body: { status } },
      mergePatch,
    );
  } catch (error) {
    if (isNotFound(error)) return;
    throw new Error(`patching status of ${kind} ${namespace}/${name}: ${kubeErrorMessage(error)}`, { cause: error });
  }
}

/** Status, Event and clean-up writes of the ApprovalRequest reconciler. */
export class KubeApprovalRequestActions implements ApprovalRequestActions {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly reportingInstance: string,
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  patchStatus(request: ApprovalRequest, status: ApprovalRequestStatus): Promise<void> {
    return patchNamespacedStatus(this.custom, "ApprovalRequest", APPROVAL_REQUEST_PLURAL, request.metadata, status);
  }

  /** One Event on the request and one on its target, so `kubectl describe` of either shows it. */
  async emitEvent(
    request: ApprovalRequest,
    event: { type: "Normal" | "Warning"; reason: string; message: string },
  ): Promise<void> {
    const { namespace = "", name = "", uid } = request.metadata;
    const target = request.spec.target;
    const reportingInstance = this.reportingInstance;
    await recordKubeEvent(this.core, {
      ...event,
      namespace,
      reportingInstance,
      involvedObject: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "ApprovalRequest",
        name,
        namespace,
        ...(uid ? { uid } : {}),
      },
    });
    await recordKubeEvent(this.core, {
      ...event,
      message: `ApprovalRequest ${name}: ${event.message}`,
      namespace: target.namespace,
      reportingInstance,
      involvedObject: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        name: target.name,
        namespace: target.namespace,
      },
    });
  }

  async delete(request: ApprovalRequest): Promise<void> {
    const { namespace = "", name = "", uid } = request.metadata;
    try {
      await this.custom.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: APPROVAL_REQUEST_PLURAL,
        name,
        body: uid ? { preconditions: { uid } } : {},
      });
    } catch (error) {
      if (isNotFound(error)) return;
      throw new Error(`deleting decided ApprovalRequest ${namespace}/${name}: ${kubeErrorMessage(error)}`, {
        cause: error,
      });
    }
  }
}

export class KubeAegisPolicyActions implements AegisPolicyActions {
  private readonly custom: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async patchStatus(policy: AegisPolicy, status: NonNullable<AegisPolicy["status"]>): Promise<void> {
    const name = policy.metadata.name ?? "";
    try {
      await this.custom.patchClusterCustomObjectStatus(
        { group: GROUP, version: VERSION, plural: "aegispolicies", name, body: { status } },
        mergePatch,
      );
    } catch (error) {
      if (isNotFound(error)) return;
      throw new Error(`patching status of AegisPolicy ${name}: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }
}

/** Status and Events of AegisExceptions. */
export class KubeAegisExceptionActions implements AegisExceptionActions {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly reportingInstance: string,
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  patchStatus(exception: AegisException, status: AegisExceptionStatus): Promise<void> {
    return patchNamespacedStatus(this.custom, "AegisException", "aegisexceptions", exception.metadata, status);
  }

  async emitEvent(
    exception: AegisException,
    event: { type: "Normal" | "Warning"; reason: string; message: string },
  ): Promise<void> {
    const { namespace = "", name = "", uid } = exception.metadata;
    await recordKubeEvent(this.core, {
      ...event,
      namespace,
      reportingInstance: this.reportingInstance,
      involvedObject: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "AegisException",
        name,
        namespace,
        ...(uid ? { uid } : {}),
      },
    });
  }
}
