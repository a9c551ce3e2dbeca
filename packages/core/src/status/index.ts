export * from "./errors";
export * from "./problem";
export * from "./read-cache";
export * from "./requests";
export * from "./service";
export * from "./views";
