export * from "./types.js";
export * from "./detectors.js";
export * from "./detector.js";
export * from "./evidence.js";
export * from "./observation.js";
export * from "./lockdown-annotation.js";
export * from "./lockdown.js";
export * from "./memory-state.js";
