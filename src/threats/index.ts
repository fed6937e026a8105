export * from "./types.js";
export * from "./detectors.js";
export * from "./detector.js";
export * from "./evidence.js";
export * from "./observation.js";
export * from "./lockdown-annotation.js";
