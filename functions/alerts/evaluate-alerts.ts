import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import { EventBridgeSchema } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import middy from "@middy/core";
import {
  type AlertServiceDeps,
  alarmStateChangeSchema,
  evaluateAlarmChange,
  evaluateRunEnd,
} from "@tapestry/core/alerts";
import type { AlertEvent } from "@tapestry/core/events";
import { eventFromEnvelope } from "@tapestry/core/events";
import type { Context } from "aws-lambda";
import type { z } from "zod";
import { coreLogger } from "../powertools";

export interface EvaluateAlertsDeps {
  /** the alert service, built on first use (config, ledger, incident store, bus) */
  readonly service: () => Omit<AlertServiceDeps, "logger">;
  readonly stage: () => string;
  readonly logger: Logger;
}

export type EvaluateAlertsLambda = (event: unknown, context: Context) => Promise<{ published: number }>;

/**
 * The alert evaluator: target of two rules. From the Tapestry bus, every run's end
 * (PipelineRunSucceeded, PipelineRunFailed): the pipeline's thresholds are judged on the run
 * (core's evaluateRunEnd). From the default bus, the state changes of the rows-anomaly alarms
 * (CloudWatch judges that rule on AWS). Incidents opened or resolved become ThresholdBreached /
 * ThresholdRecovered on the bus. A delivery that is no EventBridge event is refused (Powertools'
 * ParseError). A failure throws: the rule's retries, Lambda's, then the function's dead-letter
 * queue; a retry publishes the same incidents' events again.
 */
export function createEvaluateAlertsHandler(deps: EvaluateAlertsDeps): EvaluateAlertsLambda {
  const logger = coreLogger(deps.logger);
  const handler = middy()
    .use(injectLambdaContext(deps.logger))
    .use(parser({ schema: EventBridgeSchema }))
    .handler(async (input) => {
      const envelope = input as z.output<typeof EventBridgeSchema>;
      const service = { ...deps.service(), logger };
      const published: readonly AlertEvent[] =
        envelope.source === "aws.cloudwatch"
          ? await evaluateAlarmChange(alarmStateChangeSchema.parse(envelope), deps.stage(), service)
          : await evaluateRunEnd(eventFromEnvelope(envelope), service);
      for (const event of published) {
        deps.logger.info(
          event["detail-type"] === "ThresholdBreached" ? "threshold breached" : "threshold recovered",
          {
            incidentId: event.detail.data.incidentId,
            pipeline: event.detail.data.pipeline,
            rule: event.detail.data.rule,
            step: event.detail.data.step,
            figure: event.detail.data.figure,
            threshold: event.detail.data.threshold,
          },
        );
      }
      return { published: published.length };
    });
  // EventBridge may send anything; the parser middleware is what narrows it.
  return handler as unknown as EvaluateAlertsLambda;
}
