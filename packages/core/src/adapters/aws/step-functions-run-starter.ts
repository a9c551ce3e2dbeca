import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { PipelineSpec } from "../../config";
import { RunAlreadyStartedError, TapestryError } from "../../errors";
import type { RunTrigger } from "../../events";
import type { RunInput } from "../../pipeline/task-io";
import type { RunStarter } from "../../status/service";

export interface StepFunctionsRunStarterOptions {
  readonly client: SFNClient;
  /** the `pipeline-run` state machine */
  readonly stateMachineArn: string;
}

/**
 * Starts a run as an execution of the pipeline-run state machine. The run id is the execution
 * name, so Step Functions itself refuses a second run with the same id (for 90 days after the
 * first one closed): that refusal is RunAlreadyStartedError. A second start with the same name
 * AND the same input while the first is still running is answered with the running execution
 * (StartExecution is idempotent then): no second run either way.
 */
export class StepFunctionsRunStarter implements RunStarter {
  constructor(private readonly options: StepFunctionsRunStarterOptions) {}

  async start(pipeline: PipelineSpec, runId: string, trigger: RunTrigger): Promise<void> {
    // Exactly the state machine's execution input (state-machines/pipeline-run.asl.json).
    const input: RunInput = { runId, trigger, pipeline };
    try {
      await this.options.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.options.stateMachineArn,
          name: runId,
          input: JSON.stringify(input),
        }),
      );
    } catch (error) {
      if (isExecutionAlreadyExists(error)) throw new RunAlreadyStartedError(runId, { cause: error });
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new TapestryError(
        `run "${runId}" of pipeline "${pipeline.name}" could not be started: ${reason}`,
        {
          cause: error,
        },
      );
    }
  }
}

/** By class, and by name too: a second copy of the SDK in a bundle has its own class. */
function isExecutionAlreadyExists(error: unknown): boolean {
  return (
    error instanceof ExecutionAlreadyExists ||
    (error instanceof Error && error.name === "ExecutionAlreadyExists")
  );
}
