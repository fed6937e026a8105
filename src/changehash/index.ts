export * from "./canonical-hash.js";
export * from "./change-hash.js";
export * from "./approval-request-name.js";
