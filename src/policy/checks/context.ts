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
  /**
   * What `derive` works out from this request alone, derived once under `key` and shared by every
   * policy that asks for it (a pod template's Pod Security evaluator, say).
   */
  shared<T>(key: string, derive: () => T): T;
}

export type CheckRunner = (context: CheckContext) => readonly CheckFinding[];

export function createCheckContext(request: GateRequest): CheckContext {
  const template = podTemplateOf(request.kind, request.object);
  let bindings: CelBindings | undefined;
  const derived = new Map<string, unknown>();
  return {
    request,
    template,
    containers: template === undefined ? [] : containersOf(template.spec),
    celBindings: () => (bindings ??= lazyCelBindings(request)),
    shared<T>(key: string, derive: () => T): T {
      if (!derived.has(key)) derived.set(key, derive());
      return derived.get(key) as T;
    },
  };
}

/** CEL reads a variable when an expression names it: most expressions never name `oldObject`. */
function lazyCelBindings(request: GateRequest): CelBindings {
  let object: CelInput | undefined;
  let oldObject: CelInput | undefined;
  return {
    get object() {
      return (object ??= toCelInput(request.object));
    },
    get oldObject() {
      return (oldObject ??= toCelInput(request.oldObject));
    },
  };
}
