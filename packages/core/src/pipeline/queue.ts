import type { PipelineSpec } from "../config";
import type { QueueEntryRequest } from "../ledger";
import { queueTimeoutSeconds } from "./bounds";

/**
 * A queued run's place: asked for at `requestedAt`, held until it has waited as long as the run
 * ahead of it may hold the lock (bounds.ts queueTimeoutSeconds), after which the run gives up
 * (skipped, queue-timeout) and its place no longer counts.
 */
export function queueEntry(pipeline: PipelineSpec, requestedAt: Date): QueueEntryRequest {
  return {
    requestedAt: requestedAt.toISOString(),
    expiresAt: new Date(requestedAt.getTime() + queueTimeoutSeconds(pipeline) * 1000).toISOString(),
  };
}
