export * from "./types.js";
export * from "./pod-template.js";
export * from "./image.js";
export * from "./selector.js";
export * from "./cel.js";
export * from "./compile.js";
export * from "./match.js";
export * from "./engine.js";
export { checkFieldsOf, createCheckContext, type CheckContext, type CompiledCheck } from "./checks/index.js";
