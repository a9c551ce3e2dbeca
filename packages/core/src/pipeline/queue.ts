import type { PipelineSpec } from "../config";
import type { QueueEntryRequest } from "../ledger";
import { DEFAULT_PIPELINE_SETTINGS } from "./deps";
import { runLockLifetimeMinutes } from "./run-tasks";

/**
 * A queued run's place: asked for at `requestedAt`, held until it has waited as long as the run
 * ahead of it can take (the run lock's lifetime), after which the run gives up (skipped,
 * queue-timeout) and its place no longer counts.
 */
export function queueEntry(pipeline: PipelineSpec, requestedAt: Date): QueueEntryRequest {
  const minutes = runLockLifetimeMinutes(pipeline, DEFAULT_PIPELINE_SETTINGS.lockSlackMinutes);
  return {
    requestedAt: requestedAt.toISOString(),
    expiresAt: new Date(requestedAt.getTime() + minutes * 60_000).toISOString(),
  };
}
