import {
  EventPublishError,
  LedgerUnavailableError,
  parseConfig,
  SecretNotSetError,
  SecretReadError,
  SecretUnavailableError,
  silentLogger,
  type TapestryEvent,
  ToolAuthError,
  ToolRequestError,
  ToolResponseError,
  ToolTriggerUncertainError,
  ToolUnavailableError,
} from "@tapestry/core";
import type { PipelineSpec } from "@tapestry/core/config";
import { ToolNotConfiguredError } from "@tapestry/core/connectors";
import { LedgerDamagedError, RunLockContendedError } from "@tapestry/core/ledger";
import {
  awaitWebhook,
  cancelStep,
  DEFAULT_PIPELINE_SETTINGS,
  type Job,
  PIPELINE_RUN_TASKS,
  type PipelineDeps,
  type PipelineRunTask,
  pollStep,
  publishRunEvent,
  RetryStageUnknownError,
  runLock,
  type StepResult,
  startStep,
  type TapestryErrorClass,
  WebhookCompletionUnsupportedError,
} from "@tapestry/core/pipeline";
import { describe, expect, it } from "vitest";
import kickstart from "../../../tapestry.config";

const PIPELINE = parseConfig(structuredClone(kickstart)).pipelines[0] as PipelineSpec;
const STEP = PIPELINE.stages[0]?.steps[0];
if (!STEP) throw new Error("the kickstart has no step");
const NOW = new Date("2026-11-21T11:00:00.000Z");
const RUN_ID = "rain-shield-audience-20261121T110000Z";
const JOB: Job = {
  externalId: "42",
  url: null,
  attached: false,
  startedAt: NOW.toISOString(),
  deadline: new Date(NOW.getTime() + 3_600_000).toISOString(),
  state: "running",
  toolStatus: null,
  completion: "webhook",
  waitSeconds: 30,
  rows: null,
  bytes: null,
  reason: null,
  error: null,
};

/** Dependencies whose tool, bus or ledger fails with `error` (the rest works), and what was published. */
function deps(fails: { tool?: Error; bus?: Error; ledger?: Error } = {}) {
  const published: TapestryEvent[][] = [];
  const fail = (error: Error | undefined) => (error ? Promise.reject(error) : undefined);
  const core: PipelineDeps = {
    connectors: {
      start: async () => (await fail(fails.tool)) ?? { externalId: "42", attached: false },
      poll: async () => (await fail(fails.tool)) ?? { state: "succeeded", toolStatus: "succeeded", rows: 5 },
      cancel: async () => (await fail(fails.tool)) ?? { state: "cancelled", toolStatus: "cancelled" },
    },
    publisher: {
      publish: async (events) => {
        await fail(fails.bus);
        published.push([...events]);
      },
    },
    ledger: {
      acquireRunLock: async () => (await fail(fails.ledger)) ?? { acquired: false, heldBy: "other-run" },
      releaseRunLock: async () => fail(fails.ledger),
      getRun: async () => undefined,
    },
    now: () => NOW,
    logger: silentLogger,
    settings: DEFAULT_PIPELINE_SETTINGS,
  };
  return { core, published };
}

/** A tool task's invocation: a deadline far enough away that it never decides anything here. */
const INVOCATION = { deadline: NOW.getTime() + 60_000 };

/** Grouparoo's step: no webhook, so WaitForWebhook must never run for it. */
const GROUPAROO_STEP = PIPELINE.stages[2]?.steps[0];

