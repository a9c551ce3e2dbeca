/**
 * The stage's secrets in SSM (/tapestry/<TAPESTRY_STAGE>/<NAME>), read through Powertools
 * Parameters (cached): the tools', the webhooks' and Slack's.
 */
import { createSsmSecretReader } from "@tapestry/core/adapters/aws/ssm-secrets";
import type { SecretReader } from "@tapestry/core/connectors";
import { env, once } from "./environment";

export const ssmSecrets = once((): SecretReader => createSsmSecretReader({ stage: env("TAPESTRY_STAGE") }));

/** A secret reader that builds the SSM one when the first secret is read. */
export function deferredSecrets(): SecretReader {
  return async (name) => ssmSecrets()(name);
}
