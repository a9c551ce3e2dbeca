/**
 * The configured tools' connectors (the bundled config's tools); each tool's secrets are read from
 * SSM (/tapestry/<TAPESTRY_STAGE>/<NAME>) when a step of it first runs.
 */
import { createSsmSecretReader } from "@tapestry/core/adapters/aws/ssm-secrets";
import { ConnectorRegistry } from "@tapestry/core/connectors";
import type { PipelineDeps } from "@tapestry/core/pipeline";
import { coreLogger } from "../../powertools";
import { tapestryConfig } from "./config";
import { env, once } from "./environment";
import { logger } from "./powertools";

export const connectors = once(
  () =>
    new ConnectorRegistry(tapestryConfig().tools, {
      secrets: createSsmSecretReader({ stage: env("TAPESTRY_STAGE") }),
      logger: coreLogger(logger()),
    }),
);

/** The connectors, built (config parsed, secrets reader made) when a step first reaches a tool. */
export function deferredConnectors(): PipelineDeps["connectors"] {
  return {
    start: async (step, context) => connectors().start(step, context),
    poll: async (step, externalId, call) => connectors().poll(step, externalId, call),
    cancel: async (step, externalId, call) => connectors().cancel(step, externalId, call),
  };
}
