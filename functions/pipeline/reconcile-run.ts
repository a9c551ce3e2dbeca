import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import { EventBridgeSchema } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import middy from "@middy/core";
import { EVENT_SOURCE, eventFromEnvelope } from "@tapestry/core/events";
import {
  closeLateStep,
  type ExecutionEnd,
  type LateStepOutcome,
  type ReconcileDeps,
  type ReconcileResult,
  reconcileInputOf,
  reconcileRun,
} from "@tapestry/core/pipeline";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { coreLogger } from "../powertools";

/**
 * Step Functions' "Execution Status Change" event, as the reconciler's rule lets it through: an
 * execution of the pipeline-run state machine that failed, timed out or was aborted. The execution
 * name is the run id.
 */
export const executionStatusChangeSchema = EventBridgeSchema.extend({
  source: z.literal("aws.states"),
  "detail-type": z.literal("Step Functions Execution Status Change"),
  detail: z.looseObject({
    executionArn: z.string().min(1),
    stateMachineArn: z.string().min(1),
    name: z.string().min(1),
    status: z.enum(["FAILED", "TIMED_OUT", "ABORTED"]),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});

export interface ReconcileRunDeps {
  readonly reconcile: Omit<ReconcileDeps, "logger">;
  /** what the engine recorded of an execution's end, when the event does not carry it */
  readonly describeEnd: (runId: string) => Promise<{ error?: string; cause?: string }>;
  /** whether a run's execution is still going */
  readonly executionGoing: (runId: string) => Promise<boolean>;
  readonly logger: Logger;
}

export type ReconcileRunLambda = (
  event: unknown,
  context: Context,
) => Promise<ReconcileResult | { readonly lateStep: LateStepOutcome }>;

/**
 * The run reconciler, target of two rules:
 * - Step Functions' status changes of the pipeline-run state machine (FAILED, TIMED_OUT,
 *   ABORTED): gives the run its one recorded outcome, cancels the jobs it left running and frees
 *   its lock (core/pipeline reconcileRun);
 * - StepStarted on the Tapestry bus: a job started after its run's execution was over is cancelled
 *   and its step closed (core/pipeline closeLateStep); while the execution is going, nothing.
 * Both are idempotent under EventBridge's redelivery. A failure throws: Lambda's two retries of an
 * asynchronous invocation, then the function's dead-letter queue.
 */
export function createReconcileRunHandler(deps: ReconcileRunDeps): ReconcileRunLambda {
  const logger = coreLogger(deps.logger);
  const handler = middy()
    .use(injectLambdaContext(deps.logger))
    .use(parser({ schema: EventBridgeSchema }))
    .handler(async (input) => {
      const envelope = input as z.output<typeof EventBridgeSchema>;
      if (envelope.source === EVENT_SOURCE) {
        const lateStep = await closeLateStep(eventFromEnvelope(envelope), {
          ...deps.reconcile,
          executionGoing: deps.executionGoing,
          logger,
        });
        return { lateStep };
      }
      const { detail } = executionStatusChangeSchema.parse(envelope);
      let end: ExecutionEnd = {
        runId: detail.name,
        status: detail.status,
        error: detail.error,
        cause: detail.cause,
      };
      if (detail.status === "FAILED" && !detail.error) {
        end = { ...end, ...(await deps.describeEnd(detail.name)) };
      }
      return reconcileRun(reconcileInputOf(end), { ...deps.reconcile, logger });
    });
  // EventBridge may send anything; the parser middleware is what narrows it.
  return handler as unknown as ReconcileRunLambda;
}
