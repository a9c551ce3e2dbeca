export * from "./cursor";
export * from "./errors";
export { type IncomingEvent, incomingEvent } from "./incoming-event";
export * from "./port";
export { applyEvent, compareEvents, projectRun } from "./projection";
