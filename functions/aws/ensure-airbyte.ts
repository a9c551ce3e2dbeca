/** Lambda for the provision task EnsureAirbyteObjects: the Airbyte objects by name. */
import { createSsmSecretReader } from "@tapestry/core/adapters/aws/ssm-secrets";
import { airbyteHttpClient } from "@tapestry/core/connectors";
import { type EnsureAirbyteTaskDeps, ProvisioningInputError } from "@tapestry/core/provisioning";
import type { Context } from "aws-lambda";
import { coreLogger } from "../powertools";
import { createEnsureAirbyteHandler } from "../provisioning/handlers";
import { tapestryConfig } from "./runtime/config";
import { env, once } from "./runtime/environment";
import { logger } from "./runtime/powertools";
import { provisionedObjects } from "./runtime/provisioned-objects";
import { provisioningDeps } from "./runtime/provisioning";

/**
 * Secrets read afresh (no cache): the loader's private key handed to Airbyte may have been rotated
 * by the bootstrap a moment before, in another function of the same run.
 */
const freshSecrets = once(() => createSsmSecretReader({ stage: env("TAPESTRY_STAGE"), maxAgeSeconds: 0 }));

/** Airbyte's public API with the configured auth, the ids recorded in SSM. */
export function ensureAirbyteDeps(): EnsureAirbyteTaskDeps {
  return {
    ...provisioningDeps(),
    objects: {
      get: async (kind, name) => provisionedObjects().get(kind, name),
      put: async (object) => provisionedObjects().put(object),
      list: async () => provisionedObjects().list(),
    },
    secrets: async (name) => freshSecrets()(name),
    airbyte: (deps) => {
      const airbyte = tapestryConfig().tools.airbyte;
      if (!airbyte)
        throw new ProvisioningInputError(
          "the airbyte section needs tools.airbyte: its endpoint and secret names",
        );
      return airbyteHttpClient(airbyte, { ...deps, logger: coreLogger(logger()) });
    },
  };
}

// Built on the first invocation, kept for the container: the bundled config and the variables are
// read then, so a missing one fails that invocation by name rather than the cold start.
let built: ((event: unknown, context: Context) => Promise<unknown>) | undefined;

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  built ??= createEnsureAirbyteHandler(ensureAirbyteDeps(), logger());
  return built(event, context);
};
