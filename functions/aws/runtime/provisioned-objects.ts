/**
 * The Airbyte object ids provisioning recorded: SSM String parameters under
 * /tapestry/<TAPESTRY_STAGE>/provisioning/airbyte/. ensure-airbyte writes them; the connectors
 * resolve a step's `connection` name through them.
 */
import { SsmProvisionedObjects, ssmConnectionIds } from "@tapestry/core/adapters/aws/ssm-provisioned-objects";
import { env, once } from "./environment";
import { ssmClient } from "./ssm";

export const provisionedObjects = once(
  () => new SsmProvisionedObjects({ client: ssmClient(), stage: env("TAPESTRY_STAGE") }),
);

/** A step's connection name -> the id provisioning recorded; the SSM client is built at the first lookup. */
export function deferredConnectionIds(): ReturnType<typeof ssmConnectionIds> {
  return ssmConnectionIds({ get: async (kind, name) => provisionedObjects().get(kind, name) });
}
