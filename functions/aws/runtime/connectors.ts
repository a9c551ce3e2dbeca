/**
 * The configured tools' connectors (the bundled config's tools); each tool's secrets are read from
 * SSM (./secrets) when a step of it first runs, and a step's `connection` name is resolved from
 * the ids provisioning recorded (./provisioned-objects).
 */
import { ConnectorRegistry } from "@tapestry/core/connectors";
import type { PipelineDeps } from "@tapestry/core/pipeline";
import { coreLogger } from "../../powertools";
import { tapestryConfig } from "./config";
import { once } from "./environment";
import { logger } from "./powertools";
import { deferredConnectionIds } from "./provisioned-objects";
import { ssmSecrets } from "./secrets";

export const connectors = once(
  () =>
    new ConnectorRegistry(tapestryConfig().tools, {
      secrets: ssmSecrets(),
      logger: coreLogger(logger()),
      connectionIds: deferredConnectionIds(),
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
