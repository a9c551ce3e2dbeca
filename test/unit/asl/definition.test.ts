import { ToolNotConfiguredError } from "@tapestry/core/connectors";
import {
  EventPublishError,
  LedgerUnavailableError,
  SecretNotSetError,
  SecretReadError,
  SecretUnavailableError,
  ToolAuthError,
  ToolRequestError,
  ToolResponseError,
  ToolTriggerUncertainError,
  ToolUnavailableError,
} from "@tapestry/core/errors";
import { LedgerDamagedError, RunLockContendedError } from "@tapestry/core/ledger";
import {
  LAMBDA_TRANSIENT_ERRORS,
  mayHaveActedNames,
  PIPELINE_RUN_TASKS,
  RETRY_CLASSES,
  RetryStageUnknownError,
  TASK_RETRY_POLICY,
  type TapestryErrorClass,
  taskStateTimeoutSeconds,
  WebhookCompletionUnsupportedError,
} from "@tapestry/core/pipeline";
import { describe, expect, it } from "vitest";
import type { State } from "../../../state-machines/src/asl";
import { renderPipelineRunAsl } from "../../../state-machines/src/generate";
import {
  PIPELINE_RUN_TASK_STATES,
  type TaskStateName,
  WAIT_FOR_TASK_TOKEN,
} from "../../../state-machines/src/pipeline-run";
import {
  allStates,
  COMMITTED_ASL,
  choiceStates,
  DEFINITION,
  levels,
  route,
  successors,
  taskStates,
} from "./definition";

const FIX =
  "state-machines/pipeline-run.asl.json is out of date with state-machines/src: run `npm run asl` and commit the result";

const tasks = taskStates();
const states = allStates();

describe("state-machines/pipeline-run.asl.json", () => {
  it("is exactly what `npm run asl` generates from its TypeScript description", () => {
    expect(COMMITTED_ASL, FIX).toBe(renderPipelineRunAsl());
  });

  it("has a Retry and a Catch on every Task state, the last Catch taking any error", () => {
    expect([...tasks.keys()].sort()).toEqual(Object.keys(PIPELINE_RUN_TASK_STATES).sort());
    for (const [name, task] of tasks) {
      expect(task.Retry.length, name).toBeGreaterThan(0);
      expect(task.Catch.at(-1)?.ErrorEquals, name).toEqual(["States.ALL"]);
    }
  });

  it("runs each Task state on its task's function, timed out at that function's timeout plus slack", () => {
    for (const [name, task] of tasks) {
      if (name === "WaitForWebhook") continue;
      const fn = PIPELINE_RUN_TASK_STATES[name as TaskStateName];
      expect(task.Resource, name).toBe(`\${${PIPELINE_RUN_TASKS[fn].function}}`);
      expect(task.TimeoutSeconds, name).toBe(taskStateTimeoutSeconds(PIPELINE_RUN_TASKS[fn].function));
    }
  });

  it("waits for a webhook with a callback Task: its function gets the task token, the wait ends at the job's waitSeconds", () => {
    const wait = tasks.get("WaitForWebhook");
    expect(wait).toMatchObject({
      Resource: WAIT_FOR_TASK_TOKEN,
      Parameters: {
        // the placeholder the deploy fills with the function's ARN
        FunctionName: `\${AwaitWebhookFunctionArn}`,
        Payload: { "job.$": "$.job", "taskToken.$": "$$.Task.Token" },
      },
      TimeoutSecondsPath: "$.job.waitSeconds",
      ResultPath: "$.job",
      Next: "JobOutcome",
    });
    expect(wait?.TimeoutSeconds).toBeUndefined();
    // the wait times out into one fallback poll, never retried as a failure
    expect(wait && route(wait, "States.Timeout")).toEqual({ retried: false, caughtBy: "PollStep" });
  });

  it("retries, on each Task state, exactly its task's retry classes and Lambda's transient errors", () => {
    const names = (classes: readonly TapestryErrorClass[]) => classes.map((error) => error.name);
    const expected: Record<TaskStateName, string[]> = {
      AcquireRunLock: names([...RETRY_CLASSES.ledger, ...RETRY_CLASSES.publish]),
      PublishRunStarted: names(RETRY_CLASSES.publish),
      // StartStep leaves to AdoptOrStartStep what may follow a started job (see ROUTES)
      StartStep: names(RETRY_CLASSES.tool),
      AdoptOrStartStep: names([...RETRY_CLASSES.tool, ...RETRY_CLASSES.publish, ToolTriggerUncertainError]),
      PollStep: names([...RETRY_CLASSES.tool, ...RETRY_CLASSES.publish]),
      WaitForWebhook: names(RETRY_CLASSES.ledger),
      CancelTimedOutJob: names([...RETRY_CLASSES.tool, ...RETRY_CLASSES.publish]),
      CancelAbandonedJob: names([...RETRY_CLASSES.tool, ...RETRY_CLASSES.publish]),
      StepErrored: names(RETRY_CLASSES.publish),
      PublishRunSucceeded: names(RETRY_CLASSES.publish),
      ReleaseRunLock: names(RETRY_CLASSES.ledger),
      PublishRunFailed: names(RETRY_CLASSES.publish),
      PublishRunFailedBeforeStart: names(RETRY_CLASSES.publish),
      ReleaseRunLockAfterFailure: names(RETRY_CLASSES.ledger),
    };
    for (const [name, task] of tasks) {
      expect(task.Retry, name).toEqual([
        {
          ErrorEquals: [
            ...expected[name as TaskStateName],
            ...LAMBDA_TRANSIENT_ERRORS.filter(
              (error) => name !== "StartStep" || error !== "Lambda.ClientExecutionTimeoutException",
            ),
          ],
          IntervalSeconds: TASK_RETRY_POLICY.intervalSeconds,
          BackoffRate: TASK_RETRY_POLICY.backoffRate,
          MaxAttempts: TASK_RETRY_POLICY.maxAttempts,
          JitterStrategy: TASK_RETRY_POLICY.jitterStrategy,
        },
      ]);
    }
  });
});

