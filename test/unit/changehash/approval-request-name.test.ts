import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_OBJECT_NAME_LENGTH, approvalRequestName, isDns1123Subdomain } from "../../../src/changehash/index.js";

const HASH = `sha256:3f2a9c1b0d${"a".repeat(54)}`;

describe("approvalRequestName", () => {
  it("is <kind>-<name>-<10 hex> in lower case", () => {
    expect(approvalRequestName("Deployment", "web", HASH)).toBe("deployment-web-3f2a9c1b0d");
    expect(approvalRequestName("CronJob", "Nightly.Report", HASH)).toBe("cronjob-nightly.report-3f2a9c1b0d");
  });

  it("cuts a long name but keeps the hash suffix, leaving no '-' or '.' before it", () => {
    const name = `${"a".repeat(230)}.-b${"c".repeat(30)}`;
    const result = approvalRequestName("Deployment", name, HASH);
    expect(result.length).toBeLessThanOrEqual(MAX_OBJECT_NAME_LENGTH);
    expect(result.endsWith("a-3f2a9c1b0d")).toBe(true);
    expect(isDns1123Subdomain(result)).toBe(true);
  });

  it("uses the whole 253 characters when it can", () => {
    const result = approvalRequestName("Deployment", "x".repeat(300), HASH);
    expect(result).toHaveLength(MAX_OBJECT_NAME_LENGTH);
  });

  it("is always a valid DNS-1123 subdomain that keeps the hash (property)", () => {
    const nameChars = fc.constantFrom(..."abcxyzABC019-._/ é".split(""));
    fc.assert(
      fc.property(
        fc.constantFrom("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"),
        fc.oneof(fc.string({ unit: nameChars, maxLength: 400 }), fc.string({ maxLength: 300 })),
        fc.stringMatching(/^[0-9a-f]{64}$/),
        (kind, name, hex) => {
          const result = approvalRequestName(kind, name, `sha256:${hex}`);
          expect(isDns1123Subdomain(result)).toBe(true);
          expect(result.startsWith(`${kind.toLowerCase()}-`)).toBe(true);
          expect(result.endsWith(`-${hex.slice(0, 10)}`)).toBe(true);
        },
      ),
    );
  });

  it("keeps a valid short name intact (property)", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/), (name) => {
        expect(approvalRequestName("Deployment", name, HASH)).toBe(`deployment-${name}-3f2a9c1b0d`);
      }),
    );
  });
});
