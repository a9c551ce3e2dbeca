export {
  type AlertsConfig,
  alertsSchema,
  MAX_DURATION_MINUTES_LIMIT,
  MAX_STALE_MINUTES_LIMIT,
  type PipelineAlertsConfig,
  pipelineAlertsSchema,
  type RowsAnomalyConfig,
  rowsAnomalySchema,
} from "./alerts-schema";
export * from "./hosting-schema";
export { defineConfig, formatPath, type ParseConfigOptions, parseConfig } from "./parse";
export * from "./provisioning-schema";
export * from "./schema";
export { referencedSecretNames, type SecretReference, secretReferences } from "./secrets";
export * from "./warehouse-schema";
export type { Completion } from "./webhooks-schema";
