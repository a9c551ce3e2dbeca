import * as z from "zod";
import type { PipelineSpec } from "../config";
import { createEvent } from "../events";
import { queueWaitSeconds, runHoldSeconds } from "./bounds";
import type { PipelineDeps } from "./deps";
import { queueEntry } from "./queue";
import { runPlan } from "./retry-plan";
import { runRequestedAt } from "./run-id";
import { stepErrored } from "./step-tasks";
import { describeTaskError } from "./task-error";
import {
  type Job,
  type LockInput,
  type LockOutput,
  type RunEventInput,
  type StepResult,
  stepResultSchema,
  type TaskError,
} from "./task-io";

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
 * decides: `skip` ends this run as PipelineRunSkipped without touching any tool; `queue` takes the
 * run's place in the pipeline's queue (first asked, first started), announces it once as
 * PipelineRunQueued, and waits; a run that waited as long as the run ahead of it can take gives up
 * (PipelineRunSkipped, queue-timeout) and leaves the queue.
 */
export async function runLock(input: LockInput, deps: PipelineDeps): Promise<LockOutput> {
  if (input.action === "release") {
    await deps.ledger.releaseRunLock({ pipeline: input.pipeline, runId: input.runId });
    return { outcome: "released", waitSeconds: 0, activeRunId: null };
  }
  const { pipeline } = input;
  const now = deps.now();
  const minutes = runLockLifetimeMinutes(pipeline, deps.settings.lockSlackMinutes);
  const queue =
    pipeline.overlap === "queue"
      ? queueEntry(pipeline, runRequestedAt(input.runId, input.trigger))
      : undefined;
  const lock = await deps.ledger.acquireRunLock({
    pipeline: pipeline.name,
    runId: input.runId,
    expiresAt: new Date(now.getTime() + minutes * 60_000).toISOString(),
    now: now.toISOString(),
    ...(deps.owner === undefined ? {} : { owner: deps.owner }),
    ...(queue === undefined ? {} : { queue }),
  });
  if (lock.acquired) return { outcome: "acquired", waitSeconds: 0, activeRunId: null };
  const context = { pipeline: pipeline.name, now };
  if (queue !== undefined && now.getTime() < Date.parse(queue.expiresAt)) {
    if ((await deps.ledger.getRun(input.runId))?.status !== "queued") {
      await deps.publisher.publish([
        createEvent(
          "PipelineRunQueued",
          {
            runId: input.runId,
            trigger: input.trigger,
            requestedAt: queue.requestedAt,
            waitingFor: lock.heldBy,
          },
          context,
        ),
      ]);
    }
    // asks again at a pace that keeps a whole wait within MAX_QUEUE_POLLS asks (the history budget)
    return {
      outcome: "wait",
      waitSeconds: queueWaitSeconds(pipeline, deps.settings),
      activeRunId: lock.heldBy,
    };
  }
  await deps.publisher.publish([
    createEvent(
      "PipelineRunSkipped",
      {
        runId: input.runId,
        trigger: input.trigger,
        reason: queue === undefined ? "overlap" : "queue-timeout",
        activeRunId: lock.heldBy,
      },
      context,
    ),
  ]);
  if (queue !== undefined) await deps.ledger.releaseRunLock({ pipeline: pipeline.name, runId: input.runId });
  return { outcome: "skipped", waitSeconds: 0, activeRunId: lock.heldBy };
}

/** Announces the start and the end of a run (answering its start time), and steps whose task failed outright. */
export async function publishRunEvent(
  input: RunEventInput,
  deps: PipelineDeps,
): Promise<{ startedAt: string | null; stages?: PipelineSpec["stages"] } | Job> {
  const now = deps.now();
  switch (input.event) {
    case "StepFailed":
      return stepErrored(input, deps);
    case "PipelineRunStarted": {
      // a retry runs from its fromStage on; the stages before it are announced skipped
      const plan = runPlan(input.pipeline, input.trigger);
      await deps.publisher.publish([
        createEvent(
          "PipelineRunStarted",
          { runId: input.runId, trigger: input.trigger, stages: plan.announced },
          { pipeline: input.pipeline.name, now },
        ),
      ]);
      return { startedAt: now.toISOString(), stages: plan.stages };
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
    case "PipelineRunFailed":
      return publishRunFailed(input, deps, now);
  }
}

/**
 * PipelineRunFailed, preceded by the StepFailed of each failed step whose own announcement failed
 * (in the same batch, so the ledger never shows a failed run with a step still `running`).
 */
async function publishRunFailed(
  input: Extract<RunEventInput, { event: "PipelineRunFailed" }>,
  deps: PipelineDeps,
  now: Date,
): Promise<{ startedAt: string | null }> {
  const context = { pipeline: input.pipeline, now };
  const results = stageFailure(input.failure);
  const failed = results?.filter((result) => result.status === "failed") ?? [];
  const unannounced = failed.flatMap((result) => {
    const tool = stepOf(input.spec, result)?.tool;
    if (!result.unannouncedError || !tool) return [];
    return [
      createEvent(
        "StepFailed",
        {
          runId: input.runId,
          stage: result.stage,
          step: result.step,
          tool,
          reason: "error",
          error: result.unannouncedError,
          endedAt: now.toISOString(),
        },
        context,
      ),
    ];
  });
  const startedAt = input.startedAt ?? undefined;
  await deps.publisher.publish([
    ...unannounced,
    createEvent(
      "PipelineRunFailed",
      {
        runId: input.runId,
        startedAt,
        endedAt: now.toISOString(),
        durationMs: startedAt ? Math.max(0, now.getTime() - Date.parse(startedAt)) : undefined,
        failedSteps: failed.map((result) => result.step),
        error: results
          ? describeFailedStage(input.spec, failed)
          : `${startedAt ? "" : "the run could not start: "}${describeTaskError(input.failure)}`,
      },
      context,
    ),
  ]);
  return { startedAt: input.startedAt ?? null };
}

/** A failed stage reaches the run as Error "StageFailed", its step results as JSON in the Cause. */
function stageFailure(failure: TaskError): StepResult[] | undefined {
  if (failure.Error !== "StageFailed" || !failure.Cause) return undefined;
  try {
    const parsed = z.array(stepResultSchema).safeParse(JSON.parse(failure.Cause));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function stepOf(spec: PipelineSpec, result: StepResult) {
  return spec.stages.find((stage) => stage.name === result.stage)?.steps.find((s) => s.name === result.step);
}

/** "step a failed; later stages did not start", the second part only when a later stage exists. */
function describeFailedStage(spec: PipelineSpec, failed: readonly StepResult[]): string {
  const names = failed.map((result) => result.step);
  const stage = failed[0]?.stage;
  const index = spec.stages.findIndex((s) => s.name === stage);
  const later = index >= 0 && index < spec.stages.length - 1;
  const what = `step${names.length === 1 ? "" : "s"} ${names.join(", ")} failed`;
  return `${what}${stage ? ` in stage ${stage}` : ""}${later ? "; later stages did not start" : ""}`;
}
