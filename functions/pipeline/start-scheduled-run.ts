import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import middy from "@middy/core";
import {
  type ScheduledRunInput,
  type ScheduledRunResult,
  scheduledRunInputSchema,
  startScheduledRun,
} from "@tapestry/core/pipeline";
import type { RunStarter } from "@tapestry/core/status";
import { coreLogger } from "../powertools";
import type { TaskLambda } from "./task-handler";

export interface StartScheduledRunDeps {
  /** Step Functions StartExecution on AWS */
  readonly runs: RunStarter;
  readonly logger: Logger;
}

/**
 * The target of each pipeline's EventBridge Scheduler schedule: derives the run id from the
 * pipeline and the scheduled time and starts the run (core/pipeline startScheduledRun says why
 * this is not a direct Scheduler -> Step Functions target). No metrics middleware: the run's own
 * events are what the metrics are made of.
 */
export function createStartScheduledRunHandler(deps: StartScheduledRunDeps): TaskLambda<ScheduledRunResult> {
  const logger = coreLogger(deps.logger);
  const handler = middy()
    .use(injectLambdaContext(deps.logger))
    .use(parser({ schema: scheduledRunInputSchema }))
    .handler((input) => startScheduledRun(input as ScheduledRunInput, { runs: deps.runs, logger }));
  // Scheduler may send anything; the parser middleware is what narrows it.
  return handler as unknown as TaskLambda<ScheduledRunResult>;
}
