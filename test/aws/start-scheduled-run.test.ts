/**
 * functions/aws/start-scheduled-run: the target of each pipeline's EventBridge Scheduler schedule.
 * Scheduler sends `{ scheduledTime: <aws.scheduler.scheduled-time>, pipeline }` at least once per fire.
 */
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  BASE_ENV,
  coldStart,
  deploy,
  entryTestHooks,
  lambdaContext,
  PIPELINE,
  STATE_MACHINE_ARN,
} from "./harness";

const sfn = mockClient(SFNClient);
entryTestHooks(sfn);
const RUN_ID = "rain-shield-audience-20260302T110000Z";
// What Scheduler puts in for <aws.scheduler.scheduled-time>
const fire = { scheduledTime: "2026-03-02T11:00:00Z", pipeline: PIPELINE };

beforeEach(() => {
  // the state machine ARN is all it needs: no ledger, no bus, no bundled config
  deploy({ ...BASE_ENV, TAPESTRY_STATE_MACHINE_ARN: STATE_MACHINE_ARN }, null);
});

const load = () => coldStart(() => import("../../functions/aws/start-scheduled-run"));

describe("functions/aws/start-scheduled-run", () => {
  it("starts an execution named <pipeline>-YYYYMMDDTHHMMSSZ with the pipeline's spec as its input", async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: "arn:aws:states:::execution:x", startDate: new Date() });
    const { handler } = await load();

    const result = await handler(fire, lambdaContext("start-scheduled-run"));

    expect(result).toEqual({ runId: RUN_ID, started: true });
    const [call, ...more] = sfn.commandCalls(StartExecutionCommand);
    expect(more).toEqual([]);
    expect(call?.args[0].input).toMatchObject({ stateMachineArn: STATE_MACHINE_ARN, name: RUN_ID });
    expect(JSON.parse(call?.args[0].input.input ?? "null")).toEqual({
      runId: RUN_ID,
      trigger: { kind: "schedule", scheduledTime: "2026-03-02T11:00:00.000Z" },
      pipeline: PIPELINE,
    });
  });

  it("a duplicate delivery of the same fire succeeds without a second run", async () => {
    let executions = 0;
    sfn.on(StartExecutionCommand).callsFake(({ name }: { name: string }) => {
      if (executions > 0) {
        throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${name}'`, $metadata: {} });
      }
      executions += 1;
      return { executionArn: `arn:aws:states:::execution:${name}`, startDate: new Date() };
    });
    const { handler } = await load();

    await expect(handler(fire, lambdaContext("start-scheduled-run"))).resolves.toEqual({
      runId: RUN_ID,
      started: true,
    });
    await expect(handler(fire, lambdaContext("start-scheduled-run"))).resolves.toEqual({
      runId: RUN_ID,
      started: false,
    });
    expect(executions).toBe(1);
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name)).toEqual([
      RUN_ID,
      RUN_ID,
    ]);
  });

  it("refuses an input that is not a fire (so Scheduler's retries and dead-letter queue see it)", async () => {
    const { handler } = await load();
    // Powertools' parser refuses it as a ParseError whose cause (zod's) names the field
    const causeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => "resolved",
        (e: unknown) => `${(e as Error).name}: ${JSON.stringify((e as Error).cause)}`,
      );
    expect(
      await causeOf(handler({ scheduledTime: "yesterday", pipeline: PIPELINE }, lambdaContext("x"))),
    ).toMatch(/^ParseError: .*scheduledTime/s);
    expect(
      await causeOf(
        handler(
          { scheduledTime: fire.scheduledTime, pipeline: { ...PIPELINE, name: "Not A Name" } },
          lambdaContext("x"),
        ),
      ),
    ).toMatch(/^ParseError: .*"name"/s);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it("any other failure to start fails the invocation, so Lambda retries it", async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $metadata: {} }));
    const { handler } = await load();
    await expect(handler(fire, lambdaContext("start-scheduled-run"))).rejects.toThrow(/ThrottlingException/);
  });
});
