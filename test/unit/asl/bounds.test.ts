import { readFileSync } from "node:fs";
import { ConfigError, type ConfigIssue, parseConfig, type TapestryConfig } from "@tapestry/core";
import type { PipelineSpec } from "@tapestry/core/config";
import {
  DEFAULT_PIPELINE_SETTINGS,
  definitionTimeoutSeconds,
  HISTORY_EVENT_BUDGET,
  HISTORY_EVENTS,
  HISTORY_EVENTS_PER_FALLBACK_POLL,
  HISTORY_EVENTS_PER_LOCK_ASK,
  HISTORY_EVENTS_PER_POLL,
  LONGEST_PATH_EVENTS,
  lockAsks,
  MAX_QUEUE_POLLS,
  pipelineBoundsIssues,
  queueTimeoutSeconds,
  queueWaitSeconds,
  runHistoryEvents,
  runHoldSeconds,
  runLockLifetimeMinutes,
  runTimeoutSeconds,
  TASK_RETRY_POLICY,
} from "@tapestry/core/pipeline";
import { describe, expect, it } from "vitest";
import type { State } from "../../../state-machines/src/asl";
import kickstart from "../../../tapestry.config";
import { allStates, levels, successors } from "./definition";

const SETTINGS = DEFAULT_PIPELINE_SETTINGS;
const KICKSTART_EVENTS = 2_053;
const config = (change?: (config: TapestryConfig) => void): unknown => {
  const copy = structuredClone(kickstart) as unknown as TapestryConfig;
  change?.(copy);
  return copy;
};
const KICKSTART = parseConfig(config()).pipelines[0] as PipelineSpec;

/** One Airbyte step of the kickstart, polled, with its timeout and poll interval changed. */
function step(timeoutMinutes: number, pollIntervalSeconds: number, name = "long-sync") {
  const zoom = KICKSTART.stages[0]?.steps[0];
  return { ...zoom, name, timeoutMinutes, pollIntervalSeconds, completion: "poll" as const };
}

