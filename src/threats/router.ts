import { Router } from "express";
import type { ThreatDetector } from "./detector.js";

/** `GET /api/security/status`: the detector's status as JSON (mount at the app root). */
export function createSecurityStatusRouter(detector: Pick<ThreatDetector, "status">): Router {
  const router = Router();
  router.get("/api/security/status", (_request, response) => {
    response.set("Cache-Control", "no-store").json(detector.status());
  });
  return router;
}
