export * from "./cursor";
export * from "./errors";
export * from "./port";
export { applyEvent, compareEvents, projectRun } from "./projection";
