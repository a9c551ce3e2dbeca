export { defineConfig, formatPath, type ParseConfigOptions, parseConfig } from "./parse";
export * from "./provisioning-schema";
export * from "./schema";
export { referencedSecretNames, type SecretReference, secretReferences } from "./secrets";
export * from "./warehouse-schema";
