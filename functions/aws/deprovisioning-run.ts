/** Lambda for the deprovision tasks BeginDeprovisioning, ReportRemains and PublishDeprovisioningFailed. */
import { DeleteParametersCommand, GetParametersByPathCommand } from "@aws-sdk/client-ssm";
import { provisionedObjectsPath } from "@tapestry/core/adapters/aws/ssm-provisioned-objects";
import type { DeprovisioningDeps, Leftovers } from "@tapestry/core/provisioning/stacks";
import type { Context } from "aws-lambda";
import { createDeprovisioningRunHandler } from "../provisioning/handlers";
import { env } from "./runtime/environment";
import { logger } from "./runtime/powertools";
import { provisioningDeps } from "./runtime/provisioning";
import { ssmClient } from "./runtime/ssm";
import { deferredToolStackRecords } from "./runtime/tool-stack-records";

const WHY_ID =
  "the id provisioning recorded for an Airbyte object (String parameter), kept so that a new provisioning run finds the object again";

/**
 * What remains in SSM that Tapestry wrote: the recorded Airbyte ids under
 * /tapestry/<stage>/provisioning/airbyte/. `purge` deletes exactly those; the secrets (the user's,
 * and the Airbyte host's client credentials, which are the user's named secrets) are never touched.
 */
function ssmLeftovers(): Leftovers {
  const list = async (): Promise<string[]> => {
    const names: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await ssmClient().send(
        new GetParametersByPathCommand({
          Path: provisionedObjectsPath(env("TAPESTRY_STAGE")),
          Recursive: true,
          NextToken,
        }),
      );
      for (const p of page.Parameters ?? []) if (p.Name) names.push(p.Name);
      NextToken = page.NextToken;
    } while (NextToken);
    return names;
  };
  return {
    parameters: async () => (await list()).map((name) => ({ name, why: WHY_ID })),
    purge: async () => {
      const names = await list();
      // DeleteParameters takes at most 10 names a call
      for (let i = 0; i < names.length; i += 10) {
        await ssmClient().send(new DeleteParametersCommand({ Names: names.slice(i, i + 10) }));
      }
      return names;
    },
  };
}

export function deprovisioningDeps(): DeprovisioningDeps {
  return {
    ...provisioningDeps(),
    stackNameOf: (tool) => `tapestry-${env("TAPESTRY_STAGE")}-${tool}`,
    records: deferredToolStackRecords(),
    leftovers: ssmLeftovers(),
  };
}

let built: ((event: unknown, context: Context) => Promise<unknown>) | undefined;

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  built ??= createDeprovisioningRunHandler(deprovisioningDeps(), logger());
  return built(event, context);
};
