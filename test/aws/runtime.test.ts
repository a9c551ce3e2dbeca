/**
 * functions/aws/runtime/: the only modules that read the environment. A function deployed without
 * something it needs fails its invocation with an EnvironmentError naming the missing piece,
 * and a cold start never fails on a variable the function does not use.
 */
import { scheduledRunId } from "@tapestry/core/pipeline";
import { afterEach, describe, expect, it } from "vitest";
import {
  BASE_ENV,
  coldStart,
  deploy,
  EVENT_BUS_NAME,
  FULL_ENV,
  KICKSTART,
  lambdaContext,
  PIPELINE,
  undeploy,
} from "./harness";

afterEach(() => undeploy());

const RUN_ID = scheduledRunId(PIPELINE.name, new Date("2026-03-02T11:00:00.000Z"));
const dbtStep = PIPELINE.stages.flatMap((s) => s.steps).find((s) => s.tool === "dbt-cloud");
const startStepInput = { runId: RUN_ID, pipeline: PIPELINE.name, stage: "transform", step: dbtStep };

const ENTRIES = [
  "run-lock",
  "publish-event",
  "start-step",
  "poll-step",
  "cancel-step",
  "start-scheduled-run",
  "project-event",
  "status-api",
  "await-webhook",
  "webhook-receiver",
  "record-metrics",
  "evaluate-alerts",
  "check-freshness",
  "notify-slack",
  "provisioning-run",
  "bootstrap-warehouse",
  "ensure-airbyte",
  "write-grouparoo-config",
  "tool-stack",
  "tool-health",
  "deprovisioning-run",
] as const;

const entry = (name: (typeof ENTRIES)[number]) =>
  coldStart(
    () =>
      import(`../../functions/aws/${name}.ts`) as Promise<{
        handler: (e: unknown, c: unknown) => Promise<unknown>;
      }>,
  );

describe("functions/aws/runtime", () => {
  it("every entry loads with no Tapestry variable and no bundled config: nothing is read before it is needed", async () => {
    deploy({}, null);
    for (const name of ENTRIES) {
      const { handler } = await entry(name);
      expect(typeof handler, name).toBe("function");
    }
  });

  const { TAPESTRY_STAGE: _, ...withoutStage } = BASE_ENV;
  it.each([
    {
      title: "names the variable that is missing",
      env: BASE_ENV,
      config: null,
      name: "publish-event",
      input: { event: "PipelineRunStarted", runId: RUN_ID, trigger: { kind: "manual" }, pipeline: PIPELINE },
      message: expect.stringMatching(/^environment variable TAPESTRY_EVENT_BUS is not set: .*event bus/),
    },
    {
      title: "names the variable that is malformed, and what it should hold",
      env: { ...BASE_ENV, TAPESTRY_STATE_MACHINE_ARN: "pipeline-run" },
      config: null,
      name: "start-scheduled-run",
      input: { scheduledTime: "2026-03-02T11:00:00Z", pipeline: PIPELINE },
      message: expect.stringContaining("TAPESTRY_STATE_MACHINE_ARN is invalid (expected a state machine ARN"),
    },
    {
      title: "the step functions need the stage for the secrets' SSM path",
      env: { ...withoutStage, TAPESTRY_EVENT_BUS: EVENT_BUS_NAME },
      config: KICKSTART,
      name: "start-step",
      input: startStepInput,
      message: expect.stringContaining("TAPESTRY_STAGE is not set"),
    },
    {
      title: "the Grouparoo task needs the bucket its files go to",
      env: FULL_ENV,
      config: KICKSTART,
      name: "write-grouparoo-config",
      input: { runId: "provision-01KBZ3M8Y0G5N7QW2E4R6T8V0X", trigger: "api" },
      message: expect.stringMatching(
        /^environment variable TAPESTRY_GROUPAROO_CONFIG_BUCKET is not set: .*bucket/,
      ),
    },
    {
      title: "says how to bundle the config when the stack did not define __TAPESTRY_CONFIG__",
      env: { ...BASE_ENV, TAPESTRY_EVENT_BUS: EVENT_BUS_NAME },
      config: null,
      name: "start-step",
      input: startStepInput,
      message: expect.stringContaining("__TAPESTRY_CONFIG__"),
    },
  ] as const)("$title", async ({ env, config, name, input, message }) => {
    deploy(env, config);
    const { handler } = await entry(name);
    await expect(handler(input, lambdaContext(name))).rejects.toMatchObject({
      name: "EnvironmentError",
      message,
    });
  });

  it("gives the status API the bundled config's CORS origins, none when CORS is closed", async () => {
    const origins = ["https://ops.rain-shield.example"];
    deploy(FULL_ENV, {
      ...KICKSTART,
      aws: { ...KICKSTART.aws, statusApi: { ...KICKSTART.aws.statusApi, corsAllowOrigins: origins } },
    });
    const open = await coldStart(() => import("../../functions/aws/status-api"));
    expect(open.statusApiDeps().corsAllowOrigins).toEqual(origins);

    deploy(FULL_ENV, KICKSTART);
    const closed = await coldStart(() => import("../../functions/aws/status-api"));
    expect(closed.statusApiDeps().corsAllowOrigins).toEqual([]);
  });

  it("checks the bundled config with the config schema, naming each problem's path", async () => {
    deploy({ ...BASE_ENV, TAPESTRY_EVENT_BUS: EVENT_BUS_NAME }, { ...KICKSTART, pipelines: [] });
    const { handler } = await entry("start-step");
    await expect(handler(startStepInput, lambdaContext("start-step"))).rejects.toMatchObject({
      name: "ConfigError",
      message: expect.stringContaining("the bundled tapestry config (__TAPESTRY_CONFIG__) is invalid"),
    });
  });
});
