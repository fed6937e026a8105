// The reference grammar of github.com/distribution/reference and its normalisation. Every test
// here fails against the old string-splitting parser, which accepted anything and never added
// the implied `:latest`.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasPinnedDigest, parseImageReference, usesLatestTag, type ImageReference } from "../../../src/policy/index.js";

const SHA256 = `sha256:${"0123456789abcdef".repeat(4)}`;
const SHA384 = `sha384:${"0123456789abcdef".repeat(6)}`;
const SHA512 = `sha512:${"0123456789abcdef".repeat(8)}`;

function expectValid(raw: string, normalized: string): ImageReference {
  const image = parseImageReference(raw);
  expect(image.invalid, raw).toBeUndefined();
  expect(image.normalized, raw).toBe(normalized);
  return image;
}

function expectInvalid(raw: string, reason: RegExp): void {
  const image = parseImageReference(raw);
  expect(image.invalid, raw).toMatch(reason);
  expect(image.normalized).toBe(raw);
  expect(hasPinnedDigest(image)).toBe(false);
  expect(usesLatestTag(image)).toBe(true);
}

describe("parseImageReference normalises like the runtime", () => {
  it.each([
    ["nginx", "docker.io/library/nginx:latest"],
    ["library/nginx", "docker.io/library/nginx:latest"],
    ["docker.io/nginx", "docker.io/library/nginx:latest"],
    ["index.docker.io/nginx", "docker.io/library/nginx:latest"],
    ["index.docker.io/acme/web", "docker.io/acme/web:latest"],
    ["acme/web", "docker.io/acme/web:latest"],
    ["registry.k8s.io/pause", "registry.k8s.io/pause:latest"],
    ["localhost/web", "localhost/web:latest"],
  ])("%s is %s (the implied tag is latest)", (raw, normalized) => {
    const image = expectValid(raw, normalized);
    expect(image.expanded).toBe(true);
  });

  it("keeps a port with the registry host, for host names, IPv4 and [IPv6]", () => {
    expect(expectValid("localhost:5000/x", "localhost:5000/x:latest")).toMatchObject({
      registry: "localhost:5000",
      repository: "x",
      tag: undefined,
    });
    expect(expectValid("10.0.0.1:5000/team/x:1", "10.0.0.1:5000/team/x:1").registry).toBe("10.0.0.1:5000");
    expect(expectValid("[::1]:5000/x", "[::1]:5000/x:latest").registry).toBe("[::1]:5000");
    expect(expectValid("my-registry:80/x:v2", "my-registry:80/x:v2").registry).toBe("my-registry:80");
    // Without a '/', `localhost:5000` is the official image "localhost" with tag 5000 (upstream too).
    expect(expectValid("localhost:5000", "docker.io/library/localhost:5000").tag).toBe("5000");
  });

  it("accepts the grammar's separators in path components", () => {
    expectValid("ghcr.io/a.b/c_d/e__f/g---h/i-j:1", "ghcr.io/a.b/c_d/e__f/g---h/i-j:1");
    expectValid("nginx:1.25.3-alpine_x", "docker.io/library/nginx:1.25.3-alpine_x");
    expectValid("nginx:_UPPER.case-ok", "docker.io/library/nginx:_UPPER.case-ok");
    expectInvalid("ghcr.io/a..b/c:1", /path component "a\.\.b"/);
    expectInvalid("ghcr.io/a___b/c:1", /path component "a___b"/);
    expectInvalid("ghcr.io/-a/c:1", /path component "-a"/);
    expectInvalid("ghcr.io/a-/c:1", /path component "a-"/);
  });
});

