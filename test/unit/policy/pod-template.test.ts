import { describe, expect, it } from "vitest";
import { containersOf, describeContainer, controllerOwnerOf, podTemplateOf } from "../../../src/policy/index.js";

const podSpec = { containers: [{ name: "web", image: "nginx" }] };

describe("podTemplateOf", () => {
  it.each(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"])("reads spec.template of a %s", (kind) => {
    const template = podTemplateOf(kind, { spec: { template: { metadata: { labels: { a: "b" } }, spec: podSpec } } });
    expect(template).toEqual({ metadata: { labels: { a: "b" } }, spec: podSpec });
  });

  it("reads spec.jobTemplate.spec.template of a CronJob", () => {
    const template = podTemplateOf("CronJob", { spec: { jobTemplate: { spec: { template: { spec: podSpec } } } } });
    expect(template).toEqual({ metadata: {}, spec: podSpec });
  });

  it("is the Pod itself for a Pod", () => {
    expect(podTemplateOf("Pod", { metadata: { name: "p" }, spec: podSpec })).toEqual({
      metadata: { name: "p" },
      spec: podSpec,
    });
  });

  it("is undefined for a kind without a pod template", () => {
    expect(podTemplateOf("ConfigMap", { data: {} })).toBeUndefined();
  });

  it("gives an empty template for odd shapes without throwing", () => {
    for (const odd of [null, 7, "x", [], { spec: [] }, { spec: { template: "no" } }]) {
      expect(podTemplateOf("Deployment", odd)).toEqual({ metadata: {}, spec: {} });
    }
  });
});

describe("containersOf", () => {
  it("lists containers, init containers and ephemeral containers with their images", () => {
    const containers = containersOf({
      containers: [{ name: "a", image: "a:1" }],
      initContainers: [{ name: "b", image: "b:1" }],
      ephemeralContainers: [{ name: "c", image: "c:1" }],
    });
    expect(containers.map((c) => [c.type, c.name, c.image])).toEqual([
      ["container", "a", "a:1"],
      ["initContainer", "b", "b:1"],
      ["ephemeralContainer", "c", "c:1"],
    ]);
    expect(containers.map(describeContainer)).toEqual([
      'container "a"',
      'init container "b"',
      'ephemeral container "c"',
    ]);
  });

  it("reads odd shapes defensively", () => {
    expect(containersOf(undefined)).toEqual([]);
    expect(containersOf({ containers: "nope" })).toEqual([]);
    expect(containersOf({ containers: [null, { image: 5 }] }).map((c) => [c.name, c.image])).toEqual([
      ["#0", ""],
      ["#1", ""],
    ]);
  });
});

describe("controllerOwnerOf", () => {
  it("reads the controller reference and nothing else", () => {
    expect(
      controllerOwnerOf({ metadata: { ownerReferences: [{ kind: "ReplicaSet", name: "web-1", controller: true }] } }),
    ).toEqual({ kind: "ReplicaSet", name: "web-1" });
    expect(controllerOwnerOf({ metadata: { ownerReferences: [{ kind: "ReplicaSet" }] } })).toBeUndefined();
    expect(controllerOwnerOf({ metadata: { ownerReferences: [{ kind: "X", controller: "true" }] } })).toBeUndefined();
    expect(controllerOwnerOf({ metadata: {} })).toBeUndefined();
    expect(controllerOwnerOf(null)).toBeUndefined();
  });
});
