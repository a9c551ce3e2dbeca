import type { StepSpec } from "@tapestry/core/config";
import { HISTORY_EVENTS } from "@tapestry/core/pipeline";

/**
 * What a pipeline run that takes no retry enters and writes, derived from the ASL
 * (state-machines/pipeline-run.asl.json; docs/performance.md): the states a run enters for given
 * job lengths, the history events they write, and what Standard workflows bill for them. The bench
 * checks these against the states the embedded runner measured.
 */

/** Step Functions' price per state transition (Standard workflows, us-east-1: $0.025 per 1,000). */
export const PRICE_PER_TRANSITION = 0.025 / 1000;

type Completion = "poll" | "webhook";
type CountedStep = Pick<StepSpec, "pollIntervalSeconds" | "completion"> & {
  readonly fallbackPollSeconds?: number;
};

/**
 * The states a run of `stages` enters (in no particular order) when every job takes `jobSeconds`
 * (never exactly a multiple of an interval), each step as its config says unless `mode` is "poll".
 * A polled step is seen ending by its ceil(T/p)-th poll; a step waiting for its webhook times out
 * ceil(T/f) - 1 times into a fallback poll before the webhook ends its last wait.
 */
export function runStates(
  stages: readonly { readonly steps: readonly CountedStep[] }[],
  jobSeconds: number,
  mode?: Completion,
): string[] {
  const states = ["AcquireRunLock", "LockOutcome", "PublishRunStarted", "RunStages"];
  for (const stage of stages) {
    states.push("RunStageSteps", "StageOutcome", "StageHasFailures", "StageSucceeded");
    for (const step of stage.steps) {
      states.push("StartStep", "JobOutcome");
      if ((mode ?? step.completion) === "webhook" && step.fallbackPollSeconds !== undefined) {
        const fallbacks = Math.ceil(jobSeconds / step.fallbackPollSeconds) - 1;
        for (let i = 0; i < fallbacks; i++) states.push("WaitForWebhook", "PollStep", "JobOutcome");
        states.push("WaitForWebhook", "JobOutcome");
      } else {
        const polls = Math.ceil(jobSeconds / step.pollIntervalSeconds);
        for (let i = 0; i < polls; i++) states.push("WaitForJob", "PollStep", "JobOutcome");
      }
      states.push("StepSucceeded");
    }
  }
  states.push("PublishRunSucceeded", "ReleaseRunLock", "RunSucceeded");
  return states;
}

const TASKS = new Set([
  "AcquireRunLock",
  "PublishRunStarted",
  "StartStep",
  "PollStep",
  "PublishRunSucceeded",
  "ReleaseRunLock",
]);
const CHOICES = new Set(["LockOutcome", "JobOutcome", "StageHasFailures"]);
const MAPS = new Set(["RunStages", "RunStageSteps"]);

function eventsOf(state: string): number {
  if (state === "WaitForWebhook") return HISTORY_EVENTS.callbackTask;
  if (MAPS.has(state)) return HISTORY_EVENTS.map;
  if (TASKS.has(state)) return HISTORY_EVENTS.task;
  if (CHOICES.has(state)) return HISTORY_EVENTS.choice;
  if (state === "WaitForJob") return HISTORY_EVENTS.wait;
  if (state === "RunSucceeded") return HISTORY_EVENTS.succeed;
  return HISTORY_EVENTS.pass; // StageOutcome, StageSucceeded, StepSucceeded
}

/**
 * The history events of a successful run that took no retry: each state entered, one Map
 * iteration per stage and per step, the execution itself.
 */
export function historyEvents(states: readonly string[]): number {
  const iterations = states.filter((s) => s === "RunStageSteps" || s === "StartStep").length;
  return (
    HISTORY_EVENTS.execution +
    states.reduce((sum, state) => sum + eventsOf(state), 0) +
    iterations * HISTORY_EVENTS.mapIteration
  );
}

/** A run's transitions at the price, and the month's bill for a daily and an hourly schedule. */
export function monthlyCost(transitions: number): { perRun: number; daily: number; hourly: number } {
  const perRun = transitions * PRICE_PER_TRANSITION;
  return { perRun, daily: perRun * 30, hourly: perRun * 720 };
}
