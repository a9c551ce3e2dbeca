/** Lambda for the provision tasks BeginProvisioning, RecordOutputs and PublishProvisioningFailed: a provisioning run's start and end. */
import type { Context } from "aws-lambda";
import { createProvisioningRunHandler } from "../provisioning/handlers";
import { logger } from "./runtime/powertools";
import { provisioningDeps } from "./runtime/provisioning";

// Built on the first invocation, kept for the container: the bundled config and the variables are
// read then, so a missing one fails that invocation by name rather than the cold start.
let built: ((event: unknown, context: Context) => Promise<unknown>) | undefined;

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  built ??= createProvisioningRunHandler(provisioningDeps(), logger());
  return built(event, context);
};
