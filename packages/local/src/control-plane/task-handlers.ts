import { randomUUID } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { PipelineDeps, PipelineRunFunction } from "@tapestry/core/pipeline";
import {
  createCancelStepHandler,
  createPollStepHandler,
  createPublishEventHandler,
  createRunLockHandler,
  createStartStepHandler,
  type PipelineHandlerDeps,
} from "@tapestry/functions/pipeline";
import type { Context } from "aws-lambda";
import type { TaskHandler } from "../runner/local-step-functions";

/**
 * The pipeline task handlers exactly as Lambda runs them (middy, Powertools logger, metrics and
 * parser), bound to embedded dependencies. Powertools writes JSON to stdout; embedded, its logs
 * stay silent unless asked for, and metrics are not emitted (there is no CloudWatch to read them).
 */
export type PowertoolsLogLevel = NonNullable<
  NonNullable<ConstructorParameters<typeof Logger>[0]>["logLevel"]
>;

export function pipelineTaskHandlers(
  core: PipelineDeps,
  logLevel: PowertoolsLogLevel = "SILENT",
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
    (name: string, handler: (event: unknown, context: Context) => Promise<unknown>): TaskHandler =>
    (input) =>
      handler(input, lambdaContext(name));
  return {
    RunLockFunctionArn: bind("run-lock", createRunLockHandler(deps)),
    PublishEventFunctionArn: bind("publish-event", createPublishEventHandler(deps)),
    StartStepFunctionArn: bind("start-step", createStartStepHandler(deps)),
    PollStepFunctionArn: bind("poll-step", createPollStepHandler(deps)),
    CancelStepFunctionArn: bind("cancel-step", createCancelStepHandler(deps)),
  };
}

function lambdaContext(name: string): Context {
  const functionName = `tapestry-local-${name}`;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => 300_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
