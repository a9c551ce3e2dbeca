import { type SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { ProvisioningStoreUnavailableError } from "../../provisioning/errors";
import type { DeprovisionInput } from "../../provisioning/stacks/deprovision";
import { describeSdkError, isTransientSdkError } from "./sdk-errors";

/**
 * Starts a deprovisioning run as an execution of the `deprovision` state machine, named after the
 * run (Step Functions refuses a second of the same name); its input is the state machine's:
 * `{ runId, trigger, purge }`.
 */
export class StepFunctionsDeprovisioningStarter {
  constructor(private readonly options: { readonly client: SFNClient; readonly stateMachineArn: string }) {}

  async start(input: DeprovisionInput): Promise<void> {
    try {
      await this.options.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.options.stateMachineArn,
          name: input.runId,
          input: JSON.stringify({ runId: input.runId, trigger: input.trigger, purge: input.purge }),
        }),
      );
    } catch (error) {
      if (!isTransientSdkError(error)) throw error;
      throw new ProvisioningStoreUnavailableError(
        `Step Functions could not start deprovisioning run ${input.runId} for now: ${describeSdkError(error)}`,
        { cause: error },
      );
    }
  }
}
