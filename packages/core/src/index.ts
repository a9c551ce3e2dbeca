export * from "./config";
export * from "./connectors";
export * from "./errors";
export * from "./http";
export * from "./logging";
export * from "./pipeline";
