/** The provision state machine (TAPESTRY_PROVISION_STATE_MACHINE_ARN), which the status API starts and asks about. */
import { StepFunctionsProvisioningStarter } from "@tapestry/core/adapters/aws/step-functions-provisioning-starter";
import type { ProvisioningStarter } from "@tapestry/core/provisioning";
import { env, once } from "./environment";
import { sfnClient } from "./step-functions";

const provisioningStarter = once(
  () =>
    new StepFunctionsProvisioningStarter({
      client: sfnClient(),
      stateMachineArn: env("TAPESTRY_PROVISION_STATE_MACHINE_ARN"),
    }),
);

/** The provision state machine, built (its ARN read) when a run is first started or asked about. */
export function deferredProvisioningStarter(): ProvisioningStarter {
  return {
    start: async (input) => provisioningStarter().start(input),
    going: async (runId) => provisioningStarter().going(runId),
  };
}
