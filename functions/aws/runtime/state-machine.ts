/** The pipeline-run state machine (TAPESTRY_STATE_MACHINE_ARN), for the functions that start, stop or read runs. */
import { StepFunctionsRunController } from "@tapestry/core/adapters/aws/step-functions-run-controller";
import type { RunController } from "@tapestry/core/status";
import { env, once } from "./environment";
import { sfnClient } from "./step-functions";

export const runController = once(
  () =>
    new StepFunctionsRunController({
      client: sfnClient(),
      stateMachineArn: env("TAPESTRY_STATE_MACHINE_ARN"),
    }),
);

/** A run controller that builds the Step Functions one when a run is first started or stopped. */
export function deferredRunController(): RunController {
  return {
    start: async (pipeline, runId, trigger) => runController().start(pipeline, runId, trigger),
    stop: async (runId) => runController().stop(runId),
  };
}
