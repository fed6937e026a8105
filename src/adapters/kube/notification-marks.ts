import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { GROUP, VERSION, type ApprovalRequest } from "../../api/v1alpha1/index.js";
import type { NotificationMarksWriter } from "../../ports/notify.js";
import { isNotFound, kubeErrorMessage } from "./errors.js";
import { NOTIFICATIONS_ANNOTATION, writeMarks, type NotificationMarks } from "../../api/notification-marks.js";

/** Saves the marks as an annotation on the request (JSON merge patch of metadata only). */
export class KubeNotificationMarks implements NotificationMarksWriter {
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async save(request: ApprovalRequest, marks: NotificationMarks): Promise<void> {
    const { namespace = "", name = "" } = request.metadata;
    try {
      await this.api.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: "approvalrequests",
          name,
          body: { metadata: { annotations: { [NOTIFICATIONS_ANNOTATION]: writeMarks(marks) } } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (isNotFound(error)) return;
      throw new Error(`saving notification marks on ApprovalRequest ${namespace}/${name}: ${kubeErrorMessage(error)}`, {
        cause: error,
      });
    }
  }
}
