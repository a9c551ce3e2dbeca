/** Lambda for the provision task EnsureAirbyteObjects: the Airbyte objects by name. */
import { createEnsureAirbyteHandler } from "../provisioning/handlers";
import { ensureAirbyteDeps, logger } from "./runtime";

export const handler = createEnsureAirbyteHandler(ensureAirbyteDeps(), logger());
