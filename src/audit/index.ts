export * from "./audit.js";
export * from "./view.js";
