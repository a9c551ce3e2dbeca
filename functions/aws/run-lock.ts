/** Lambda for the pipeline-run tasks AcquireRunLock and ReleaseRunLock*: the ledger's run lock, PipelineRunSkipped on the bus. */
import { createRunLockHandler } from "../pipeline/run-lock";
import { deferredEventPublisher } from "./runtime/bus";
import { runLedger } from "./runtime/ledger";
import { pipelineTaskDeps } from "./runtime/pipeline-task";

export const handler = createRunLockHandler(
  pipelineTaskDeps("run-lock", {
    publisher: deferredEventPublisher(),
    ledger: {
      acquireRunLock: async (input) => runLedger().acquireRunLock(input),
      getRun: async (runId) => runLedger().getRun(runId),
      releaseRunLock: async (input) => runLedger().releaseRunLock(input),
    },
  }),
);
