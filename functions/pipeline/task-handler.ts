import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import middy from "@middy/core";
import { DEADLINE_MARGIN_MS, type PipelineDeps } from "@tapestry/core/pipeline";
import type { Context } from "aws-lambda";
import type { z } from "zod";
import { flushAddedMetrics } from "./flush-metrics";

/** What every pipeline task handler is built from: the domain's dependencies and the Powertools instruments. */
export interface PipelineHandlerDeps {
  readonly core: PipelineDeps;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** What one invocation may spend talking to tools. */
export interface Invocation {
  /** ms since the epoch: the function's end less DEADLINE_MARGIN_MS */
  readonly deadline: number;
}

/**
 * The one shape of a pipeline task handler: Powertools logger (with the Lambda context), then
 * metrics (flushed only when the task added some), then the zod parser of the task's input; then
 * the domain function, told the deadline of this invocation. The handler holds no logic of its own.
 */
export function pipelineTaskHandler<S extends z.ZodType, R>(
  schema: S,
  deps: PipelineHandlerDeps,
  run: (input: z.output<S>, deps: PipelineHandlerDeps, invocation: Invocation) => Promise<R>,
): TaskLambda<R> {
  const handler = middy()
    .use(injectLambdaContext(deps.logger))
    .use(flushAddedMetrics(deps.metrics))
    .use(parser({ schema }))
    .handler((input, context) => run(input as z.output<S>, deps, { deadline: invocationDeadline(context) }));
  // Step Functions may send anything; the parser middleware is what narrows it.
  return handler as unknown as TaskLambda<R>;
}

/**
 * The tools' requests stop DEADLINE_MARGIN_MS before Lambda would stop the function, leaving the
 * time to publish the step's event and return a named error (which the state machine retries)
 * instead of a Lambda timeout (which it cannot tell from a crash). Wall-clock time, as Lambda's.
 */
function invocationDeadline(context: Context): number {
  return Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS;
}

/** A task's Lambda as the runtime sees it: any event in, the task's result out. */
export type TaskLambda<R> = (event: unknown, context: Context) => Promise<R>;
