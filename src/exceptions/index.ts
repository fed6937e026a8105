export * from "./standing.js";
export * from "./waive.js";
export * from "./active.js";
