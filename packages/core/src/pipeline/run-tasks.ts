import type { PipelineSpec } from "../config";
import { createEvent } from "../events";
import { runHoldSeconds } from "./bounds";
import type { PipelineDeps } from "./deps";
import { stepErrored } from "./step-tasks";
import { describeTaskError } from "./task-error";
import type { Job, LockInput, LockOutput, RunEventInput } from "./task-io";

/**
 * The run lock outlives the longest the run may hold it (bounds.ts runHoldSeconds: every stage at
 * its slowest step, every task at all its retries), plus slack; a run that dies without releasing
 * it blocks its pipeline no longer than that.
 */
export function runLockLifetimeMinutes(pipeline: PipelineSpec, slackMinutes: number): number {
  return Math.ceil(runHoldSeconds(pipeline) / 60) + slackMinutes;
}

/**
 * Takes or gives back the pipeline's run lock. When another run holds it, the overlap policy
 * decides: `skip` ends this run as PipelineRunSkipped without touching any tool; `queue` waits.
 */
export async function runLock(input: LockInput, deps: PipelineDeps): Promise<LockOutput> {
  if (input.action === "release") {
    await deps.ledger.releaseRunLock({ pipeline: input.pipeline, runId: input.runId });
    return { outcome: "released", waitSeconds: 0, activeRunId: null };
  }
  const { pipeline } = input;
  const now = deps.now();
  const minutes = runLockLifetimeMinutes(pipeline, deps.settings.lockSlackMinutes);
  const lock = await deps.ledger.acquireRunLock({
    pipeline: pipeline.name,
    runId: input.runId,
    expiresAt: new Date(now.getTime() + minutes * 60_000).toISOString(),
    now: now.toISOString(),
  });
  if (lock.acquired) return { outcome: "acquired", waitSeconds: 0, activeRunId: null };
  if (pipeline.overlap === "queue") {
    return { outcome: "wait", waitSeconds: deps.settings.queueWaitSeconds, activeRunId: lock.heldBy };
  }
  await deps.publisher.publish([
    createEvent(
      "PipelineRunSkipped",
      { runId: input.runId, trigger: input.trigger, reason: "overlap", activeRunId: lock.heldBy },
      { pipeline: pipeline.name, now },
    ),
  ]);
  return { outcome: "skipped", waitSeconds: 0, activeRunId: lock.heldBy };
}

/** Announces the start and the end of a run (answering its start time), and steps whose task failed outright. */
export async function publishRunEvent(
  input: RunEventInput,
  deps: PipelineDeps,
): Promise<{ startedAt: string } | Job> {
  const now = deps.now();
  switch (input.event) {
    case "StepFailed":
      return stepErrored(input, deps);
    case "PipelineRunStarted": {
      const stages = input.pipeline.stages.map((stage) => ({
        name: stage.name,
        steps: stage.steps.map((step) => ({ name: step.name, tool: step.tool })),
      }));
      await deps.publisher.publish([
        createEvent(
          "PipelineRunStarted",
          { runId: input.runId, trigger: input.trigger, stages },
          { pipeline: input.pipeline.name, now },
        ),
      ]);
      return { startedAt: now.toISOString() };
    }
    case "PipelineRunSucceeded": {
      const rows = input.stages.flatMap((s) => s.steps).reduce((sum, step) => sum + (step.rows ?? 0), 0);
      await deps.publisher.publish([
        createEvent(
          "PipelineRunSucceeded",
          {
            runId: input.runId,
            startedAt: input.startedAt,
            endedAt: now.toISOString(),
            durationMs: Math.max(0, now.getTime() - Date.parse(input.startedAt)),
            rows,
          },
          { pipeline: input.pipeline, now },
        ),
      ]);
      return { startedAt: input.startedAt };
    }
    case "PipelineRunFailed": {
      const failedSteps = stageFailure(input.failure.Error, input.failure.Cause);
      const error = failedSteps
        ? `step${failedSteps.length === 1 ? "" : "s"} ${failedSteps.join(", ")} failed; later stages did not start`
        : describeTaskError(input.failure);
      await deps.publisher.publish([
        createEvent(
          "PipelineRunFailed",
          {
            runId: input.runId,
            startedAt: input.startedAt,
            endedAt: now.toISOString(),
            durationMs: Math.max(0, now.getTime() - Date.parse(input.startedAt)),
            failedSteps: failedSteps ?? [],
            error,
          },
          { pipeline: input.pipeline, now },
        ),
      ]);
      return { startedAt: input.startedAt };
    }
  }
}

/** The state machine fails a stage with Error "StageFailed" and the failed steps' names as a JSON list. */
function stageFailure(error: string, cause: string | null | undefined): string[] | undefined {
  if (error !== "StageFailed" || !cause) return undefined;
  try {
    const parsed: unknown = JSON.parse(cause);
    return Array.isArray(parsed) && parsed.every((s) => typeof s === "string") ? parsed : undefined;
  } catch {
    return undefined;
  }
}
