/**
 * The Snowflake bootstrap: the names it creates (names.ts), the plan of statements (plan.ts), the
 * history of what was applied (history.ts), the service users' key pairs (keys.ts), the executor
 * (bootstrapper.ts, its contract in contract.ts, its errors in errors.ts) and the Snowflake
 * session port (session.ts).
 */
export { createWarehouseBootstrapper } from "./bootstrapper";
export {
  type PrivateKeyStore,
  type ServiceUserKeyReport,
  WAREHOUSE_BOOTSTRAP_RETRYABLE_ERRORS,
  type WarehouseBootstrapDeps,
  type WarehouseBootstrapper,
  type WarehouseBootstrapRequest,
  type WarehouseBootstrapResult,
  type WarehouseStatementReport,
  type WarehouseStatementState,
  warehouseBootstrapRequestSchema,
} from "./contract";
export {
  type FailedStatement,
  WarehouseBootstrapError,
  type WarehouseFailure,
  WarehouseHistoryChangedError,
  WarehouseUnavailableError,
} from "./errors";
export { type AppliedStatement, readHistorySql, recordSql } from "./history";
export {
  adminPrivateKeyPem,
  generateServiceKeyPair,
  type KeyPair,
  keyPairOfStored,
  RSA_MODULUS_BITS,
  withRealNewlines,
} from "./keys";
export {
  type HistoryTableNames,
  type ServiceUserNames,
  TOOL_ROLES,
  WAREHOUSE_ROLES,
  type WarehouseNames,
  type WarehouseRole,
  type WarehouseSecretReference,
  warehouseNames,
  warehouseSecretAccess,
  warehouseSecretReferences,
} from "./names";
export {
  type PlannedKey,
  type PlannedKeys,
  RESOURCE_MONITOR_TRIGGERS,
  type SystemRole,
  type WarehouseStatement,
  warehousePlan,
} from "./plan";
export { planAsSql, reviewedPlanText } from "./plan-text";
export {
  SNOWFLAKE_OBJECT_DOES_NOT_EXIST,
  type SnowflakeBind,
  type SnowflakeConnect,
  type SnowflakeCredentials,
  SnowflakeError,
  type SnowflakeRow,
  type SnowflakeSession,
  type SnowflakeSignIn,
} from "./session";
