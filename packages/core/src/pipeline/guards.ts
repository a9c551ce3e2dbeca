import type { StepSpec } from "../config";
import type { JobStatus } from "../connectors/types";

/**
 * Checks a job's outcome against what the step demands beyond the tool's own verdict.
 * A "succeeded" job that moved fewer rows than `minRows` fails the step: Airbyte is known to
 * report success after syncing nothing.
 */
export function applyStepGuards(step: StepSpec, status: JobStatus): JobStatus {
  if (status.state !== "succeeded" || step.minRows === undefined) return status;
  if (status.rows === undefined) {
    return {
      ...status,
      state: "failed",
      reason: "min-rows",
      error: `step "${step.name}" requires at least ${step.minRows} rows but ${step.tool} reported no row count`,
    };
  }
  if (status.rows < step.minRows) {
    return {
      ...status,
      state: "failed",
      reason: "min-rows",
      error: `step "${step.name}" moved ${status.rows} rows, fewer than its minRows of ${step.minRows}; the tool reported success`,
    };
  }
  return status;
}
