/** Lambda for the provision task BootstrapWarehouse: runs the warehouse's statements. */
import { createBootstrapWarehouseHandler } from "../provisioning/handlers";
import { bootstrapWarehouseDeps, logger } from "./runtime";

export const handler = createBootstrapWarehouseHandler(bootstrapWarehouseDeps(), logger());
