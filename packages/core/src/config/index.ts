export { defineConfig, formatPath, parseConfig } from "./parse";
export * from "./schema";
