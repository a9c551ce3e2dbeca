import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import {
  type AlertServiceDeps,
  alarmStateChangeSchema,
  evaluateAlarmChange,
  evaluateRunEnd,
} from "@tapestry/core/alerts";
import type { AlertEvent } from "@tapestry/core/events";
import { eventFromEnvelope } from "@tapestry/core/events";
import { issuesText } from "@tapestry/core/zod-messages";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { coreLogger } from "../powertools";

export interface EvaluateAlertsDeps {
  /** the alert service, built on first use (config, ledger, incident store, bus) */
  readonly service: () => Omit<AlertServiceDeps, "logger">;
  readonly stage: () => string;
  readonly logger: Logger;
}

export type EvaluateAlertsLambda = (event: unknown, context: Context) => Promise<{ published: number }>;

/** What the evaluator's two rules deliver: a pipeline event from the Tapestry bus, or a CloudWatch alarm's state change. */
const deliverySchema = z.looseObject({
  source: z.string(),
  "detail-type": z.string(),
  id: z.string().optional(),
  detail: z.unknown(),
});

/**
 * The alert evaluator: target of two rules. From the Tapestry bus, every run's end
 * (PipelineRunSucceeded, PipelineRunFailed): the pipeline's thresholds are judged on the run
 * (core's evaluateRunEnd). From the default bus, the state changes of the rows-anomaly alarms
 * (CloudWatch judges that rule on AWS). Incidents opened or resolved become ThresholdBreached /
 * ThresholdRecovered on the bus. A failure throws: the rule's retries, Lambda's, then the
 * function's dead-letter queue; a retry publishes the same incidents' events again.
 */
export function createEvaluateAlertsHandler(deps: EvaluateAlertsDeps): EvaluateAlertsLambda {
  const logger = coreLogger(deps.logger);
  const handler = middy()
    .use(injectLambdaContext(deps.logger))
    .handler(async (input: unknown) => {
      const delivery = deliverySchema.safeParse(input);
      if (!delivery.success) {
        throw new TypeError(`not an EventBridge event: ${issuesText(delivery.error.issues)}`);
      }
      const service = { ...deps.service(), logger };
      let published: readonly AlertEvent[];
      if (delivery.data.source === "aws.cloudwatch") {
        const change = alarmStateChangeSchema.parse(input);
        published = await evaluateAlarmChange(change, deps.stage(), service);
      } else {
        const event = eventFromEnvelope({
          ...(delivery.data.id !== undefined ? { id: delivery.data.id } : {}),
          source: delivery.data.source,
          "detail-type": delivery.data["detail-type"],
          detail: delivery.data.detail,
        });
        published = await evaluateRunEnd(event, service);
      }
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
  return handler as unknown as EvaluateAlertsLambda;
}
