// The image checks compare parsed references, not strings. Every test here fails against the old
// `normalized.startsWith(prefix)` matching, which admitted look-alike hosts, sibling
// organisations and references the runtime cannot parse.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PolicyCompileError, compilePolicy, evaluate, parseImageReference } from "../../../src/policy/index.js";
import { compliantContainer, deployment, gateRequest, parsePolicy, policyWithChecks } from "./fixtures.js";

const SHA256 = `sha256:${"0123456789abcdef".repeat(4)}`;
const SHA512 = `sha512:${"0123456789abcdef".repeat(8)}`;

const withImages = (...images: string[]): Record<string, unknown> =>
  deployment({ containers: images.map((image, index) => compliantContainer(`c${index}`, image)) });

function messages(check: Record<string, unknown>, ...images: string[]): string[] {
  const policy = policyWithChecks([{ name: "c", ...check }]);
  return evaluate([policy], gateRequest(withImages(...images))).denied.map((violation) => violation.message);
}

/** The images of `images` that the allowedRegistries entries refuse. */
function refused(entries: string[], ...images: string[]): string[] {
  const found = messages({ allowedRegistries: entries }, ...images);
  return images.filter((_, index) => found.some((message) => message.startsWith(`container "c${index}" `)));
}

describe("allowedRegistries matches the registry host exactly", () => {
  it("refuses a look-alike host and another port of the allowed host", () => {
    const entries = ["registry.k8s.io"];
    expect(
      refused(
        entries,
        "registry.k8s.io/pause:3.9",
        "registry.k8s.io.evil.example/x:1",
        "registry.k8s.iox/x:1",
        "registry.k8s.io:8443/x:1",
      ),
    ).toEqual(["registry.k8s.io.evil.example/x:1", "registry.k8s.iox/x:1", "registry.k8s.io:8443/x:1"]);
    expect(messages({ allowedRegistries: entries }, "registry.k8s.io.evil.example/x:1")).toEqual([
      'container "c0" uses image "registry.k8s.io.evil.example/x:1", not from an allowed registry (registry.k8s.io)',
    ]);
  });

  it("refuses a `..` path under an allowed host as an invalid reference", () => {
    expect(messages({ allowedRegistries: ["registry.k8s.io"] }, "registry.k8s.io/../evil/x:1")).toEqual([
      'container "c0" uses image "registry.k8s.io/../evil/x:1", which is not a valid image reference: path component ".." is not lower-case letters and digits joined by ".", "_", "__" or "-"',
    ]);
  });

  it("matches a registry with a port on host and port", () => {
    expect(
      refused(["localhost:5000"], "localhost:5000/x", "localhost:5000/team/x:1", "localhost:50001/x", "localhost/x"),
    ).toEqual(["localhost:50001/x", "localhost/x"]);
  });

  it("refuses upper case in the path rather than guessing", () => {
    expect(messages({ allowedRegistries: ["ghcr.io/acme"] }, "ghcr.io/acme/Web:1")).toEqual([
      'container "c0" uses image "ghcr.io/acme/Web:1", which is not a valid image reference: path component "Web" has upper-case letters (repository names are lower-case)',
    ]);
  });
});

describe("allowedRegistries path entries match whole leading components", () => {
  const images = ["ghcr.io/acme/web:1", "ghcr.io/acme/team/api:2", "ghcr.io/acme:3", "ghcr.io/acme-evil/web:1"];
  const others = ["ghcr.io/acmeweb:1", "ghcr.io/acme.evil/web:1", "ghcr.io/evil/acme/web:1"];

  it.each([["ghcr.io/acme"], ["ghcr.io/acme/"]])("%s allows ghcr.io/acme/… only", (entry) => {
    expect(refused([entry], ...images, ...others)).toEqual(["ghcr.io/acme-evil/web:1", ...others]);
  });

  it("a deeper entry needs every component", () => {
    expect(
      refused(["ghcr.io/acme/team"], "ghcr.io/acme/team/api:1", "ghcr.io/acme/teamx/api:1", "ghcr.io/acme/web:1"),
    ).toEqual(["ghcr.io/acme/teamx/api:1", "ghcr.io/acme/web:1"]);
  });

  it("normalises Docker Hub names and entries", () => {
    const hub = ["nginx", "library/nginx:1", "docker.io/nginx", "index.docker.io/library/nginx:1", "bitnami/redis:7"];
    for (const entry of ["docker.io/library", "docker.io/library/", "index.docker.io/library/"]) {
      expect(refused([entry], ...hub, "docker.io/library-evil/x:1", "docker.io.evil.example/library/x")).toEqual([
        "bitnami/redis:7",
        "docker.io/library-evil/x:1",
        "docker.io.evil.example/library/x",
      ]);
    }
    expect(refused(["docker.io"], ...hub, "docker.io.evil.example/x:1")).toEqual(["docker.io.evil.example/x:1"]);
  });
});

