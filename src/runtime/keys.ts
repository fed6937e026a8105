import type { KubernetesObject } from "@kubernetes/client-node";

/** A parsed queue key. `namespace` is absent for cluster-scoped objects. */
export interface ObjectRef {
  readonly namespace?: string;
  readonly name: string;
}

/** `namespace/name`, or `name` for cluster-scoped objects (client-go `MetaNamespaceKeyFunc`). */
export function keyOf(ref: ObjectRef): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

/** The queue key of an object from the cache or an event; undefined when it has no name. */
export function objectKey(obj: KubernetesObject): string | undefined {
  const name = obj.metadata?.name;
  if (!name) return undefined;
  const namespace = obj.metadata?.namespace;
  return keyOf(namespace ? { namespace, name } : { name });
}

/** The inverse of `keyOf`. */
export function parseKey(key: string): ObjectRef {
  const slash = key.indexOf("/");
  if (slash < 0) return { name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
