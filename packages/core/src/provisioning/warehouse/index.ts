/**
 * The Snowflake bootstrap: the names it creates (names.ts). The bootstrapper's contract follows.
 */
export {
  type HistoryTableNames,
  type ServiceUserNames,
  TOOL_ROLES,
  WAREHOUSE_ROLES,
  type WarehouseNames,
  type WarehouseRole,
  warehouseNames,
} from "./names";
