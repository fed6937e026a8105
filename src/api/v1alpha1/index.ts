export * from "./common.js";
export * from "./aegis-policy.js";
export * from "./approval-request.js";
export * from "./conditions.js";
export * from "./aegis-exception.js";
