import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import { EventBridgeSchema } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import middy from "@middy/core";
import { metricsOfEvent } from "@tapestry/core/alerts";
import { eventFromEnvelope } from "@tapestry/core/events";
import type { Context } from "aws-lambda";
import type { z } from "zod";
import { writeMetrics } from "./emf";

export interface RecordMetricsDeps {
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export type EventLambda = (event: unknown, context: Context) => Promise<void>;

/**
 * The metrics recorder: target of the bus rule for the pipeline events that make metrics (a run's
 * end, a skipped run, a step's end). Each becomes CloudWatch data points in EMF (core's
 * metricsOfEvent: RunSucceeded, RunFailed, RunSkipped, RunDurationSeconds, StepDurationSeconds,
 * RowsSynced, BytesSynced). An event not in the catalog is refused by throwing: Lambda's retries,
 * then the function's dead-letter queue, as for the projector.
 */
export function createRecordMetricsHandler(deps: RecordMetricsDeps): EventLambda {
  const handler = middy()
    .use(injectLambdaContext(deps.logger))
    .use(parser({ schema: EventBridgeSchema }))
    .handler(async (input) => {
      const envelope = input as z.output<typeof EventBridgeSchema>;
      const event = eventFromEnvelope(envelope);
      const data = metricsOfEvent(event);
      writeMetrics(deps.metrics, data);
      deps.logger.debug("metrics recorded", { detailType: event["detail-type"], metrics: data.length });
    });
  // EventBridge may send anything; the parser middleware is what narrows it.
  return handler as unknown as EventLambda;
}
