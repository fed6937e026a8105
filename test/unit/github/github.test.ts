import { describe, expect, it } from "vitest";
import {
  GIT_COMMIT_ANNOTATION,
  GIT_REPOSITORY_ANNOTATION,
  gitAnnotationsOf,
  gitReferenceOf,
} from "../../../src/api/git-reference.js";
import { githubSignature, verifyGitHubSignature } from "../../../src/http/github-webhook.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";

describe("git references", () => {
  it("reads the commit and repository annotations, falling back to the policy's repository", () => {
    expect(
      gitReferenceOf({ [GIT_COMMIT_ANNOTATION]: SHA, [GIT_REPOSITORY_ANNOTATION]: "acme/api" }, "acme/web"),
    ).toEqual({ repository: "acme/api", sha: SHA });
    expect(gitReferenceOf({ [GIT_COMMIT_ANNOTATION]: SHA.toUpperCase() }, "acme/web")).toEqual({
      repository: "acme/web",
      sha: SHA,
    });
  });

  it("names nothing without a commit, without a repository, or with malformed values", () => {
    expect(gitReferenceOf({}, "acme/web")).toBeUndefined();
    expect(gitReferenceOf({ [GIT_COMMIT_ANNOTATION]: SHA })).toBeUndefined();
    expect(gitReferenceOf({ [GIT_COMMIT_ANNOTATION]: "abc123" }, "acme/web")).toBeUndefined();
    expect(gitReferenceOf({ [GIT_COMMIT_ANNOTATION]: SHA, [GIT_REPOSITORY_ANNOTATION]: "../../etc" })).toBeUndefined();
    expect(gitReferenceOf(undefined, "acme/web")).toBeUndefined();
  });

  it("copies only the git annotations from an object, for the gate", () => {
    const object = {
      metadata: {
        annotations: {
          [GIT_COMMIT_ANNOTATION]: SHA,
          [GIT_REPOSITORY_ANNOTATION]: "acme/web",
          other: "x",
          "aegis.valina.ai/reason": "y",
        },
      },
    };
    expect(gitAnnotationsOf(object)).toEqual({ [GIT_COMMIT_ANNOTATION]: SHA, [GIT_REPOSITORY_ANNOTATION]: "acme/web" });
    expect(gitAnnotationsOf(null)).toEqual({});
    expect(gitAnnotationsOf({ metadata: { annotations: { [GIT_COMMIT_ANNOTATION]: 42 } } })).toEqual({});
  });
});

describe("GitHub webhook signatures", () => {
  it("matches GitHub's documented example and refuses changes", () => {
    // From docs.github.com "Validating webhook deliveries".
    expect(githubSignature("It's a Secret to Everybody", "Hello, World!")).toBe(
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    );
    const body = Buffer.from('{"zen":"x"}');
    expect(verifyGitHubSignature("s", body, githubSignature("s", body))).toBe(true);
    expect(verifyGitHubSignature("s", body, githubSignature("t", body))).toBe(false);
    expect(verifyGitHubSignature("s", body, undefined)).toBe(false);
    expect(verifyGitHubSignature("s", Buffer.from('{"zen":"y"}'), githubSignature("s", body))).toBe(false);
  });
});