/**
 * The table test: every named error each task's code can throw (core task-errors.ts), and the
 * platform's own failures, with what the Task state does with it. A row is a decision: a task
 * that learns to throw a new error fails "covers every error" until its row is written here.
 */
const CUT_OFF = ["States.Timeout", "Lambda.Unknown", "Sandbox.Timedout"];
type Row = readonly [
  state: TaskStateName,
  error: TapestryErrorClass | string,
  retried: boolean,
  then: string,
];
const ROUTES: readonly Row[] = [
  ["AcquireRunLock", LedgerUnavailableError, true, "PublishRunFailedBeforeStart"],
  ["AcquireRunLock", RunLockContendedError, true, "PublishRunFailedBeforeStart"],
  ["AcquireRunLock", EventPublishError, true, "PublishRunFailedBeforeStart"],
  // what the ledger holds is not what it wrote: a second read finds the same
  ["AcquireRunLock", LedgerDamagedError, false, "PublishRunFailedBeforeStart"],
  ["PublishRunStarted", EventPublishError, true, "PublishRunFailedBeforeStart"],
  ["PublishRunStarted", RetryStageUnknownError, false, "PublishRunFailedBeforeStart"],
  ["StartStep", ToolUnavailableError, true, "StepErrored"],
  // the trigger may have reached the tool: look the job up before triggering again
  ["StartStep", ToolTriggerUncertainError, false, "AdoptOrStartStep"],
  ...CUT_OFF.map((error): Row => ["StartStep", error, false, "AdoptOrStartStep"]),
  ["StartStep", ToolAuthError, false, "StepErrored"],
  ["StartStep", ToolRequestError, false, "StepErrored"],
  ["StartStep", ToolResponseError, false, "StepErrored"],
  ["StartStep", SecretNotSetError, false, "StepErrored"],
  // SSM throttled or timed out the secret's read: worth another attempt; refused it: not
  ["StartStep", SecretUnavailableError, true, "StepErrored"],
  ["StartStep", SecretReadError, false, "StepErrored"],
  ["StartStep", ToolNotConfiguredError, false, "StepErrored"],
  // the job was started and its StepStarted not published, or the invocation's answer was lost:
  // a plain retry would trigger a second job, so the adopting state looks the job up first
  ["StartStep", EventPublishError, false, "AdoptOrStartStep"],
  ["StartStep", "Lambda.ClientExecutionTimeoutException", false, "AdoptOrStartStep"],
  ["AdoptOrStartStep", ToolUnavailableError, true, "StepErrored"],
  ["AdoptOrStartStep", ToolTriggerUncertainError, true, "StepErrored"],
  ["AdoptOrStartStep", ToolAuthError, false, "StepErrored"],
  ["AdoptOrStartStep", ToolRequestError, false, "StepErrored"],
  ["AdoptOrStartStep", ToolResponseError, false, "StepErrored"],
  ["AdoptOrStartStep", SecretNotSetError, false, "StepErrored"],
  ["AdoptOrStartStep", SecretUnavailableError, true, "StepErrored"],
  ["AdoptOrStartStep", SecretReadError, false, "StepErrored"],
  ["AdoptOrStartStep", ToolNotConfiguredError, false, "StepErrored"],
  ["AdoptOrStartStep", EventPublishError, true, "StepErrored"],
  ["PollStep", ToolUnavailableError, true, "CancelAbandonedJob"],
  // refused credentials could not cancel either, and the job may have finished
  ["PollStep", ToolAuthError, false, "StepErrored"],
  ["PollStep", SecretNotSetError, false, "StepErrored"],
  ["PollStep", SecretReadError, false, "StepErrored"],
  // still unreadable after the retries: cancel the job rather than leave it unwatched
  ["PollStep", SecretUnavailableError, true, "CancelAbandonedJob"],
  ["PollStep", ToolNotConfiguredError, false, "CancelAbandonedJob"],
  ["PollStep", ToolRequestError, false, "CancelAbandonedJob"],
  ["PollStep", ToolResponseError, false, "CancelAbandonedJob"],
  ["PollStep", EventPublishError, true, "CancelAbandonedJob"],
  ["PollStep", "Lambda.Unknown", false, "CancelAbandonedJob"],
  // the registration's write: retried; failing for good, the job is cancelled rather than left unwatched
  ["WaitForWebhook", LedgerUnavailableError, true, "CancelAbandonedJob"],
  ["WaitForWebhook", WebhookCompletionUnsupportedError, false, "CancelAbandonedJob"],
  // no webhook within the fallback interval: one poll, then wait again
  ["WaitForWebhook", "States.Timeout", false, "PollStep"],
  ["CancelTimedOutJob", EventPublishError, true, "StepErrored"],
  ["CancelAbandonedJob", EventPublishError, true, "StepErrored"],
  ["StepErrored", EventPublishError, true, "StepFailedUnannounced"],
  ["StepErrored", RetryStageUnknownError, false, "StepFailedUnannounced"],
  ["PublishRunSucceeded", EventPublishError, true, "PublishRunFailed"],
  ["PublishRunSucceeded", RetryStageUnknownError, false, "PublishRunFailed"],
  ["ReleaseRunLock", LedgerUnavailableError, true, "RunLockNotReleased"],
  ["PublishRunFailed", EventPublishError, true, "ReleaseRunLockAfterFailure"],
  ["PublishRunFailed", RetryStageUnknownError, false, "ReleaseRunLockAfterFailure"],
  ["PublishRunFailedBeforeStart", EventPublishError, true, "ReleaseRunLockAfterFailure"],
  ["PublishRunFailedBeforeStart", RetryStageUnknownError, false, "ReleaseRunLockAfterFailure"],
  ["ReleaseRunLockAfterFailure", LedgerUnavailableError, true, "FailureAnnounced"],
];
const errorName = (error: TapestryErrorClass | string) => (typeof error === "string" ? error : error.name);

