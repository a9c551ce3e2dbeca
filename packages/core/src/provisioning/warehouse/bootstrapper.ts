import type { WarehouseConfig } from "../../config/warehouse-schema";
import type { WarehouseBootstrapDeps, WarehouseBootstrapper } from "./contract";
import { WarehouseBootstrapError } from "./errors";

/**
 * The warehouse bootstrapper of a (parsed) warehouse section. The contract is fixed here; the
 * executor is built in the commits that follow (workstream prov-warehouse).
 */
export function createWarehouseBootstrapper(
  _config: WarehouseConfig,
  _deps: WarehouseBootstrapDeps,
): WarehouseBootstrapper {
  return async () => {
    throw new WarehouseBootstrapError("the warehouse bootstrap executor is not built yet");
  };
}
