/** Lambda for the provision task BootstrapWarehouse: runs the warehouse's statements. */
import { SsmPrivateKeyStore } from "@tapestry/core/adapters/aws/ssm-private-key-store";
import { createSnowflakeConnect } from "@tapestry/core/adapters/snowflake";
import { type BootstrapDeps, ProvisioningInputError } from "@tapestry/core/provisioning";
import { createWarehouseBootstrapper } from "@tapestry/core/provisioning/warehouse";
import type { Context } from "aws-lambda";
import { coreLogger } from "../powertools";
import { createBootstrapWarehouseHandler } from "../provisioning/handlers";
import { tapestryConfig } from "./runtime/config";
import { env } from "./runtime/environment";
import { logger } from "./runtime/powertools";
import { provisioningDeps } from "./runtime/provisioning";
import { ssmClient } from "./runtime/ssm";

/** prov-warehouse's bootstrapper over snowflake-promise, the service users' keys in SSM. */
export function bootstrapWarehouseDeps(): BootstrapDeps {
  return {
    ...provisioningDeps(),
    bootstrapper: () => {
      const warehouse = tapestryConfig().warehouse;
      if (!warehouse) throw new ProvisioningInputError("the config has no warehouse section to bootstrap");
      const keys = new SsmPrivateKeyStore({ client: ssmClient(), stage: env("TAPESTRY_STAGE") });
      return createWarehouseBootstrapper(warehouse, {
        connect: createSnowflakeConnect(),
        secrets: (name) => keys.readRequired(name),
        keys,
        logger: coreLogger(logger()),
      });
    },
  };
}

// Built on the first invocation, kept for the container: the bundled config and the variables are
// read then, so a missing one fails that invocation by name rather than the cold start.
let built: ((event: unknown, context: Context) => Promise<unknown>) | undefined;

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  built ??= createBootstrapWarehouseHandler(bootstrapWarehouseDeps(), logger());
  return built(event, context);
};
