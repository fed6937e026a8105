import express, { type Response } from "express";
import { APP_CSS } from "./static/app-css.js";
import { APP_JS } from "./static/app-js.js";
import { INDEX_HTML } from "./static/index-html.js";

/**
 * Only this origin's own script, style and API; no inline code, no framing, no plugins, no
 * forms posting elsewhere. The dashboard builds its DOM with textContent, so even a hostile
 * string in a request (summary, reason) stays text.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

interface Asset {
  path: string;
  type: string;
  body: string;
}

// Embedded as TypeScript string modules, so `tsx src/…` and `node dist/…` serve the very same
// bytes with no copy step and no path resolution at run time.
const ASSETS: readonly Asset[] = [
  { path: "/", type: "text/html; charset=utf-8", body: INDEX_HTML },
  { path: "/dashboard/app.js", type: "text/javascript; charset=utf-8", body: APP_JS },
  { path: "/dashboard/app.css", type: "text/css; charset=utf-8", body: APP_CSS },
];

function secure(res: Response): Response {
  return res.set({
    "Content-Security-Policy": DASHBOARD_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-cache",
  });
}

/** The web dashboard (DESIGN §4 `/`): one page, one script, one stylesheet. */
export function dashboardRouter(): express.Router {
  const router = express.Router();
  for (const asset of ASSETS) {
    router.get(asset.path, (_req, res) => {
      secure(res).type(asset.type).send(asset.body);
    });
  }
  router.get("/favicon.ico", (_req, res) => {
    secure(res).status(204).end();
  });
  return router;
}
