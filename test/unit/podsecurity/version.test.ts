import { describe, expect, it } from "vitest";
import {
  evaluatePodSecurity,
  LATEST_POD_SECURITY_VERSION,
  parsePodSecurityVersion,
} from "../../../src/podsecurity/index.js";
import { plainPod } from "./pods.js";

describe("parsePodSecurityVersion", () => {
  it("reads latest and v1.N", () => {
    expect(parsePodSecurityVersion("latest")).toBe("latest");
    expect(parsePodSecurityVersion("v1.0")).toEqual({ major: 1, minor: 0 });
    expect(parsePodSecurityVersion("v1.37")).toEqual({ major: 1, minor: 37 });
    expect(parsePodSecurityVersion("v1.99")).toEqual({ major: 1, minor: 99 });
  });

  it.each(["v2.0", "v2.x", "1.25", "v1.x", "v1.", "v1.-1", "", "Latest", " v1.25", "v1.25.3"])(
    "rejects %j with a clear error",
    (version) => {
      expect(() => parsePodSecurityVersion(version)).toThrow(/invalid Pod Security version .*"latest" or "v1\.N"/);
    },
  );

  it("makes evaluation throw for a bad version, whatever the Pod", () => {
    expect(() => evaluatePodSecurity(plainPod(), "baseline", "v2.x")).toThrow(/invalid Pod Security version/);
  });
});

describe("LATEST_POD_SECURITY_VERSION", () => {
  it("is a v1.N version", () => {
    expect(parsePodSecurityVersion(LATEST_POD_SECURITY_VERSION)).toMatchObject({ major: 1 });
  });

  it("is what latest and newer-than-known versions evaluate as", () => {
    // hostUsers: false relaxes baseline procMount only from v1.35, so the verdict depends on the version.
    const pod = plainPod({
      hostUsers: false,
      containers: [{ name: "app", securityContext: { procMount: "Unmasked" } }],
    });
    const atLatest = evaluatePodSecurity(pod, "baseline", LATEST_POD_SECURITY_VERSION);
    expect(evaluatePodSecurity(pod, "baseline", "latest")).toEqual(atLatest);
    expect(evaluatePodSecurity(pod, "baseline", "v1.999")).toEqual(atLatest);
  });
});
