import * as z from "zod";
import { pipelineSchema } from "../config/schema";
import type { Logger } from "../logging";
import type { RunStarter } from "../status/service";
import { scheduledRunId } from "./run-id";

/**
 * What an EventBridge Scheduler schedule sends when it fires: its scheduled time (the
 * `<aws.scheduler.scheduled-time>` context attribute) and the pipeline's spec.
 *
 * Why a function sits between Scheduler and Step Functions at all: Scheduler's universal target
 * for StartExecution cannot derive the execution name, and the only value that tells one fire from
 * the next, the scheduled time, is ISO text with colons, which execution names forbid. The run id
 * (= execution name) is derived here instead, so a duplicate delivery of the same fire cannot
 * start a second run.
 */
export const scheduledRunInputSchema = z.object({
  scheduledTime: z.iso.datetime({ offset: true }),
  pipeline: pipelineSchema,
});
export type ScheduledRunInput = z.output<typeof scheduledRunInputSchema>;

export interface ScheduledRunDeps {
  readonly runs: RunStarter;
  readonly logger: Logger;
}

export interface ScheduledRunResult {
  readonly runId: string;
  /** false when this fire had started its run before (a duplicate delivery) */
  readonly started: boolean;
}

export async function startScheduledRun(
  input: ScheduledRunInput,
  deps: ScheduledRunDeps,
): Promise<ScheduledRunResult> {
  const scheduledTime = new Date(input.scheduledTime);
  const runId = scheduledRunId(input.pipeline.name, scheduledTime);
  try {
    await deps.runs.start(input.pipeline, runId, {
      kind: "schedule",
      scheduledTime: scheduledTime.toISOString(),
    });
  } catch (error) {
    // By name, like every boundary error: the starter may come from another copy of core in a bundle.
    if (error instanceof Error && error.name === "RunAlreadyStartedError") {
      // Scheduler delivers at least once: the same fire twice is expected, and its run exists.
      deps.logger.info("scheduled run already started: duplicate delivery of the same fire", {
        pipeline: input.pipeline.name,
        runId,
        scheduledTime: input.scheduledTime,
      });
      return { runId, started: false };
    }
    throw error;
  }
  deps.logger.info("scheduled run started", { pipeline: input.pipeline.name, runId });
  return { runId, started: true };
}
