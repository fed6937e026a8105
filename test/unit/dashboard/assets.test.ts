import { Script } from "node:vm";
import { describe, expect, it } from "vitest";
import { DASHBOARD_CSP } from "../../../src/dashboard/routes.js";
import { APP_JS } from "../../../src/dashboard/static/app-js.js";
import { INDEX_HTML } from "../../../src/dashboard/static/index-html.js";

describe("dashboard assets", () => {
  it("ship a script that parses and never writes HTML from data", () => {
    expect(() => new Script(APP_JS)).not.toThrow();
    expect(APP_JS).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    expect(APP_JS).toContain("sessionStorage");
    expect(APP_JS).toContain('"Bearer " + token()');
  });

  it("keep every script and style out of the page, as the CSP requires", () => {
    expect(INDEX_HTML).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(INDEX_HTML).not.toMatch(/\sstyle=|\son[a-z]+=/);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain("unsafe");
    expect(DASHBOARD_CSP).toContain("frame-ancestors 'none'");
  });
});
