// Self-healing of governed Deployments: pure decisions (views, symptoms, ladder, history,
// patches) and the approved-change lookup the rollback relies on.
export * from "./approved-changes.js";
export * from "./decide.js";
export * from "./history.js";
export * from "./patches.js";
export * from "./revisions.js";
export * from "./settings.js";
export * from "./symptoms.js";
export * from "./views.js";
