import { describe, expect, it } from "vitest";
import { GATED_KINDS } from "../../../src/api/v1alpha1/index.js";
import { sideDoorKinds } from "../../../src/policy/index.js";

describe("sideDoorKinds", () => {
  it("lists the pod-carrying kinds a policy does not name, Pods, ReplicaSets and Jobs first", () => {
    expect(sideDoorKinds(["Deployment", "StatefulSet", "DaemonSet", "CronJob"])).toEqual(["Pod", "ReplicaSet", "Job"]);
    expect(sideDoorKinds(["Deployment"])).toEqual(["Pod", "ReplicaSet", "Job", "StatefulSet", "DaemonSet", "CronJob"]);
    expect(sideDoorKinds(["Pod", "Job"])).toEqual(["ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "CronJob"]);
  });

  it("is empty when every pod-carrying kind is named", () => {
    expect(sideDoorKinds([...GATED_KINDS])).toEqual([]);
    expect(new Set(sideDoorKinds([]))).toEqual(new Set(GATED_KINDS));
  });
});