describe("digests", () => {
  it("pins with sha256, sha384 or sha512 in lower-case hex, with or without a tag", () => {
    for (const digest of [SHA256, SHA384, SHA512]) {
      const image = expectValid(`nginx@${digest}`, `docker.io/library/nginx@${digest}`);
      expect(image).toMatchObject({ tag: undefined, digest });
      expect(hasPinnedDigest(image)).toBe(true);
      expect(usesLatestTag(image)).toBe(false);
    }
    const both = expectValid(`ghcr.io/a/b:1.0@${SHA256}`, `ghcr.io/a/b:1.0@${SHA256}`);
    expect(both).toMatchObject({ registry: "ghcr.io", repository: "a/b", tag: "1.0", digest: SHA256 });
  });

  it.each([
    ["nginx@sha256:abc", /digest "sha256:abc" is not algorithm:hex/],
    [`nginx@sha256:${"0".repeat(63)}`, /not algorithm:hex|64 lower-case hex/],
    [`nginx@sha256:${"0".repeat(65)}`, /exactly 64 lower-case hex digits/],
    [`nginx@sha256:${"A".repeat(64)}`, /exactly 64 lower-case hex digits/],
    [`nginx@sha512:${"0".repeat(64)}`, /exactly 128 lower-case hex digits/],
    [`nginx@md5:${"0".repeat(32)}`, /digest algorithm "md5" is not supported/],
    [`nginx@${"0".repeat(64)}`, /not algorithm:hex/],
    [`nginx@${SHA256}@${SHA256}`, /digest .* is not algorithm:hex/],
    ["nginx@", /digest "" is not algorithm:hex/],
    // A bare image ID is not a name (ParseNormalizedNamed refuses it).
    ["0123456789abcdef".repeat(4), /image ID/],
  ])("refuses %s", (raw, reason) => {
    expectInvalid(raw, reason);
  });
});

describe("invalid references", () => {
  it.each([
    ["nginx:latest }}", /tag "latest }}"/],
    ["nginx:", /tag ""/],
    ["nginx:.hidden", /tag "\.hidden"/],
    ["registry.k8s.io/../evil/x:1", /path component "\.\."/],
    ["registry.k8s.io/./x:1", /path component "\."/],
    ["ghcr.io//x:1", /empty component/],
    ["ghcr.io/x/:1", /empty component/],
    ["/x:1", /empty component/],
    ["ghcr.io/Acme/web:1", /path component "Acme" has upper-case letters/],
    ["acme/Web", /path component "Web" has upper-case letters/],
    ["NGINX", /path component "NGINX" has upper-case letters/],
    // An upper-case first component is a host for normalize.go; hosts must be lower-case here.
    ["Acme/web", /registry host "Acme" has upper-case letters/],
    ["REGISTRY.K8S.IO/pause:3.9", /registry host "REGISTRY.K8S.IO" has upper-case letters/],
    ["a_b.example/x", /registry host "a_b.example" is not a host name/],
    ["-bad.example/x", /registry host "-bad.example"/],
    ["localhost:abc/x", /registry host "localhost:abc"/],
    ["https://ghcr.io/acme/web", /registry host "https:"/],
    ["", /empty/],
    [" nginx", /path component " nginx"/],
    ["nginx ", /path component "nginx "/],
    ["ngi nx:1", /path component "ngi nx"/],
    ["ghcr.io/acme/web:1 }}", /tag "1 }}"/],
    ["ghcr.io/acme/${IMAGE}", /path component "\$\{IMAGE\}"/],
  ])("%j is invalid", (raw, reason) => {
    expectInvalid(raw, reason);
  });

  it("limits the fully qualified name to 255 characters and the tag to 128", () => {
    const path = (length: number): string => "a".repeat(length);
    expectValid(`ghcr.io/${path(247)}:1`, `ghcr.io/${path(247)}:1`);
    expectInvalid(`ghcr.io/${path(248)}:1`, /256 characters long, more than 255/);
    // Docker Hub names count with docker.io/library/ (18 characters) filled in.
    expectValid(path(237), `docker.io/library/${path(237)}:latest`);
    expectInvalid(path(238), /256 characters long/);
    expectInvalid(`ghcr.io/${"ab/".repeat(5000)}x`, /characters long/);
    expectValid(`nginx:${"t".repeat(128)}`, `docker.io/library/nginx:${"t".repeat(128)}`);
    expectInvalid(`nginx:${"t".repeat(129)}`, /tag "t{129}"/);
  });
});

