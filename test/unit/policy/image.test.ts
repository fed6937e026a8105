import { describe, expect, it } from "vitest";
import { hasPinnedDigest, imageSourceOf, parseImageReference, usesLatestTag } from "../../../src/policy/index.js";

const DIGEST = `sha256:${"0".repeat(64)}`;

describe("parseImageReference", () => {
  it.each([
    ["nginx", "docker.io/library/nginx:latest", true],
    ["nginx:1.25", "docker.io/library/nginx:1.25", true],
    ["library/nginx", "docker.io/library/nginx:latest", true],
    ["docker.io/nginx", "docker.io/library/nginx:latest", true],
    ["index.docker.io/acme/web:1", "docker.io/acme/web:1", true],
    ["acme/web:1", "docker.io/acme/web:1", true],
    ["ghcr.io/acme/web:1.2", "ghcr.io/acme/web:1.2", false],
    ["localhost/web", "localhost/web:latest", true],
    ["localhost:5000/web:2", "localhost:5000/web:2", false],
    [`registry.k8s.io/pause@${DIGEST}`, `registry.k8s.io/pause@${DIGEST}`, false],
  ])("normalises %s to %s", (raw, normalized, expanded) => {
    const image = parseImageReference(raw);
    expect(image.normalized).toBe(normalized);
    expect(image.expanded).toBe(expanded);
  });

  it("splits tag and digest, and a port is not a tag", () => {
    expect(parseImageReference(`ghcr.io/a/b:1.0@${DIGEST}`)).toMatchObject({
      registry: "ghcr.io",
      repository: "a/b",
      tag: "1.0",
      digest: DIGEST,
    });
    expect(parseImageReference("host:5000/a/b")).toMatchObject({
      registry: "host:5000",
      repository: "a/b",
      tag: undefined,
    });
  });
});

describe("image predicates", () => {
  it("hasPinnedDigest needs sha256 with 64 hex", () => {
    expect(hasPinnedDigest(parseImageReference(`nginx@${DIGEST}`))).toBe(true);
    expect(hasPinnedDigest(parseImageReference("nginx@sha256:abc"))).toBe(false);
    expect(hasPinnedDigest(parseImageReference("nginx:1"))).toBe(false);
  });

  it("usesLatestTag: latest, or neither tag nor digest, unless a digest pins it", () => {
    expect(usesLatestTag(parseImageReference("nginx"))).toBe(true);
    expect(usesLatestTag(parseImageReference("nginx:latest"))).toBe(true);
    expect(usesLatestTag(parseImageReference(`nginx:latest@${DIGEST}`))).toBe(false);
    expect(usesLatestTag(parseImageReference(`nginx@${DIGEST}`))).toBe(false);
    expect(usesLatestTag(parseImageReference("nginx:1.25"))).toBe(false);
  });

  it("imageSourceOf is the registry plus the organisation", () => {
    expect(imageSourceOf(parseImageReference("ghcr.io/acme/web:1"))).toBe("ghcr.io/acme");
    expect(imageSourceOf(parseImageReference("nginx"))).toBe("docker.io/library");
    expect(imageSourceOf(parseImageReference("registry.k8s.io/pause:3.9"))).toBe("registry.k8s.io");
  });
});
