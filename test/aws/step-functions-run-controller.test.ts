import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { StepFunctionsRunController } from "@tapestry/core/adapters/aws";
import { RunAlreadyStartedError, RunControlError } from "@tapestry/core/errors";
import { silentLogger } from "@tapestry/core/logging";
import { runInputSchema, scheduledRunId, startScheduledRun } from "@tapestry/core/pipeline";
import type { RunStarter } from "@tapestry/core/status";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { PIPELINE, STATE_MACHINE_ARN } from "./harness";

const sfn = mockClient(SFNClient);
const starter = () =>
  new StepFunctionsRunController({
    client: new SFNClient({ region: "us-east-1" }),
    stateMachineArn: STATE_MACHINE_ARN,
  });

/** What a manual start throws (undefined: it did not). */
const manualStartError = () =>
  starter()
    .start(PIPELINE, RUN_ID, { kind: "manual" })
    .then(
      () => undefined,
      (e: unknown) => e,
    );

const FIRE = "2026-03-02T11:00:00Z";
const RUN_ID = "rain-shield-audience-20260302T110000Z";

beforeEach(() => {
  sfn.reset();
  sfn.on(StartExecutionCommand).resolves({
    executionArn: `${STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:")}:${RUN_ID}`,
    startDate: new Date(),
  });
});

afterAll(() => sfn.restore());

describe("StepFunctionsRunController", () => {
  it("starts an execution named by the run id, with the state machine's execution input", async () => {
    await starter().start(PIPELINE, RUN_ID, { kind: "schedule", scheduledTime: "2026-03-02T11:00:00.000Z" });
    const calls = sfn.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(input?.name).toBe(RUN_ID);
    const executionInput: unknown = JSON.parse(input?.input ?? "null");
    expect(executionInput).toEqual({
      runId: RUN_ID,
      trigger: { kind: "schedule", scheduledTime: "2026-03-02T11:00:00.000Z" },
      pipeline: PIPELINE,
    });
    // what AcquireRunLock and PublishRunStarted read from $ parses as the run's input
    expect(runInputSchema.parse(executionInput)).toEqual(executionInput);
  });

  it("turns ExecutionAlreadyExists into RunAlreadyStartedError carrying the run id", async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(
        new ExecutionAlreadyExists({ message: `Execution Already Exists: '${RUN_ID}'`, $metadata: {} }),
      );
    const error = await manualStartError();
    expect(error).toBeInstanceOf(RunAlreadyStartedError);
    expect((error as RunAlreadyStartedError).runId).toBe(RUN_ID);
    expect((error as Error).cause).toBeInstanceOf(ExecutionAlreadyExists);
  });

  it("wraps any other failure in a RunControlError that keeps its cause", async () => {
    const denied = Object.assign(new Error("not authorized to perform: states:StartExecution"), {
      name: "AccessDeniedException",
    });
    sfn.on(StartExecutionCommand).rejects(denied);
    const error = await manualStartError();
    expect(error).toBeInstanceOf(RunControlError);
    expect(error).not.toBeInstanceOf(RunAlreadyStartedError);
    expect((error as Error).message).toContain("AccessDeniedException");
    expect((error as Error).cause).toBe(denied);
  });
});

describe("startScheduledRun", () => {
  function recordingStarter(refuse = false) {
    const started: { runId: string; trigger: unknown; pipeline: string }[] = [];
    const runs: RunStarter = {
      start: async (pipeline, runId, trigger) => {
        if (refuse) throw new RunAlreadyStartedError(runId);
        started.push({ runId, trigger, pipeline: pipeline.name });
      },
    };
    return { runs, started };
  }

  it("derives the run id from the pipeline and the scheduled time", async () => {
    const { runs, started } = recordingStarter();
    const result = await startScheduledRun(
      { scheduledTime: FIRE, pipeline: PIPELINE },
      { runs, logger: silentLogger },
    );
    expect(result).toEqual({ runId: scheduledRunId(PIPELINE.name, new Date(FIRE)), started: true });
    expect(result.runId).toBe(RUN_ID);
    expect(started).toEqual([
      {
        runId: RUN_ID,
        trigger: { kind: "schedule", scheduledTime: "2026-03-02T11:00:00.000Z" },
        pipeline: PIPELINE.name,
      },
    ]);
  });

  it("answers started: false for a duplicate delivery of the same fire", async () => {
    const { runs } = recordingStarter(true);
    await expect(
      startScheduledRun({ scheduledTime: FIRE, pipeline: PIPELINE }, { runs, logger: silentLogger }),
    ).resolves.toEqual({ runId: RUN_ID, started: false });
  });

  it("lets every other failure through", async () => {
    const runs: RunStarter = {
      start: async () => {
        throw new RunControlError("throttled");
      },
    };
    await expect(
      startScheduledRun({ scheduledTime: FIRE, pipeline: PIPELINE }, { runs, logger: silentLogger }),
    ).rejects.toThrow("throttled");
  });
});