/** Each core task run once, against dependencies that fail as given (`where` "step": a step the task refuses). */
const RUN: Record<PipelineRunTask, (core: PipelineDeps, where?: Where) => Promise<unknown>> = {
  acquireRunLock: (core) =>
    runLock({ action: "acquire", runId: RUN_ID, trigger: { kind: "manual" }, pipeline: PIPELINE }, core),
  releaseRunLock: (core) => runLock({ action: "release", runId: RUN_ID, pipeline: PIPELINE.name }, core),
  // "step": a retry from a stage the pipeline does not have (the config changed since it was asked for)
  publishRunEvent: (core, where) =>
    publishRunEvent(
      {
        event: "PipelineRunStarted",
        runId: RUN_ID,
        trigger:
          where === "step"
            ? { kind: "retry", retryOf: `${PIPELINE.name}-20260301T060000Z`, fromStage: "no-such-stage" }
            : { kind: "manual" },
        pipeline: PIPELINE,
      },
      core,
    ),
  startStep: (core) =>
    startStep({ runId: RUN_ID, pipeline: PIPELINE.name, stage: "ingest", step: STEP }, core, INVOCATION),
  pollStep: (core) =>
    pollStep(
      { runId: RUN_ID, pipeline: PIPELINE.name, stage: "ingest", step: STEP, job: JOB },
      core,
      INVOCATION,
    ),
  cancelStep: (core) =>
    cancelStep(
      { runId: RUN_ID, pipeline: PIPELINE.name, stage: "ingest", step: STEP, job: JOB, reason: "timeout" },
      core,
      INVOCATION,
    ),
  awaitWebhook: (core, where) =>
    awaitWebhook(
      {
        runId: RUN_ID,
        pipeline: PIPELINE.name,
        stage: "ingest",
        step: where === "step" && GROUPAROO_STEP ? GROUPAROO_STEP : STEP,
        job: JOB,
        taskToken: "token",
      },
      {
        pipeline: core,
        // the token store lives beside the ledger: it fails as the ledger does here
        tokens: {
          register: async () => {
            await core.ledger.releaseRunLock({ pipeline: PIPELINE.name, runId: RUN_ID });
            return undefined;
          },
          recordDelivery: async () => ({ deliveries: 0 }),
          claim: async () => false,
          release: async () => undefined,
          complete: async () => undefined,
        },
        tasks: { sendTaskSuccess: async () => "closed" },
      },
      INVOCATION,
    ),
};

type Where = "tool" | "bus" | "ledger" | "step";

/** An instance of each error class the table names, as the dependency that raises it would. */
const INSTANCES = new Map<TapestryErrorClass, { where: Where; error: Error }>([
  [
    ToolUnavailableError,
    { where: "tool", error: new ToolUnavailableError("airbyte", "503", { ambiguous: false }) },
  ],
  [
    ToolTriggerUncertainError,
    { where: "tool", error: new ToolTriggerUncertainError("airbyte", "timed out") },
  ],
  [ToolAuthError, { where: "tool", error: new ToolAuthError("airbyte", "401", 401) }],
  [ToolRequestError, { where: "tool", error: new ToolRequestError("airbyte", "404", 404) }],
  [ToolResponseError, { where: "tool", error: new ToolResponseError("airbyte", "garbled") }],
  [SecretNotSetError, { where: "tool", error: new SecretNotSetError("AIRBYTE_CLIENT_ID", "prod") }],
  [
    SecretUnavailableError,
    { where: "tool", error: new SecretUnavailableError("AIRBYTE_CLIENT_ID", "SSM: ThrottlingException") },
  ],
  [SecretReadError, { where: "tool", error: new SecretReadError("AIRBYTE_CLIENT_ID", "AccessDenied") }],
  [ToolNotConfiguredError, { where: "tool", error: new ToolNotConfiguredError("airbyte") }],
  [EventPublishError, { where: "bus", error: new EventPublishError("refused") }],
  [LedgerUnavailableError, { where: "ledger", error: new LedgerUnavailableError("throttled") }],
  [RunLockContendedError, { where: "ledger", error: new RunLockContendedError("contended") }],
  [
    LedgerDamagedError,
    { where: "ledger", error: new LedgerDamagedError("DynamoDB", "runId is not a string") },
  ],
  [
    RetryStageUnknownError,
    { where: "step", error: new RetryStageUnknownError("rain-shield-audience", "no-such-stage") },
  ],
  [
    WebhookCompletionUnsupportedError,
    { where: "step", error: new WebhookCompletionUnsupportedError("grouparoo sends no webhook") },
  ],
]);

