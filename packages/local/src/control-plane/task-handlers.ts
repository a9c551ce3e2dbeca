import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import {
  type PipelineDeps,
  type PipelineRunFunction,
  TASK_FUNCTION_TIMEOUT_SECONDS,
} from "@tapestry/core/pipeline";
import {
  createCancelStepHandler,
  createPollStepHandler,
  createPublishEventHandler,
  createRunLockHandler,
  createStartStepHandler,
  type PipelineHandlerDeps,
} from "@tapestry/functions/pipeline";
import { type AwaitWebhookHandlerDeps, createAwaitWebhookHandler } from "@tapestry/functions/webhooks";
import type { Context } from "aws-lambda";
import { localLambdaContext } from "../lambda-context";
import type { TaskHandler } from "../runner/local-step-functions";

/**
 * The pipeline task handlers exactly as Lambda runs them (middy, Powertools logger, metrics and
 * parser), bound to embedded dependencies. Powertools writes JSON to stdout; embedded, its logs
 * stay silent unless asked for, and metrics are not emitted (there is no CloudWatch to read them).
 */
export type PowertoolsLogLevel = NonNullable<
  NonNullable<ConstructorParameters<typeof Logger>[0]>["logLevel"]
>;

/** Tests: a function's timeout in ms instead of its TASK_FUNCTION_TIMEOUT_SECONDS (a short deadline without waiting minutes). */
export type FunctionTimeoutOverrides = Readonly<Partial<Record<PipelineRunFunction, number>>>;

export function pipelineTaskHandlers(
  core: PipelineDeps,
  webhooks: AwaitWebhookHandlerDeps["webhooks"],
  logLevel: PowertoolsLogLevel = "SILENT",
  timeoutOverrides: FunctionTimeoutOverrides = {},
): Record<PipelineRunFunction, TaskHandler> {
  // Embedded there is no CloudWatch to read EMF lines: Powertools' own switch turns them off.
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  const logger = new Logger({ serviceName: "tapestry-local", logLevel });
  const metrics = new Metrics({
    namespace: "Tapestry",
    serviceName: "tapestry-local",
    logger: new Logger({ logLevel: "SILENT" }),
  });
  const deps: PipelineHandlerDeps = { core, logger, metrics };
  const bind =
    (
      fn: PipelineRunFunction,
      name: string,
      handler: (event: unknown, context: Context) => Promise<unknown>,
    ): TaskHandler =>
    (input) =>
      handler(
        input,
        localLambdaContext(
          `tapestry-local-${name}`,
          timeoutOverrides[fn] ?? TASK_FUNCTION_TIMEOUT_SECONDS[fn] * 1000,
        ),
      );
  return {
    RunLockFunctionArn: bind("RunLockFunctionArn", "run-lock", createRunLockHandler(deps)),
    PublishEventFunctionArn: bind(
      "PublishEventFunctionArn",
      "publish-event",
      createPublishEventHandler(deps),
    ),
    StartStepFunctionArn: bind("StartStepFunctionArn", "start-step", createStartStepHandler(deps)),
    PollStepFunctionArn: bind("PollStepFunctionArn", "poll-step", createPollStepHandler(deps)),
    CancelStepFunctionArn: bind("CancelStepFunctionArn", "cancel-step", createCancelStepHandler(deps)),
    AwaitWebhookFunctionArn: bind(
      "AwaitWebhookFunctionArn",
      "await-webhook",
      createAwaitWebhookHandler({ ...deps, webhooks }),
    ),
  };
}
