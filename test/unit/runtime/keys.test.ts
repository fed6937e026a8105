import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyOf, objectKey, parseKey } from "../../../src/runtime/keys.js";

describe("queue keys", () => {
  it("uses namespace/name, or the bare name for cluster-scoped objects", () => {
    expect(objectKey({ metadata: { name: "web", namespace: "prod" } })).toBe("prod/web");
    expect(objectKey({ metadata: { name: "aegis-baseline" } })).toBe("aegis-baseline");
    expect(objectKey({ metadata: {} })).toBeUndefined();
  });

  it("parseKey inverts keyOf", () => {
    const segment = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/);
    fc.assert(
      fc.property(fc.option(segment, { nil: undefined }), segment, (namespace, name) => {
        const ref = namespace === undefined ? { name } : { namespace, name };
        expect(parseKey(keyOf(ref))).toEqual(ref);
      }),
    );
  });
});
