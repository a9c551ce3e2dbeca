export {
  type AirbyteBinding,
  airbyteBindingSchema,
  type DbtCloudBinding,
  dbtCloudBindingSchema,
  type GrouparooBinding,
  grouparooBindingSchema,
  parseWarehouseBindings,
  type WarehouseBindings,
  WarehouseBindingsError,
  type WarehouseBindingsInput,
  warehouseBindingsSchema,
} from "./bindings";
export {
  type Materialization,
  ModelRenderError,
  quoteTableName,
  type RenderedModel,
  type RenderModelOptions,
  renderModel,
} from "./dbt-jinja";
export {
  type LoadResult,
  type ModelResult,
  type OperationOptions,
  type ReadTableOptions,
  type RunModelOptions,
  Warehouse,
  WarehouseError,
  type WarehouseRow,
} from "./duckdb-warehouse";
export {
  bootstrapEmbeddedWarehouse,
  type EmbeddedWarehouseOptions,
  type EmbeddedWarehouseResult,
  embeddedWarehouseStatements,
} from "./embedded-bootstrap";
export {
  KICKSTART_AUDIENCE,
  KICKSTART_DIR,
  KICKSTART_MODEL,
  KICKSTART_SYNCS,
  type KickstartBindingsOptions,
  kickstartBindings,
} from "./kickstart";
export {
  createWarehouseRunners,
  type WarehouseRunners,
  type WarehouseRunnersOptions,
} from "./kickstart-runners";
export {
  type ExecutedStatement,
  fingerprintOf,
  publicKeyFingerprint,
  type ScriptedAccountState,
  type ScriptedFault,
  ScriptedSnowflake,
  type ScriptedSnowflakeOptions,
  scriptedAccountStateSchema,
} from "./scripted-snowflake";
export { type SnowflakeWire, startSnowflakeWire } from "./snowflake-wire";