describe("the table of what each task can throw (core task-errors.ts)", () => {
  const rows = Object.entries(PIPELINE_RUN_TASKS).flatMap(([task, entry]) =>
    entry.throws.map((error) => [task as PipelineRunTask, error.name, error] as const),
  );

  it.each(rows)("%s lets %s escape, as the table says", async (task, _, errorClass) => {
    const raised = INSTANCES.get(errorClass);
    expect(raised, `no instance of ${errorClass.name} to raise`).toBeDefined();
    if (!raised) return;
    if (raised.where === "step") {
      await expect(RUN[task](deps().core, "step")).rejects.toBeInstanceOf(errorClass);
      return;
    }
    const { core } = deps({ [raised.where]: raised.error });
    await expect(RUN[task](core)).rejects.toBe(raised.error);
  });

  it("is all a cancel's task can throw: a failed cancel is reported in the step's error, not thrown", async () => {
    const { core, published } = deps({
      tool: new ToolUnavailableError("airbyte", "503", { ambiguous: false }),
    });
    await expect(RUN.cancelStep(core)).resolves.toMatchObject({
      state: "failed",
      error: expect.stringContaining("503"),
    });
    expect(published.flat().map((e) => e["detail-type"])).toEqual(["StepFailed"]);
  });
});

const result = (
  stage: string,
  step: string,
  status: "succeeded" | "failed",
  unannouncedError: string | null = null,
) => ({ stage, step, status, rows: null, unannouncedError }) satisfies StepResult;

function runFailed(
  failure: { Error: string; Cause: string | null },
  startedAt: string | null = NOW.toISOString(),
) {
  return {
    event: "PipelineRunFailed" as const,
    runId: RUN_ID,
    pipeline: PIPELINE.name,
    spec: PIPELINE,
    startedAt,
    failure,
  };
}

describe("PipelineRunFailed (publishRunEvent)", () => {
  it("publishes, in the same batch and first, the StepFailed of a failed step whose own announcement failed", async () => {
    const { core, published } = deps();
    const cause = JSON.stringify([
      result(
        "ingest",
        "zoom-webinar-registrants",
        "failed",
        "ToolAuthError; publishing its StepFailed event failed too (EventPublishError)",
      ),
      result("ingest", "salesforce-contacts", "succeeded"),
    ]);
    await publishRunEvent(runFailed({ Error: "StageFailed", Cause: cause }), core);
    expect(published).toHaveLength(1);
    const [stepFailed, runFailedEvent] = published[0] ?? [];
    expect(stepFailed?.["detail-type"]).toBe("StepFailed");
    expect(stepFailed?.detail.data).toMatchObject({
      stage: "ingest",
      step: "zoom-webinar-registrants",
      tool: "airbyte",
      reason: "error",
      error: expect.stringContaining("EventPublishError"),
    });
    expect(runFailedEvent?.detail.data).toMatchObject({
      failedSteps: ["zoom-webinar-registrants"],
      error: "step zoom-webinar-registrants failed in stage ingest; later stages did not start",
    });
  });

  it("announces no step again when each failed step announced itself", async () => {
    const { core, published } = deps();
    const cause = JSON.stringify([result("sync", "mailchimp-audience", "failed")]);
    await publishRunEvent(runFailed({ Error: "StageFailed", Cause: cause }), core);
    expect(published.flat().map((e) => e["detail-type"])).toEqual(["PipelineRunFailed"]);
    expect(published[0]?.[0]?.detail.data).toMatchObject({
      error: "step mailchimp-audience failed in stage sync",
    });
  });

  it("says the run could not start when it failed before it did, with no start time or duration", async () => {
    const { core, published } = deps();
    await publishRunEvent(
      runFailed({ Error: "LedgerUnavailableError", Cause: '{"errorMessage":"throttled"}' }, null),
      core,
    );
    const data = published[0]?.[0]?.detail.data as Record<string, unknown>;
    expect(data).toMatchObject({
      failedSteps: [],
      error: "the run could not start: LedgerUnavailableError: throttled",
    });
    expect(data.startedAt).toBeUndefined();
    expect(data.durationMs).toBeUndefined();
  });

  it("describes a failure that is not a stage's as the error it is, even a StageFailed whose cause it cannot read", async () => {
    const { core, published } = deps();
    await publishRunEvent(runFailed({ Error: "StageFailed", Cause: "not json" }), core);
    await publishRunEvent(runFailed({ Error: "States.Runtime", Cause: "a path matched nothing" }), core);
    expect(published.flat().map((e) => (e.detail.data as { error: string }).error)).toEqual([
      "StageFailed: not json",
      "States.Runtime: a path matched nothing",
    ]);
  });
});
