import type { CoreV1Api, V1ObjectReference } from "@kubernetes/client-node";
import { isAlreadyExists, kubeErrorMessage } from "./errors.js";

export const REPORTING_COMPONENT = "aegis";

export interface EventToRecord {
  namespace: string;
  involvedObject: V1ObjectReference & { kind: string; name: string };
  type: "Normal" | "Warning";
  reason: string;
  message: string;
  reportingInstance: string;
  /** A fixed name makes a replayed event a no-op (409 is ignored); absent: a generated one. */
  name?: string;
}

/** Creates a core/v1 Event, so `kubectl describe` of the object shows what AEGIS did and why. */
export async function recordKubeEvent(core: CoreV1Api, event: EventToRecord): Promise<void> {
  const now = new Date();
  const { namespace, involvedObject } = event;
  try {
    await core.createNamespacedEvent({
      namespace,
      body: {
        metadata: event.name
          ? { name: event.name, namespace }
          : { generateName: `${involvedObject.name.slice(0, 200)}.`, namespace },
        involvedObject,
        type: event.type,
        reason: event.reason,
        message: event.message.slice(0, 1024),
        source: { component: REPORTING_COMPONENT },
        reportingComponent: REPORTING_COMPONENT,
        reportingInstance: event.reportingInstance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  } catch (error) {
    if (event.name && isAlreadyExists(error)) return;
    throw new Error(
      `creating Event for ${involvedObject.kind} ${namespace}/${involvedObject.name}: ${kubeErrorMessage(error)}`,
      { cause: error },
    );
  }
}
