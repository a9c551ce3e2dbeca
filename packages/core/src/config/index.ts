export { defineConfig, formatPath, type ParseConfigOptions, parseConfig } from "./parse";
export * from "./schema";
export { referencedSecretNames, type SecretReference, secretReferences } from "./secrets";
export type { Completion } from "./webhooks-schema";
export * from "./warehouse-schema";
