import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import { EventBridgeSchema } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import middy from "@middy/core";
import { eventFromEnvelope, type TapestryEvent } from "@tapestry/core/events";
import type { RunLedger } from "@tapestry/core/ledger";
import type { Context } from "aws-lambda";
import type { z } from "zod";

export interface ProjectEventDeps {
  readonly ledger: Pick<RunLedger, "record">;
  readonly logger: Logger;
}

/** The projector's Lambda as the runtime sees it: an EventBridge event in, nothing out. */
export type ProjectEventLambda = (event: unknown, context: Context) => Promise<void>;

/**
 * The ledger projector: target of the bus rule for `source: tapestry.pipeline`. Validates the
 * EventBridge envelope, takes our event out of it (core/events), and records it in the ledger,
 * which is idempotent by fact (run, detail-type, stage, step: `factKey`), so EventBridge's
 * at-least-once delivery and a retried task's second copy of an event change nothing.
 *
 * An event that is not in the catalog is rejected by throwing, not logged and dropped: the
 * ledger is a projection of the events, and an event dropped here is a hole in it that nothing
 * would ever report. Such an event is most often not "permanently" bad but from the future, a
 * producer deployed ahead of this projector (a new detail-type or version). Throwing lets Lambda's
 * async retries run, then parks the event in the function's own dead-letter queue (not the rule
 * target's, which only sees failed deliveries), where it can be redriven once the projector
 * understands it. A truly broken event costs two extra invocations and a message in that queue.
 */
export function createProjectEventHandler(deps: ProjectEventDeps): ProjectEventLambda {
  const handler = middy()
    .use(injectLambdaContext(deps.logger))
    .use(parser({ schema: EventBridgeSchema }))
    .handler(async (input) => {
      const envelope = input as z.output<typeof EventBridgeSchema>;
      const where = {
        eventBridgeId: envelope.id,
        detailType: envelope["detail-type"],
        source: envelope.source,
      };
      let event: TapestryEvent;
      try {
        event = eventFromEnvelope(envelope);
      } catch (error) {
        deps.logger.error("event rejected: it is not in the event catalog", { ...where, error });
        throw error;
      }
      await deps.ledger.record(event);
      deps.logger.debug("event recorded", {
        ...where,
        id: event.detail.metadata.id,
        runId: event.detail.metadata.correlationId,
      });
    });
  // EventBridge may send anything; the parser middleware is what narrows it.
  return handler as unknown as ProjectEventLambda;
}
