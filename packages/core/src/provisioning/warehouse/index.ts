/**
 * The Snowflake bootstrap: the names it creates (names.ts), the bootstrapper's contract
 * (contract.ts), its errors (errors.ts) and the Snowflake session port (session.ts).
 */
export { createWarehouseBootstrapper } from "./bootstrapper";
export type {
  PrivateKeyStore,
  ServiceUserKeyReport,
  WarehouseBootstrapDeps,
  WarehouseBootstrapper,
  WarehouseBootstrapRequest,
  WarehouseBootstrapResult,
  WarehouseStatementReport,
  WarehouseStatementState,
} from "./contract";
export {
  type FailedStatement,
  WarehouseBootstrapError,
  type WarehouseFailure,
  WarehouseHistoryChangedError,
  WarehouseUnavailableError,
} from "./errors";
export {
  type HistoryTableNames,
  type ServiceUserNames,
  TOOL_ROLES,
  WAREHOUSE_ROLES,
  type WarehouseNames,
  type WarehouseRole,
  warehouseNames,
} from "./names";
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