describe("an invalid reference violates every image check", () => {
  const reason = 'which is not a valid image reference: tag "latest }}" is not 1 to 128 letters';

  it.each([
    [{ allowedRegistries: ["docker.io/library/"] }],
    [{ requireImageDigest: true }],
    [{ disallowLatestTag: true }],
  ])("%j", (check) => {
    const found = messages(check, "nginx:latest }}");
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`container "c0" uses image "nginx:latest }}", ${reason}`);
  });

  it("names an invalid digest rather than calling it missing", () => {
    expect(messages({ requireImageDigest: true }, `nginx@${SHA256.toUpperCase()}`)).toEqual([
      `container "c0" uses image "nginx@${SHA256.toUpperCase()}", which is not a valid image reference: digest algorithm "SHA256" is not supported (sha256, sha384, sha512)`,
    ]);
  });
});

describe("digests and latest", () => {
  it("requireImageDigest accepts a sha512 digest too", () => {
    expect(messages({ requireImageDigest: true }, `ghcr.io/acme/web@${SHA512}`, `ghcr.io/acme/web@${SHA256}`)).toEqual(
      [],
    );
  });

  it("disallowLatestTag: implied and explicit latest violate; latest pinned by a digest does not", () => {
    // The runtime pulls `name:latest@digest` by the digest alone, so what runs cannot change.
    expect(
      messages({ disallowLatestTag: true }, "nginx", "nginx:latest", `nginx:latest@${SHA256}`, `nginx@${SHA256}`),
    ).toEqual([
      'container "c0" uses image "nginx" with no tag and no digest, which means latest',
      'container "c1" uses image "nginx:latest" with the tag latest',
    ]);
  });
});

describe("malformed allowedRegistries entries", () => {
  it("are compile problems of the check", () => {
    const spec = {
      match: { kinds: ["Deployment"] },
      checks: [
        {
          name: "registries",
          allowedRegistries: ["ghcr.io/Acme", "acme", "ghcr.io/acme/web:1", "https://ghcr.io", "ghcr.io//x", "ok.io"],
        },
      ],
    };
    let error: unknown;
    try {
      compilePolicy(parsePolicy(spec));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PolicyCompileError);
    const problems = (error as PolicyCompileError).problems;
    expect(problems.map((problem) => problem.path)).toEqual(["spec.checks[0].allowedRegistries"]);
    const message = problems[0]?.message ?? "";
    expect(message).toContain('allowed registry "ghcr.io/Acme" is malformed: path component "Acme" has upper-case');
    expect(message).toContain('allowed registry "acme" is malformed: "acme" is not a registry host');
    expect(message).toContain('allowed registry "ghcr.io/acme/web:1" is malformed: it has a tag');
    expect(message).toContain('allowed registry "https://ghcr.io" is malformed: registry host "https:"');
    expect(message).toContain(
      'allowed registry "ghcr.io//x" is malformed: repository path "/x" has an empty component',
    );
    expect(message).not.toContain("ok.io");
  });
});

// Grammar-following arbitraries (see image-reference.test.ts).
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?$/);
const host = fc.array(label, { minLength: 2, maxLength: 3 }).map((labels) => labels.join("."));
const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:[-._][a-z0-9]{1,4})?$/);
const path = fc.array(component, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"));

describe("allowedRegistries properties", () => {
  it("no host that merely starts with the allowed host is allowed", () => {
    fc.assert(
      fc.property(host, fc.constantFrom(".", "-", ""), label, path, (allowed, glue, extra, repository) => {
        const lookAlike = `${allowed}${glue}${extra}/${repository}:1`;
        fc.pre(parseImageReference(lookAlike).registry !== allowed);
        expect(refused([allowed], lookAlike, `${allowed}/${repository}:1`)).toEqual([lookAlike]);
      }),
    );
  });

  it("a path entry allows exactly the images whose leading components equal it", () => {
    fc.assert(
      fc.property(
        host,
        path,
        fc.constantFrom("", "-", ".", "_"),
        component,
        path,
        (registry, prefix, glue, extra, rest) => {
          const sibling = `${registry}/${prefix}${glue}${extra}/${rest}:1`;
          fc.pre(!`${prefix}${glue}${extra}/${rest}`.startsWith(`${prefix}/`));
          expect(refused([`${registry}/${prefix}`], `${registry}/${prefix}/${rest}:1`, sibling)).toEqual([sibling]);
        },
      ),
    );
  });

  it("whatever the string, an allowed image is a valid reference on the allowed registry", () => {
    fc.assert(
      fc.property(fc.constantFrom("", "registry.k8s.io", "registry.k8s.io/"), fc.string(), (head, tail) => {
        const raw = head + tail;
        const image = parseImageReference(raw);
        const allowed = refused(["registry.k8s.io"], raw).length === 0;
        expect(allowed).toBe(image.invalid === undefined && image.registry === "registry.k8s.io");
        if (allowed) expect(image.normalized.startsWith("registry.k8s.io/")).toBe(true);
      }),
      { examples: [["registry.k8s.io/", "x y"]] },
    );
  });
});
