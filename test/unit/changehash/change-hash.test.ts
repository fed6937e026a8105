import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  RESTARTED_AT_ANNOTATION,
  canonicalSha256,
  computeChangeHash,
  gatedSpecOf,
  isChangeHash,
  shortChangeHash,
} from "../../../src/changehash/index.js";

function deployment(
  overrides: { replicas?: number; image?: string; annotations?: Record<string, string> } = {},
): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "prod", labels: { team: "a" } },
    spec: {
      replicas: overrides.replicas ?? 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: {
          labels: { app: "web" },
          ...(overrides.annotations === undefined ? {} : { annotations: overrides.annotations }),
        },
        spec: { containers: [{ name: "web", image: overrides.image ?? "ghcr.io/acme/web:1.2" }] },
      },
    },
    status: { readyReplicas: 2 },
  };
}

/** Rebuilds a JSON value with every object's keys in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value).reverse();
  return Object.fromEntries(entries.map(([key, item]) => [key, reverseKeys(item)]));
}

const jsonSpec = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 });

describe("computeChangeHash", () => {
  it("is sha256: + 64 hex of the canonical spec", () => {
    const hash = computeChangeHash(deployment());
    expect(isChangeHash(hash)).toBe(true);
    expect(hash).toBe(canonicalSha256(gatedSpecOf(deployment())));
  });

  it("hashes a missing spec as {}", () => {
    expect(computeChangeHash({ kind: "Deployment" })).toBe(canonicalSha256({}));
    expect(computeChangeHash(null)).toBe(canonicalSha256({}));
    expect(computeChangeHash("not an object")).toBe(canonicalSha256({}));
  });

  it("ignores metadata and status", () => {
    const other = { ...deployment(), metadata: { name: "x" }, status: {} };
    expect(computeChangeHash(other)).toBe(computeChangeHash(deployment()));
  });

  it("ignores replicas and the restartedAt annotation", () => {
    const base = computeChangeHash(deployment());
    expect(computeChangeHash(deployment({ replicas: 9 }))).toBe(base);
    expect(computeChangeHash(deployment({ annotations: { [RESTARTED_AT_ANNOTATION]: "2024-01-01T00:00:00Z" } }))).toBe(
      base,
    );
  });

  it("gives one hash for restart then un-restart (empty annotations are absent)", () => {
    const base = computeChangeHash(deployment());
    expect(computeChangeHash(deployment({ annotations: {} }))).toBe(base);
    const templateWithoutMetadata = deployment();
    const restarted = deployment();
    const spec = templateWithoutMetadata["spec"] as { template: Record<string, unknown> };
    delete spec.template["metadata"];
    (restarted["spec"] as { template: Record<string, unknown> }).template["metadata"] = {
      annotations: { [RESTARTED_AT_ANNOTATION]: "now" },
    };
    expect(computeChangeHash(restarted)).toBe(computeChangeHash(templateWithoutMetadata));
  });

  it("keeps other pod template annotations", () => {
    const annotated = deployment({ annotations: { [RESTARTED_AT_ANNOTATION]: "now", "team/x": "1" } });
    expect(computeChangeHash(annotated)).not.toBe(computeChangeHash(deployment()));
    expect(computeChangeHash(annotated)).toBe(computeChangeHash(deployment({ annotations: { "team/x": "1" } })));
  });

  it("strips restartedAt from a CronJob's job template", () => {
    const cronJob = (annotations: Record<string, string> | undefined): unknown => ({
      kind: "CronJob",
      spec: {
        schedule: "* * * * *",
        jobTemplate: { spec: { template: { metadata: annotations ? { annotations } : {}, spec: { containers: [] } } } },
      },
    });
    expect(computeChangeHash(cronJob({ [RESTARTED_AT_ANNOTATION]: "now" }))).toBe(
      computeChangeHash(cronJob(undefined)),
    );
  });

  it("hashes a bare Pod's spec as it is", () => {
    const pod = { kind: "Pod", spec: { containers: [{ name: "a", image: "nginx" }] } };
    expect(computeChangeHash(pod)).toBe(canonicalSha256(pod.spec));
  });

  it("does not throw on lone surrogates or non-finite numbers", () => {
    expect(isChangeHash(computeChangeHash({ spec: { a: "\ud800", b: Number.NaN, c: [undefined] } }))).toBe(true);
  });

  it("does not mutate its input", () => {
    const object = deployment({ annotations: { [RESTARTED_AT_ANNOTATION]: "now" } });
    const before = structuredClone(object);
    computeChangeHash(object);
    expect(object).toEqual(before);
  });

  it("is sha256 of the canonicalize package's RFC 8785 text of the gated spec, whatever the keys (property)", () => {
    // Integer-like keys, __proto__ and lone surrogates take the slow path; the rest the fast copy.
    const awkwardKey = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("10", "9", "0", "__proto__", "\ud800"));
    const awkwardSpec = fc.dictionary(awkwardKey, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 });
    fc.assert(
      fc.property(fc.oneof(jsonSpec, awkwardSpec), (spec) => {
        const reference = `sha256:${createHash("sha256")
          .update(canonicalize(gatedSpecOf({ spec })) ?? "", "utf8")
          .digest("hex")}`;
        expect(computeChangeHash({ spec })).toBe(reference);
      }),
      { numRuns: 500 },
    );
  });

  it("is stable under key order (property)", () => {
    fc.assert(
      fc.property(jsonSpec, (spec) => {
        expect(computeChangeHash({ spec: reverseKeys(spec) })).toBe(computeChangeHash({ spec }));
      }),
    );
  });

  it("changes when any gated field changes (property)", () => {
    fc.assert(
      fc.property(
        jsonSpec,
        fc.string({ minLength: 1, maxLength: 8 }),
        fc.jsonValue({ maxDepth: 2 }),
        (spec, key, value) => {
          fc.pre(key !== "replicas" && key !== "template" && key !== "jobTemplate");
          fc.pre(JSON.stringify(spec[key]) !== JSON.stringify(value));
          expect(computeChangeHash({ spec: { ...spec, [key]: value } })).not.toBe(computeChangeHash({ spec }));
        },
      ),
    );
  });

  it("changes when a container field changes (property)", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (imageA, imageB) => {
        fc.pre(imageA !== imageB);
        expect(computeChangeHash(deployment({ image: imageA }))).not.toBe(
          computeChangeHash(deployment({ image: imageB })),
        );
      }),
    );
  });

  it("is unchanged by replicas and restartedAt (property)", () => {
    fc.assert(
      fc.property(fc.nat(), fc.option(fc.string()), (replicas, restartedAt) => {
        const annotations = restartedAt === null ? {} : { [RESTARTED_AT_ANNOTATION]: restartedAt };
        expect(computeChangeHash(deployment({ replicas, annotations }))).toBe(computeChangeHash(deployment()));
      }),
    );
  });
});

describe("shortChangeHash", () => {
  it("gives the first 10 hex digits", () => {
    expect(shortChangeHash(`sha256:3f2a9c1b0d${"e".repeat(54)}`)).toBe("3f2a9c1b0d");
  });
});
