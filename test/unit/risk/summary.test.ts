import { describe, expect, it } from "vitest";
import { summarizeChange } from "../../../src/risk/index.js";

function deployment(
  containers: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { kind: "Deployment", spec: { replicas: 1, template: { spec: { containers, ...extra } } } };
}

describe("summarizeChange", () => {
  it("names the image change", () => {
    const before = deployment([{ name: "web", image: "ghcr.io/acme/web:1.2" }]);
    const after = deployment([{ name: "web", image: "ghcr.io/acme/web:1.3" }]);
    expect(summarizeChange("Deployment", before, after)).toBe("image ghcr.io/acme/web:1.2 -> ghcr.io/acme/web:1.3");
  });

  it("lists every image change, added and removed containers", () => {
    const before = deployment([
      { name: "web", image: "web:1" },
      { name: "old", image: "old:1" },
    ]);
    const after = deployment([
      { name: "web", image: "web:2" },
      { name: "sidecar", image: "envoy:1" },
    ]);
    expect(summarizeChange("Deployment", before, after)).toBe(
      'image web:1 -> web:2; container "sidecar" added (image envoy:1); container "old" removed',
    );
  });

  it("describes a new workload with its images", () => {
    expect(summarizeChange("Deployment", null, deployment([{ name: "web", image: "ghcr.io/acme/web:1.3" }]))).toBe(
      "new Deployment with image ghcr.io/acme/web:1.3",
    );
    expect(
      summarizeChange(
        "Deployment",
        null,
        deployment([
          { name: "a", image: "a:1" },
          { name: "b", image: "b:1" },
        ]),
      ),
    ).toBe("new Deployment with images a:1, b:1");
    expect(summarizeChange("CronJob", null, { spec: {} })).toBe("new CronJob");
  });

  it("lists changed spec fields otherwise, with named list items", () => {
    const before = deployment([{ name: "web", image: "w:1", env: [{ name: "A", value: "1" }] }]);
    const after = deployment([{ name: "web", image: "w:1", env: [{ name: "A", value: "2" }] }], {
      serviceAccountName: "x",
    });
    expect(summarizeChange("Deployment", before, after)).toBe(
      "spec change (fields: template.spec.containers[web].env[A].value, template.spec.serviceAccountName)",
    );
  });

  it("ignores replicas like the change hash does", () => {
    const before = deployment([{ name: "web", image: "w:1" }]);
    const after = { ...before, spec: { ...(before["spec"] as object), replicas: 9 } };
    expect(summarizeChange("Deployment", before, after)).toBe("no spec change");
  });

  it("caps the field list", () => {
    const before = { spec: { a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1 } };
    const after = { spec: { a: 2, b: 2, c: 2, d: 2, e: 2, f: 2, g: 2 } };
    expect(summarizeChange("Pod", before, after)).toBe("spec change (fields: a, b, c, d, e, +2 more)");
  });
});
