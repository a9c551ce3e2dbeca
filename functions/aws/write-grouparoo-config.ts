/** Lambda for the provision task WriteGrouparooConfig: Grouparoo's config files. */
import type { Context } from "aws-lambda";
import { createWriteGrouparooConfigHandler } from "../provisioning/handlers";
import { logger, writeGrouparooConfigDeps } from "./runtime";

// Built on the first invocation, kept for the container: the bundled config and the variables are
// read then, so a missing one fails that invocation by name rather than the cold start.
let built: ((event: unknown, context: Context) => Promise<unknown>) | undefined;

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  built ??= createWriteGrouparooConfigHandler(writeGrouparooConfigDeps(), logger());
  return built(event, context);
};
