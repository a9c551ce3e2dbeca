import type { JobStatus } from "./types";

/**
 * A known end the job reached by itself: what a cancel answers for a job that was already over.
 * A failure for a status the connector does not know is not one (the job may still be running).
 */
export function endedOnItsOwn(status: JobStatus): boolean {
  return status.state === "succeeded" || (status.state === "failed" && status.reason !== "unknown-status");
}