describe("what each Task state does with each error its task can throw", () => {
  it.each(ROUTES.map(([state, error, retried, then]) => [state, errorName(error), retried, then] as const))(
    "%s: %s is retried: %s, then goes to %s",
    (state, error, retried, then) => {
      const task = tasks.get(state);
      expect(task, state).toBeDefined();
      if (task) expect(route(task, error)).toEqual({ retried, caughtBy: then });
    },
  );

  it("covers every error every task can throw", () => {
    const decided = new Set(ROUTES.map(([state, error]) => `${state} ${errorName(error)}`));
    for (const [state, coreTask] of Object.entries(PIPELINE_RUN_TASK_STATES)) {
      for (const error of PIPELINE_RUN_TASKS[coreTask].throws) {
        expect(decided, `no row for ${state} throwing ${error.name}`).toContain(`${state} ${error.name}`);
      }
    }
  });

  it("names each error class by the name its errors carry (what Step Functions matches)", () => {
    const classes = new Set(Object.values(PIPELINE_RUN_TASKS).flatMap((task) => [...task.throws]));
    for (const ErrorClass of classes) {
      const error = Reflect.construct(ErrorClass, ["airbyte", "message", { ambiguous: false }]) as Error;
      expect(error.name).toBe(ErrorClass.name);
    }
  });

  it("retries Lambda's transient errors everywhere (but where the task may have acted), and never a function cut off mid-way", () => {
    for (const [name, task] of tasks) {
      const mayHaveActed = mayHaveActedNames(PIPELINE_RUN_TASK_STATES[name as TaskStateName]);
      const looksFirst = name === "AdoptOrStartStep";
      for (const error of LAMBDA_TRANSIENT_ERRORS) {
        expect(route(task, error).retried, `${name} ${error}`).toBe(
          looksFirst || !mayHaveActed.includes(error),
        );
      }
      for (const error of CUT_OFF) expect(route(task, error).retried, name).toBe(false);
    }
  });
});

