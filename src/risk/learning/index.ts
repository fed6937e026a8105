export * from "./model.js";
export * from "./calibration.js";
export * from "./history-reader.js";
export * from "./report.js";
export * from "./learner.js";
export * from "./published.js";
