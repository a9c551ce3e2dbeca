import type { PipelineSpec } from "@tapestry/core/config";
import { parseConfig } from "@tapestry/core/config";
import type { RunRecord, StepRecord } from "@tapestry/core/ledger";
import { RetryStageUnknownError, retryFromStage, runPlan } from "@tapestry/core/pipeline";
import { describe, expect, it } from "vitest";
import kickstart from "../../../tapestry.config";

const PIPELINE = parseConfig(structuredClone(kickstart)).pipelines[0] as PipelineSpec;
const FIRST = "rain-shield-audience-20260301T060000Z";

function step(
  stage: string,
  name: string,
  status: StepRecord["status"],
  extra: Partial<StepRecord> = {},
): StepRecord {
  return { stage, step: name, tool: "airbyte", status, ...extra };
}

function run(status: RunRecord["status"], steps: StepRecord[], stages?: RunRecord["stages"]): RunRecord {
  return {
    runId: FIRST,
    pipeline: PIPELINE.name,
    status,
    steps,
    updatedAt: "2026-03-01T06:10:00.000Z",
    ...(stages ? { stages } : {}),
  };
}

const INGESTED = [
  step("ingest", "zoom-webinar-registrants", "succeeded"),
  step("ingest", "salesforce-contacts", "succeeded"),
];

describe("the stage a retry starts at", () => {
  it("is the stage whose step failed, after the stages that succeeded", () => {
    expect(
      retryFromStage(run("failed", [...INGESTED, step("transform", "email-model", "failed")]), PIPELINE),
    ).toBe("transform");
  });

  it("is a stage cut short by a cancel, even when one of its steps had succeeded", () => {
    const cancelled = run("cancelled", [
      step("ingest", "zoom-webinar-registrants", "succeeded"),
      step("ingest", "salesforce-contacts", "failed", { reason: "aborted", inferred: true }),
    ]);
    expect(retryFromStage(cancelled, PIPELINE)).toBe("ingest");
  });

  it("is the first stage of a run that never started a step (its lock or its start failed)", () => {
    expect(retryFromStage(run("failed", []), PIPELINE)).toBe("ingest");
  });

  it("skips the stages a retry skipped itself (they succeeded in the run before)", () => {
    const plan = PIPELINE.stages.map((stage) => ({
      name: stage.name,
      steps: stage.steps.map((s) => ({ name: s.name, tool: s.tool })),
      ...(stage.name === "ingest" ? { skipped: { reason: "succeeded in x", succeededIn: "x" } } : {}),
    }));
    const retried = run(
      "failed",
      [step("transform", "email-model", "succeeded"), step("sync", "mailchimp-audience", "failed")],
      plan,
    );
    expect(retryFromStage(retried, PIPELINE)).toBe("sync");
  });

  it("is none when every stage succeeded (the run failed after its last stage)", () => {
    const all = [
      ...INGESTED,
      step("transform", "email-model", "succeeded"),
      step("sync", "mailchimp-audience", "succeeded"),
    ];
    expect(retryFromStage(run("failed", all), PIPELINE)).toBeUndefined();
  });
});

describe("a run's plan", () => {
  it("runs every stage of a manual or scheduled run, none marked skipped", () => {
    const plan = runPlan(PIPELINE, { kind: "manual" });
    expect(plan.stages.map((s) => s.name)).toEqual(["ingest", "transform", "sync"]);
    expect(plan.announced.filter((s) => s.skipped)).toEqual([]);
  });

  it("runs a retry from its fromStage on, the stages before it announced skipped", () => {
    const plan = runPlan(PIPELINE, { kind: "retry", retryOf: FIRST, fromStage: "sync" });
    expect(plan.stages.map((s) => s.name)).toEqual(["sync"]);
    expect(plan.announced.map((s) => [s.name, s.skipped?.reason])).toEqual([
      ["ingest", `succeeded in ${FIRST}`],
      ["transform", `succeeded in ${FIRST}`],
      ["sync", undefined],
    ]);
  });

  it("refuses a retry from a stage the pipeline no longer has, naming it and the fix", () => {
    expect(() => runPlan(PIPELINE, { kind: "retry", retryOf: FIRST, fromStage: "activate" })).toThrow(
      RetryStageUnknownError,
    );
    expect(() => runPlan(PIPELINE, { kind: "retry", retryOf: FIRST, fromStage: "activate" })).toThrow(
      /stage "activate", which pipeline "rain-shield-audience" no longer has: start a new run/,
    );
  });
});
