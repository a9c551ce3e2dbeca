import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { PipelineSpec } from "../../config";
import { RunAlreadyStartedError, RunControlError } from "../../errors";
import type { RunTrigger } from "../../events";
import type { RunInput } from "../../pipeline/task-io";
import type { RunController } from "../../status/service";

export interface StepFunctionsRunControllerOptions {
  readonly client: SFNClient;
  /** the `pipeline-run` state machine */
  readonly stateMachineArn: string;
}

/**
 * Starts a run as an execution of the pipeline-run state machine, and stops it. The run id is the
 * execution name, so Step Functions itself refuses a second run with the same id (for 90 days
 * after the first one closed): that refusal is RunAlreadyStartedError. A second start with the
 * same name AND the same input while the first is still running is answered with the running
 * execution (StartExecution is idempotent then): no second run either way.
 */
export class StepFunctionsRunController implements RunController {
  constructor(private readonly options: StepFunctionsRunControllerOptions) {}

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
      if (isNamed(error, "ExecutionAlreadyExists") || error instanceof ExecutionAlreadyExists) {
        throw new RunAlreadyStartedError(runId, { cause: error });
      }
      throw new RunControlError(
        `run "${runId}" of pipeline "${pipeline.name}" could not be started: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * StopExecution, with a cause that says who stopped it. An execution that has ended (or never
   * existed) is left as it is: its run reconciler, or its own end, records the outcome.
   */
  async stop(runId: string): Promise<void> {
    try {
      await this.options.client.send(
        new StopExecutionCommand({
          executionArn: this.executionArn(runId),
          error: "Tapestry.RunCancelled",
          cause: "a cancel of the run was requested through the status API",
        }),
      );
    } catch (error) {
      if (isNamed(error, "ExecutionDoesNotExist")) return;
      throw new RunControlError(`run "${runId}" could not be stopped: ${describe(error)}`, { cause: error });
    }
  }

  /** What Step Functions recorded about an execution's end (its error and cause), for the run reconciler. */
  async ending(runId: string): Promise<{ status?: string; error?: string; cause?: string }> {
    const execution = await this.options.client.send(
      new DescribeExecutionCommand({ executionArn: this.executionArn(runId) }),
    );
    return { status: execution.status, error: execution.error, cause: execution.cause };
  }

  /** arn:aws:states:<region>:<account>:stateMachine:<name> -> ...:execution:<name>:<runId> */
  executionArn(runId: string): string {
    const parts = this.options.stateMachineArn.split(":");
    if (parts.length !== 7 || parts[5] !== "stateMachine") {
      throw new RunControlError(`not a state machine ARN: ${this.options.stateMachineArn}`);
    }
    return [...parts.slice(0, 5), "execution", parts[6], runId].join(":");
  }
}

/** By name: a second copy of the SDK in a bundle has its own classes. */
function isNamed(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
