import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import middy from "@middy/core";
import { type AlertServiceDeps, checkFreshness } from "@tapestry/core/alerts";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { coreLogger } from "../powertools";
import { writeMetrics } from "./emf";

export interface CheckFreshnessDeps {
  readonly service: () => Omit<AlertServiceDeps, "logger">;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** The schedule's input: the fire time Scheduler fills in (`<aws.scheduler.scheduled-time>`). */
const freshnessInputSchema = z.looseObject({ scheduledTime: z.string().optional() });

export type CheckFreshnessLambda = (
  event: unknown,
  context: Context,
) => Promise<{ readonly pipelines: number; readonly published: number }>;

/**
 * The freshness check, fired every 5 minutes by EventBridge Scheduler: MinutesSinceLastSuccess
 * of every pipeline (EMF), and the stale rule judged where it is watched. A retried fire carries
 * the same scheduled time, so it opens no incident twice. An input that is not the schedule's is
 * refused (Powertools' ParseError).
 */
export function createCheckFreshnessHandler(deps: CheckFreshnessDeps): CheckFreshnessLambda {
  const logger = coreLogger(deps.logger);
  const handler = middy()
    .use(injectLambdaContext(deps.logger))
    .use(parser({ schema: freshnessInputSchema }))
    .handler(async (input) => {
      const { scheduledTime } = input as z.output<typeof freshnessInputSchema>;
      const cause =
        scheduledTime && !Number.isNaN(Date.parse(scheduledTime)) ? `freshness@${scheduledTime}` : undefined;
      const result = await checkFreshness({ ...deps.service(), logger }, cause);
      writeMetrics(deps.metrics, result.metrics);
      return { pipelines: result.metrics.length, published: result.events.length };
    });
  // Scheduler's input is what the stack wrote; the parser middleware is what narrows it.
  return handler as unknown as CheckFreshnessLambda;
}
