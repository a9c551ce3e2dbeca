import type { PipelineSpec } from "@tapestry/core/config";
import { createEvent, type TapestryEvent } from "@tapestry/core/events";
import { scheduledRunId } from "@tapestry/core/pipeline";
import { type RunEvents, skippedRun as skippedRunOf, stepEvents } from "../ledger/run-events";

/** Events of whole runs of a configured pipeline, built with createEvent, for the status API tests. */

export type Outcome = "succeeded" | "failed" | "running";

export function plan(spec: PipelineSpec) {
  return spec.stages.map((stage) => ({
    name: stage.name,
    steps: stage.steps.map((step) => ({ name: step.name, tool: step.tool })),
  }));
}

/**
 * A scheduled run fired at `start`: every step succeeds; or the first step fails its minRows guard
 * and the run fails; or the first stage's steps have started and nothing has ended yet.
 */
export function scheduledRun(spec: PipelineSpec, start: Date, outcome: Outcome): RunEvents {
  const runId = scheduledRunId(spec.name, start);
  const base = start.getTime();
  const ctx = (s: number) => ({ pipeline: spec.name, now: new Date(base + s * 1000) });
  const t = (s: number) => new Date(base + s * 1000).toISOString();
  const events: TapestryEvent[] = [
    createEvent(
      "PipelineRunStarted",
      { runId, trigger: { kind: "schedule", scheduledTime: t(0) }, stages: plan(spec) },
      ctx(0),
    ),
  ];
  let second = 1;
  let rows = 0;
  for (const [s, stage] of spec.stages.entries()) {
    for (const [i, step] of stage.steps.entries()) {
      const externalId = `${step.tool}-${s}${i}`;
      const {
        started: startEvent,
        succeeded,
        failed,
      } = stepEvents(spec.name, runId, base, {
        stage: stage.name,
        step: step.name,
        tool: step.tool,
        externalId,
        url: `https://${step.tool}.example/jobs/${externalId}`,
      });
      const started = second;
      events.push(startEvent(started, started + step.timeoutMinutes * 60));
      if (outcome === "running") continue;
      second += 10;
      if (outcome === "failed") {
        events.push(
          failed(started, second, {
            toolStatus: "succeeded",
            reason: "min-rows",
            error: `moved 0 rows, fewer than the 1 required`,
            rows: 0,
          }),
          createEvent(
            "PipelineRunFailed",
            {
              runId,
              startedAt: t(0),
              endedAt: t(second + 1),
              durationMs: (second + 1) * 1000,
              failedSteps: [step.name],
              error: `step ${step.name} failed: moved 0 rows, fewer than the 1 required`,
            },
            ctx(second + 1),
          ),
        );
        return { runId, events };
      }
      rows += 100;
      events.push(succeeded(started, second, { toolStatus: "succeeded", rows: 100, bytes: 4_096 }));
    }
    if (outcome === "running") return { runId, events };
  }
  second += 1;
  events.push(
    createEvent(
      "PipelineRunSucceeded",
      { runId, startedAt: t(0), endedAt: t(second), durationMs: second * 1000, rows },
      ctx(second),
    ),
  );
  return { runId, events };
}

/** A scheduled fire at `start` that found `activeRunId` still going (overlap `skip`). */
export function skippedRun(spec: PipelineSpec, start: Date, activeRunId: string) {
  return skippedRunOf(spec.name, start, activeRunId);
}