/** Where a chain of states leads when nothing decides on data: Next links only, up to a Choice or an end. */
function nextChain(start: string): State[] {
  const chain: State[] = [];
  let name: string | undefined = start;
  while (name !== undefined && chain.length < 50) {
    const state = states.get(name);
    if (!state) break;
    chain.push(state);
    name = state.Type === "Choice" ? undefined : "Next" in state ? state.Next : undefined;
  }
  return chain;
}

/** A state that ends its level as a success: Succeed, or a last Pass that does not report a failure. */
function endsAsSuccess(state: State): boolean {
  if (state.Type === "Succeed") return true;
  return state.Type === "Pass" && state.End === true && state.Parameters?.status !== "failed";
}

describe("failure paths", () => {
  it("never end a Choice's Default as a success", () => {
    for (const [name, choice] of choiceStates()) {
      const chain = nextChain(choice.Default);
      expect(chain.some(endsAsSuccess), `${name}'s Default ${choice.Default}`).toBe(false);
    }
  });

  it("end every run-level Catch in a failed execution (Fail), never a Succeed", () => {
    const top = DEFINITION.States;
    const targets = Object.values(top).flatMap((state) =>
      state.Type === "Task" || state.Type === "Map" ? (state.Catch ?? []).map((c) => c.Next) : [],
    );
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      const seen = new Set<string>();
      const ends: string[] = [];
      const walk = (name: string) => {
        if (seen.has(name)) return;
        seen.add(name);
        const state = top[name];
        if (!state) throw new Error(`${name} is not a top-level state`);
        const next = successors(state);
        if (next.length === 0) ends.push(state.Type);
        for (const n of next) walk(n);
      };
      walk(target);
      expect(new Set(ends), `from ${target}`).toEqual(new Set(["Fail"]));
    }
  });
});

/** A reference path: dots and names only (AWS: no @ .. , : ? * and no functions). */
const REFERENCE_PATH = /^\$\$?(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** Fields whose value AWS reads as a reference path. */
const REFERENCE_PATH_FIELDS = [
  "ItemsPath",
  "ResultPath",
  "OutputPath",
  "InputPath",
  "SecondsPath",
  "CausePath",
];

describe("JSONPath forms", () => {
  const templates = [...states.values()].flatMap((state) => [
    ...("Parameters" in state && state.Parameters ? [state.Parameters] : []),
    ...("ResultSelector" in state && state.ResultSelector ? [state.ResultSelector] : []),
    ...("ItemSelector" in state ? [state.ItemSelector] : []),
  ]);
  const dynamic = templates.flatMap((template) =>
    Object.entries(template)
      .filter(([key]) => key.endsWith(".$"))
      .map(([, value]) => String(value)),
  );

  it("apply intrinsic functions to reference paths only", () => {
    const intrinsics = dynamic.filter((value) => value.startsWith("States."));
    expect(intrinsics.length).toBeGreaterThan(0);
    for (const call of intrinsics) {
      const args = [...call.replace(/'(?:\\.|[^'])*'/g, "''").matchAll(/\$\$?[^,)\s]*/g)].map((m) => m[0]);
      for (const path of args) expect(path, call).toMatch(REFERENCE_PATH);
    }
  });

  it("use no filter expressions, and a wildcard only as a whole Parameters or ResultSelector value", () => {
    expect(COMMITTED_ASL).not.toContain("?(");
    for (const value of dynamic.filter((v) => !v.startsWith("States."))) {
      expect(value).toMatch(/^\$\$?(\.[A-Za-z_][A-Za-z0-9_]*|\[\*\])*$/);
    }
  });

  it("use reference paths in every field AWS reads as one, and in every Choice's Variable", () => {
    for (const [name, state] of states) {
      for (const field of REFERENCE_PATH_FIELDS) {
        const value = (state as unknown as Record<string, unknown>)[field];
        if (typeof value === "string") expect(value, `${name}.${field}`).toMatch(REFERENCE_PATH);
      }
      if (state.Type === "Choice") {
        for (const rule of state.Choices) {
          const variables =
            "Not" in rule
              ? [rule.Not.Variable]
              : "And" in rule
                ? rule.And.map((c) => c.Variable)
                : [rule.Variable];
          for (const variable of variables) expect(variable, name).toMatch(REFERENCE_PATH);
        }
      }
    }
  });
});

describe("the definition's levels", () => {
  it("are the run, a stage's iteration and a step's iteration", () => {
    expect(levels().map((level) => [level.name, level.startAt])).toEqual([
      ["(top)", "AcquireRunLock"],
      ["RunStages", "RunStageSteps"],
      ["RunStageSteps", "StartStep"],
    ]);
  });
});
