/** Lambda for the provision task BootstrapWarehouse: runs the warehouse's statements. */
import type { Context } from "aws-lambda";
import { createBootstrapWarehouseHandler } from "../provisioning/handlers";
import { bootstrapWarehouseDeps, logger } from "./runtime";

// Built on the first invocation, kept for the container: the bundled config and the variables are
// read then, so a missing one fails that invocation by name rather than the cold start.
let built: ((event: unknown, context: Context) => Promise<unknown>) | undefined;

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  built ??= createBootstrapWarehouseHandler(bootstrapWarehouseDeps(), logger());
  return built(event, context);
};
