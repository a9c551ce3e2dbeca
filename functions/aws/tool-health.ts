/**
 * Lambda for Check<Tool>Health (one GET of a self-hosted tool's health route at its baseUrl) and
 * ReadAirbyteCredentials (the two secrets Airbyte's host wrote are there). Runs in the private
 * subnets: the tools' load balancers let in the NAT gateways' addresses (ControlPlaneEgressCidrs).
 */
import { createSsmSecretReader } from "@tapestry/core/adapters/aws/ssm-secrets";
import type { Context } from "aws-lambda";
import { coreLogger } from "../powertools";
import { createToolHealthHandler } from "../provisioning/handlers";
import { tapestryConfig } from "./runtime/config";
import { env, once } from "./runtime/environment";
import { logger } from "./runtime/powertools";

// the host writes its credentials once: read afresh, a missing one is looked for again on the retry
const freshSecrets = once(() => createSsmSecretReader({ stage: env("TAPESTRY_STAGE"), maxAgeSeconds: 0 }));

let built: ((event: unknown, context: Context) => Promise<unknown>) | undefined;

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  built ??= createToolHealthHandler(
    {
      config: tapestryConfig(),
      secrets: async (name) => freshSecrets()(name),
      now: () => new Date(),
      logger: coreLogger(logger()),
    },
    logger(),
  );
  return built(event, context);
};