// Arbitraries following the grammar, so generated references are valid by construction.
const alphanumeric = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const separator = fc.constantFrom(".", "_", "__", "-", "---");
const pathComponent = fc
  .tuple(alphanumeric, fc.array(fc.tuple(separator, alphanumeric), { maxLength: 2 }))
  .map(([first, rest]) => first + rest.map(([sep, alnum]) => sep + alnum).join(""));
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?$/);
const host = fc
  .tuple(fc.array(label, { minLength: 2, maxLength: 3 }), fc.option(fc.integer({ min: 1, max: 65535 })))
  .map(([labels, port]) => `${labels.join(".")}${port === null ? "" : `:${port}`}`)
  .filter((name) => !["docker.io", "index.docker.io"].includes(name));
const path = fc.array(pathComponent, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"));
const tag = fc.stringMatching(/^[\w][\w.-]{0,20}$/);
const digest = fc.oneof(
  fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`),
  fc.stringMatching(/^[a-f0-9]{128}$/).map((hex) => `sha512:${hex}`),
);

describe("properties", () => {
  it("a reference built from the grammar parses to its parts, with latest when untagged", () => {
    fc.assert(
      fc.property(
        host,
        path,
        fc.option(tag, { freq: 2 }),
        fc.option(digest, { freq: 2 }),
        (registry, repository, tagged, digested) => {
          const raw = `${registry}/${repository}${tagged === null ? "" : `:${tagged}`}${digested === null ? "" : `@${digested}`}`;
          const image = parseImageReference(raw);
          expect(image.invalid).toBeUndefined();
          expect(image).toMatchObject({
            registry,
            repository,
            tag: tagged ?? undefined,
            digest: digested ?? undefined,
          });
          expect(image.normalized).toBe(tagged === null && digested === null ? `${raw}:latest` : raw);
          expect(usesLatestTag(image)).toBe(digested === null && (tagged === null || tagged === "latest"));
          expect(hasPinnedDigest(image)).toBe(digested !== null);
        },
      ),
      { examples: [["ghcr.io", "acme/web", null, null]] },
    );
  });

  it("a character outside the grammar anywhere in the name or tag makes the reference invalid", () => {
    const foreign = fc.constantFrom(..." \t{}$!%\"'*?&=,;<>|\\^`~#()[]");
    fc.assert(
      fc.property(host, path, fc.option(tag), foreign, fc.nat(), (registry, repository, tagged, char, at) => {
        const valid = `${registry}/${repository}${tagged === null ? "" : `:${tagged}`}`;
        const position = at % (valid.length + 1);
        const raw = valid.slice(0, position) + char + valid.slice(position);
        const image = parseImageReference(raw);
        expect(image.invalid, raw).toBeDefined();
        expect(usesLatestTag(image)).toBe(true);
      }),
    );
  });

  it("upper case in the repository path is never valid", () => {
    fc.assert(
      fc.property(fc.option(host), path, fc.nat(), (registry, repository, at) => {
        const position = at % repository.length;
        const upper =
          repository.slice(0, position) + repository.charAt(position).toUpperCase() + repository.slice(position + 1);
        fc.pre(upper !== repository);
        const raw = registry === null ? `${upper}:1` : `${registry}/${upper}:1`;
        const invalid = parseImageReference(raw).invalid;
        expect(invalid, raw).toBeDefined();
        // The reason names the upper case when it is the only fault.
        if (parseImageReference(raw.toLowerCase()).invalid === undefined) expect(invalid, raw).toMatch(/upper-case/);
      }),
    );
  });
});
