/** Lambda for the provision task EnsureAirbyteObjects: the Airbyte objects by name. */
import type { Context } from "aws-lambda";
import { createEnsureAirbyteHandler } from "../provisioning/handlers";
import { ensureAirbyteDeps, logger } from "./runtime";

// Built on the first invocation, kept for the container: the bundled config and the variables are
// read then, so a missing one fails that invocation by name rather than the cold start.
let built: ((event: unknown, context: Context) => Promise<unknown>) | undefined;

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  built ??= createEnsureAirbyteHandler(ensureAirbyteDeps(), logger());
  return built(event, context);
};
