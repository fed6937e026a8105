export * from "./state.js";
export * from "./rules.js";
export * from "./settings.js";
export * from "./view.js";
export * from "./decisions.js";
export * from "./quorum.js";
export * from "./baseline.js";
