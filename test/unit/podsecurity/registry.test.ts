import { describe, expect, it } from "vitest";
import { POD_SECURITY_CHECKS } from "../../../src/podsecurity/registry.js";
import { LATEST_KNOWN_MINOR } from "../../../src/podsecurity/version.js";

describe("check registry", () => {
  it("lists each check id once", () => {
    const ids = POD_SECURITY_CHECKS.map((check) => check.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each(POD_SECURITY_CHECKS.map((check) => [check.id, check]))("%s has ordered, known versions", (_id, check) => {
    const minors = check.versions.map((version) => version.sinceMinor);
    expect(minors.length).toBeGreaterThan(0);
    expect(minors).toEqual([...new Set(minors)].sort((a, b) => a - b));
    expect(Math.max(...minors)).toBeLessThanOrEqual(LATEST_KNOWN_MINOR);
  });

  it("only lets restricted checks override baseline checks", () => {
    const levelOf = new Map(POD_SECURITY_CHECKS.map((check) => [check.id, check.level]));
    for (const check of POD_SECURITY_CHECKS) {
      const overridden = check.versions.flatMap((version) => version.overrides ?? []);
      if (overridden.length > 0) expect(check.level).toBe("restricted");
      for (const id of overridden) expect(levelOf.get(id)).toBe("baseline");
    }
  });
});
