/**
 * Lambda target of the rule on Step Functions' status changes of the pipeline-run state machine
 * (FAILED, TIMED_OUT, ABORTED): gives the run its one recorded outcome, cancels the jobs it left
 * running and frees its lock; and of the rule on the Tapestry bus for StepStarted: cancels a job
 * that started after its run's execution was over.
 */
import { createReconcileRunHandler, type ReconcileRunDeps } from "../pipeline/reconcile-run";
import { deferredEventPublisher } from "./runtime/bus";
import { tapestryConfig } from "./runtime/config";
import { connectors } from "./runtime/connectors";
import { runLedger } from "./runtime/ledger";
import { logger } from "./runtime/powertools";
import { runController } from "./runtime/state-machine";

/** The run reconciler's dependencies: the ledger, the bus, the tools' connectors, the bundled pipelines. */
export function reconcileRunDeps(): ReconcileRunDeps {
  return {
    reconcile: {
      ledger: {
        getRun: async (runId) => runLedger().getRun(runId),
        releaseRunLock: async (input) => runLedger().releaseRunLock(input),
      },
      publisher: deferredEventPublisher(),
      connectors: { cancel: async (step, externalId, call) => connectors().cancel(step, externalId, call) },
      pipeline: (name) => tapestryConfig().pipelines.find((p) => p.name === name),
      now: () => new Date(),
      jobs: tapestryConfig().reconcile.jobs,
    },
    describeEnd: async (runId) => {
      const { error, cause } = await runController().ending(runId);
      return { ...(error ? { error } : {}), ...(cause ? { cause } : {}) };
    },
    executionGoing: async (runId) => (await runController().ending(runId)).status === "RUNNING",
    logger: logger(),
  };
}

export const handler = createReconcileRunHandler(reconcileRunDeps());
