export * from "./config";
export * from "./connectors";
export * from "./errors";
export * from "./events";
export * from "./http";
export * from "./ledger";
export * from "./logging";
export * from "./pipeline";
