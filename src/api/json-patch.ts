/** The RFC 6902 operations AEGIS writes: a `test` guard, then adds and replaces. */
export type JsonPatchOp =
  | { readonly op: "test"; readonly path: string; readonly value: unknown }
  | { readonly op: "add" | "replace"; readonly path: string; readonly value: unknown };
