import { DescribeExecutionCommand, type SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { ProvisioningStoreUnavailableError } from "../../provisioning/errors";
import type { ProvisioningStarter } from "../../provisioning/requests";
import type { ProvisionInput } from "../../provisioning/tasks";
import { describeSdkError, isTransientSdkError } from "./sdk-errors";

/**
 * Starts a provisioning run as an execution of the `provision` state machine, named after the run
 * (`provision-<ULID>`): Step Functions refuses a second execution of the same name. Its input is
 * exactly the state machine's (state-machines/provision.asl.json): the run id and the trigger.
 */
export class StepFunctionsProvisioningStarter implements ProvisioningStarter {
  constructor(private readonly options: { readonly client: SFNClient; readonly stateMachineArn: string }) {}

  async start(input: ProvisionInput): Promise<void> {
    try {
      await this.options.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.options.stateMachineArn,
          name: input.runId,
          input: JSON.stringify({ runId: input.runId, trigger: input.trigger }),
        }),
      );
    } catch (error) {
      if (!isTransientSdkError(error)) throw error;
      throw new ProvisioningStoreUnavailableError(
        `Step Functions could not start provisioning run ${input.runId} for now: ${describeSdkError(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * RUNNING, or not. An execution Step Functions does not know has ended (or never started); any
   * other failure to ask answers "going", so a run is never judged abandoned on a guess.
   */
  async going(runId: string): Promise<boolean> {
    const executionArn = `${this.options.stateMachineArn.replace(":stateMachine:", ":execution:")}:${runId}`;
    try {
      const execution = await this.options.client.send(new DescribeExecutionCommand({ executionArn }));
      return execution.status === "RUNNING";
    } catch (error) {
      return !(error instanceof Error && error.name === "ExecutionDoesNotExist");
    }
  }
}