function issuesOf(input: unknown): readonly ConfigIssue[] {
  try {
    parseConfig(input);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
}

describe("the history budget of a run", () => {
  it("lets the kickstart through, with the figure docs/performance.md gives", () => {
    const events = runHistoryEvents(KICKSTART, SETTINGS);
    expect(events).toBe(KICKSTART_EVENTS);
    expect(issuesOf(config())).toEqual([]);
    expect(readFileSync("docs/performance.md", "utf8")).toContain(
      `kickstart: ${events.toLocaleString("en-US")} events`,
    );
  });

  it("refuses a 1440-minute step polled every 30 s, at its path, with the figure and the fix", () => {
    const issues = issuesOf(
      config((c) => {
        const [pipeline] = c.pipelines;
        if (pipeline) pipeline.stages = [{ name: "ingest", steps: [step(1440, 30)] as never }];
      }),
    );
    expect(issues).toEqual([
      {
        path: "pipelines[0].stages[0].steps[0].pollIntervalSeconds",
        message: expect.stringContaining("may write up to 26,126 Step Functions history events in one run"),
      },
    ]);
    expect(issues[0]?.message).toContain(
      `over the budget of ${HISTORY_EVENT_BUDGET.toLocaleString("en-US")}`,
    );
    expect(issues[0]?.message).toMatch(
      /poll every 40 s or more, or shorten timeoutMinutes to 1,099 or less$/,
    );
  });

  it("counts a step waiting for its webhook by its fallback polls, and names fallbackPollSeconds in the fix", () => {
    const waiting = (fallbackPollSeconds: number) =>
      issuesOf(
        config((c) => {
          const [pipeline] = c.pipelines;
          const long = { ...step(1440, 30), completion: "webhook" as const, fallbackPollSeconds };
          if (pipeline) pipeline.stages = [{ name: "ingest", steps: [long] as never }];
        }),
      );
    // a fallback poll every 300 s over 24 h: 289 waits, a fifth of the budget
    expect(waiting(300)).toEqual([]);
    expect(waiting(57)).toEqual([]);
    expect(waiting(10)).toEqual([
      {
        path: "pipelines[0].stages[0].steps[0].fallbackPollSeconds",
        message: expect.stringMatching(
          /may write up to 112,546 .* waits for its webhook up to 8,641 times \(a fallback poll every 10 s for up to 1440 min: 112,333 events\): fall back to a poll every 57 s or more, or shorten timeoutMinutes to 253 or less$/,
        ),
      },
    ]);
  });

  it("suggests fixes that fit, and no less", () => {
    const withStep = (timeoutMinutes: number, pollIntervalSeconds: number) =>
      issuesOf(
        config((c) => {
          const [pipeline] = c.pipelines;
          if (pipeline)
            pipeline.stages = [
              { name: "ingest", steps: [step(timeoutMinutes, pollIntervalSeconds)] as never },
            ];
        }),
      );
    expect(withStep(1440, 40)).toEqual([]);
    expect(withStep(1440, 39)).toHaveLength(1);
    expect(withStep(1099, 30)).toEqual([]);
    expect(withStep(1100, 30)).toHaveLength(1);
  });

  it("counts parallel steps together: they share the execution's one history", () => {
    const stage = (...steps: ReturnType<typeof step>[]) =>
      config((c) => {
        const [pipeline] = c.pipelines;
        if (pipeline) pipeline.stages = [{ name: "ingest", steps: steps as never }];
      });
    expect(issuesOf(stage(step(720, 30, "one")))).toEqual([]);
    expect(issuesOf(stage(step(720, 30, "one"), step(720, 30, "two")))).toHaveLength(1);
  });

  it("bounds a queued run's lock waits to a constant, however long the run ahead may hold the lock", () => {
    const queued = { ...KICKSTART, overlap: "queue" as const };
    expect(lockAsks(queued, SETTINGS)).toBeLessThanOrEqual(MAX_QUEUE_POLLS + 1);
    expect(lockAsks(queued, { ...SETTINGS, queueWaitSeconds: 1 })).toBe(MAX_QUEUE_POLLS + 1);
    expect(runHistoryEvents(queued, SETTINGS) - runHistoryEvents(KICKSTART, SETTINGS)).toBe(
      MAX_QUEUE_POLLS * HISTORY_EVENTS_PER_LOCK_ASK,
    );
    const longer = { ...queued, stages: [...queued.stages, ...queued.stages] };
    expect(
      runHistoryEvents(longer, SETTINGS) - runHistoryEvents({ ...longer, overlap: "skip" }, SETTINGS),
    ).toBe(MAX_QUEUE_POLLS * HISTORY_EVENTS_PER_LOCK_ASK);
  });
});

describe("how long a run may take", () => {
  it("covers, for the kickstart, every stage's slowest step and every task at all its retries", () => {
    // 3 stages of 60, 30 and 60 minutes, each step with ~53 min of task overhead at its worst (the
    // two stages that wait for webhooks ~12 min more: the last registration at all its retries)
    expect(runHoldSeconds(KICKSTART)).toBe(21_078);
    expect(runTimeoutSeconds(KICKSTART, SETTINGS)).toBe(21_353);
    expect(runTimeoutSeconds(KICKSTART, SETTINGS)).toBeGreaterThan((60 + 30 + 60) * 60);
  });

  it("adds a queued run's wait: as long as the run ahead may hold the lock, asked at most 120 times", () => {
    const queued = { ...KICKSTART, overlap: "queue" as const };
    expect(queueTimeoutSeconds(queued)).toBe(runHoldSeconds(queued));
    expect(queueWaitSeconds(queued, SETTINGS)).toBe(Math.max(30, Math.ceil(21_078 / MAX_QUEUE_POLLS)));
    expect(runTimeoutSeconds(queued, SETTINGS)).toBe(
      runTimeoutSeconds(KICKSTART, SETTINGS) +
        queueTimeoutSeconds(queued) +
        queueWaitSeconds(queued, SETTINGS),
    );
  });

  it("is one TimeoutSeconds for the definition: the longest any pipeline may take", () => {
    const short = { ...KICKSTART, name: "short", stages: KICKSTART.stages.slice(0, 1) };
    expect(definitionTimeoutSeconds([short, KICKSTART], SETTINGS)).toBe(
      runTimeoutSeconds(KICKSTART, SETTINGS),
    );
  });

  it("keeps the run lock longer than a run may hold it", () => {
    expect(runLockLifetimeMinutes(KICKSTART, 0) * 60).toBeGreaterThanOrEqual(runHoldSeconds(KICKSTART));
    expect(runLockLifetimeMinutes(KICKSTART, 15)).toBe(runLockLifetimeMinutes(KICKSTART, 0) + 15);
  });

  it("refuses a pipeline whose worst-case run outlasts what a run may take", () => {
    const day = { name: "day", steps: [step(1440, 3600)] };
    const stages = Array.from({ length: 30 }, (_, i) => ({ ...day, name: `day-${i}` }));
    const issues = pipelineBoundsIssues({ pipelines: [{ ...KICKSTART, stages } as PipelineSpec] });
    expect(issues).toEqual([{ path: "pipelines[0].stages", message: expect.stringContaining("days") }]);
  });
});

/** A Task state that waits for a task token (the callback pattern) writes a history of its own. */
const isCallback = (state: State) => state.Type === "Task" && state.Resource.endsWith(".waitForTaskToken");

/** A state's history events at its worst (a Task with every retry), a Map without its iterations. */
function worstEvents(state: State): number {
  switch (state.Type) {
    case "Task":
      return isCallback(state)
        ? HISTORY_EVENTS.callbackTask + HISTORY_EVENTS.callbackTaskRetry * TASK_RETRY_POLICY.maxAttempts
        : HISTORY_EVENTS.task + HISTORY_EVENTS.taskRetry * TASK_RETRY_POLICY.maxAttempts;
    case "Map":
      return HISTORY_EVENTS.map;
    case "Fail":
      return HISTORY_EVENTS.fail;
    default:
      return HISTORY_EVENTS[state.Type === "Succeed" ? "succeed" : (state.Type.toLowerCase() as "pass")];
  }
}

/**
 * The worst paths bounds.ts counts, by state; each state of its level is on the path, or an
 * alternative to one of the same type (so of the same cost).
 */
const WORST_PATHS = {
  "(top)": {
    events: LONGEST_PATH_EVENTS.run,
    path: [
      "AcquireRunLock",
      "LockOutcome",
      "PublishRunStarted",
      "RunStages",
      "PublishRunSucceeded",
      "PublishRunFailed",
      "ReleaseRunLockAfterFailure",
      "FailureAnnounced",
      "RunFailed",
    ],
    alternatives: {
      WaitForRunLock: "lock waits, counted apart",
      RunSkipped: "ends the run right after LockOutcome",
      UnknownLockOutcome: "instead of PublishRunStarted and RunStages, which cost more",
      PublishRunFailedBeforeStart: "PublishRunFailed",
      ReleaseRunLock: "ReleaseRunLockAfterFailure",
      RunSucceeded: "after ReleaseRunLock, instead of PublishRunFailed and RunFailed, which cost more",
      RunLockNotReleased: "RunFailed",
      RunFailedUnannounced: "RunFailed",
    },
  },
  RunStages: {
    events: LONGEST_PATH_EVENTS.stage,
    path: ["RunStageSteps", "StageOutcome", "StageHasFailures", "DescribeStageFailure", "StageFailed"],
    alternatives: { StageSucceeded: "DescribeStageFailure" },
  },
  RunStageSteps: {
    // a step waiting for its webhook; a polled step's path, with WaitForJob, is checked apart
    events: LONGEST_PATH_EVENTS.webhookStep,
    path: [
      "StartStep",
      "AdoptOrStartStep",
      "JobOutcome",
      "WaitForWebhook",
      "PollStep",
      "JobOutcome",
      "UnknownJobState",
      "CancelAbandonedJob",
      "StepErrored",
      "StepFailedUnannounced",
    ],
    alternatives: {
      WaitForJob: "apart: the polled step's wait, instead of WaitForWebhook",
      CancelTimedOutJob: "CancelAbandonedJob",
      StepSucceeded: "StepFailedUnannounced",
      StepFailed: "StepFailedUnannounced",
    },
  },
} as const;

/** A polled step's longest path: the webhook path with WaitForJob (a Wait) instead of WaitForWebhook. */
const POLLED_STEP_PATH = [
  "StartStep",
  "AdoptOrStartStep",
  "JobOutcome",
  "WaitForJob",
  "PollStep",
  "JobOutcome",
  "UnknownJobState",
  "CancelAbandonedJob",
  "StepErrored",
  "StepFailedUnannounced",
];

describe("the history counts in bounds.ts, against the generated definition", () => {
  it.each(levels().map((level) => [level.name, level] as const))(
    "%s: the worst path is a path, of the counted cost",
    (name, level) => {
      const worst = WORST_PATHS[name as keyof typeof WORST_PATHS];
      const states = level.states;
      const check = (path: readonly string[], events: number) => {
        expect(path[0]).toBe(level.startAt);
        path.slice(1).forEach((next, i) => {
          const from = states[path[i] as string];
          expect(from && successors(from), `${path[i]} -> ${next}`).toContain(next);
        });
        expect(path.reduce((sum, state) => sum + worstEvents(states[state] as State), 0)).toBe(events);
      };
      check(worst.path, worst.events);
      if (name === "RunStageSteps") check(POLLED_STEP_PATH, LONGEST_PATH_EVENTS.step);
      for (const other of Object.keys(states).filter((s) => !(worst.path as readonly string[]).includes(s))) {
        expect(worst.alternatives, `${other} is neither on the worst path nor an alternative`).toHaveProperty(
          other,
        );
        const instead = (worst.alternatives as Record<string, string>)[other] as string;
        if (instead.startsWith("apart:")) continue;
        if (states[instead])
          expect(states[other]?.Type, `${other} instead of ${instead}`).toBe(states[instead]?.Type);
      }
    },
  );

  it("counts a poll and a lock request as the loops of the definition", () => {
    const states = allStates();
    const cycle = (names: string[]) => {
      names.forEach((name, i) => {
        const state = states.get(name);
        expect(state && successors(state), name).toContain(names[(i + 1) % names.length]);
      });
      return names.reduce((sum, name) => {
        const state = states.get(name) as State;
        if (isCallback(state)) return sum + HISTORY_EVENTS.callbackTask;
        return sum + (state.Type === "Task" ? HISTORY_EVENTS.task : worstEvents(state));
      }, 0);
    };
    expect(cycle(["WaitForJob", "PollStep", "JobOutcome"])).toBe(HISTORY_EVENTS_PER_POLL);
    expect(cycle(["WaitForWebhook", "PollStep", "JobOutcome"])).toBe(HISTORY_EVENTS_PER_FALLBACK_POLL);
    expect(cycle(["WaitForRunLock", "AcquireRunLock", "LockOutcome"])).toBe(HISTORY_EVENTS_PER_LOCK_ASK);
  });
});
