export * from "./errors";
export * from "./problem";
export * from "./read-cache";
export * from "./requests";
export * from "./retries";
export * from "./retry";
export * from "./service";
export * from "./views";
