/** Lambda for the provision task WriteGrouparooConfig: Grouparoo's config files to their bucket. */
import { s3GrouparooSink } from "@tapestry/core/adapters/aws/s3-grouparoo-sink";
import type { GrouparooTaskDeps } from "@tapestry/core/provisioning";
import type { Context } from "aws-lambda";
import { createWriteGrouparooConfigHandler } from "../provisioning/handlers";
import { env } from "./runtime/environment";
import { logger } from "./runtime/powertools";
import { provisioningDeps } from "./runtime/provisioning";

/** The prefix of Grouparoo's files in their bucket (stacks/provisioning.ts grants exactly it). */
export const GROUPAROO_CONFIG_PREFIX = "grouparoo/";

/** The files as objects of the Provisioning stack's bucket. */
export function writeGrouparooConfigDeps(): GrouparooTaskDeps {
  return {
    ...provisioningDeps(),
    sink: s3GrouparooSink({
      bucket: env("TAPESTRY_GROUPAROO_CONFIG_BUCKET"),
      prefix: GROUPAROO_CONFIG_PREFIX,
    }),
  };
}

// Built on the first invocation, kept for the container: the bundled config and the variables are
// read then, so a missing one fails that invocation by name rather than the cold start.
let built: ((event: unknown, context: Context) => Promise<unknown>) | undefined;

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  built ??= createWriteGrouparooConfigHandler(writeGrouparooConfigDeps(), logger());
  return built(event, context);
};
