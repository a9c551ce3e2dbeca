export * from "./errors";
export * from "./problem";
export * from "./requests";
export * from "./service";
export * from "./views";
