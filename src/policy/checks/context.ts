import type { CelInput } from "@bufbuild/cel";
import { toCelInput } from "../cel.js";
import { containersOf, podTemplateOf, type ContainerRef, type PodTemplate } from "../pod-template.js";
import type { CheckFinding, GateRequest } from "../types.js";

export interface CelBindings {
  readonly object: CelInput;
  readonly oldObject: CelInput;
}

/** What every check reads, derived once per request and shared by all matched policies. */
export interface CheckContext {
  readonly request: GateRequest;
  /** The pod template (the Pod itself for kind Pod); undefined for a kind without one. */
  readonly template: PodTemplate | undefined;
  /** Containers, init and ephemeral containers of the template. */
  readonly containers: readonly ContainerRef[];
  celBindings(): CelBindings;
}

export type CheckRunner = (context: CheckContext) => readonly CheckFinding[];

export function createCheckContext(request: GateRequest): CheckContext {
  const template = podTemplateOf(request.kind, request.object);
  let bindings: CelBindings | undefined;
  return {
    request,
    template,
    containers: template === undefined ? [] : containersOf(template.spec),
    celBindings: () => (bindings ??= { object: toCelInput(request.object), oldObject: toCelInput(request.oldObject) }),
  };
}
