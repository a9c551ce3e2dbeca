/**
 * The provision state machine (TAPESTRY_PROVISION_STATE_MACHINE_ARN), which the status API starts
 * and asks about, and the deprovision state machine (TAPESTRY_DEPROVISION_STATE_MACHINE_ARN).
 */
import { StepFunctionsDeprovisioningStarter } from "@tapestry/core/adapters/aws/step-functions-deprovisioning-starter";
import { StepFunctionsProvisioningStarter } from "@tapestry/core/adapters/aws/step-functions-provisioning-starter";
import type { ProvisioningStarter } from "@tapestry/core/provisioning";
import type { DeprovisionInput } from "@tapestry/core/provisioning/stacks";
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

const deprovisioningStarter = once(
  () =>
    new StepFunctionsDeprovisioningStarter({
      client: sfnClient(),
      stateMachineArn: env("TAPESTRY_DEPROVISION_STATE_MACHINE_ARN"),
    }),
);

/** The deprovision state machine (DELETE /provisioning), built (its ARN read) when a run is first started. */
export function deferredDeprovisioningStarter(): { start(input: DeprovisionInput): Promise<void> } {
  return { start: async (input) => deprovisioningStarter().start(input) };
}
