import { join } from "node:path";
import { PIPELINE_RUN_FUNCTIONS, type PipelineRunFunction } from "@tapestry/core/pipeline";
import { REPO_ROOT } from "@tapestry/local";
import { describe, expect, it } from "vitest";
import {
  ENDED_KEPT,
  ExecutionAlreadyExistsError,
  LocalStepFunctions,
  type TaskHandler,
} from "../../packages/local/src/runner/local-step-functions";

/**
 * The embedded runner over a long life: a process that runs for months starts thousands of
 * executions, and keeps only those going and the last ENDED_KEPT that ended; a name is still
 * never used twice.
 */

/** Every run is skipped by its lock task: an execution of three states, ended at once. */
function skippingRunner(): LocalStepFunctions {
  const refuse: TaskHandler = () => Promise.reject(new Error("only the lock task runs here"));
  const handlers = Object.fromEntries(PIPELINE_RUN_FUNCTIONS.map((fn) => [fn, refuse])) as Record<
    PipelineRunFunction,
    TaskHandler
  >;
  handlers.RunLockFunctionArn = async () => ({ outcome: "skipped", waitSeconds: 0, activeRunId: "ahead" });
  return new LocalStepFunctions({
    definitionPath: join(REPO_ROOT, "state-machines", "pipeline-run.asl.json"),
    handlers,
    runTimeoutSeconds: 60,
  });
}

describe("LocalStepFunctions over many executions", () => {
  it("keeps the last ended executions only, and still refuses a name used before", async () => {
    const runner = skippingRunner();
    const total = ENDED_KEPT + 20;
    const input = (runId: string) => ({ runId, trigger: { kind: "manual" }, pipeline: { name: "p" } });
    for (let i = 0; i < total; i += 1) {
      const execution = runner.startExecution(`run-${i}`, input(`run-${i}`));
      expect(await execution.outcome).toMatchObject({ status: "SUCCEEDED" });
    }
    expect(runner.executions()).toHaveLength(ENDED_KEPT);
    expect(runner.execution("run-0")).toBeUndefined();
    expect(runner.execution(`run-${total - 1}`)?.isRunning()).toBe(false);
    expect(runner.hasRun("run-0")).toBe(true);
    expect(() => runner.startExecution("run-0", input("run-0"))).toThrow(ExecutionAlreadyExistsError);
  });
});
