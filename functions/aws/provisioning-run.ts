/** Lambda for the provision task BeginProvisioning, RecordOutputs and PublishProvisioningFailed: a provisioning run's start and end. */
import { createProvisioningRunHandler } from "../provisioning/handlers";
import { logger, provisioningDeps } from "./runtime";

export const handler = createProvisioningRunHandler(provisioningDeps(), logger());
