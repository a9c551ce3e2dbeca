/**
 * An entry wires only the adapters its code path uses (functions/README.md). A task that reaches
 * an adapter its entry did not wire fails its invocation by name, never silently: the mistake
 * shows up in the Lambda's error and in Step Functions' history.
 */
import { scheduledRunId } from "@tapestry/core/pipeline";
import { afterEach, describe, expect, it } from "vitest";
import { pipelineTaskDeps } from "../../functions/aws/runtime/pipeline-task";
import { createRunLockHandler } from "../../functions/pipeline/run-lock";
import { BASE_ENV, deploy, lambdaContext, PIPELINE, undeploy } from "../aws/harness";

afterEach(() => undeploy());

describe("pipelineTaskDeps", () => {
  it("fails a task that reaches an adapter its entry does not wire, naming the entry and the adapter", async () => {
    deploy(BASE_ENV, null);
    const published: unknown[] = [];
    const handler = createRunLockHandler(
      pipelineTaskDeps("run-lock", {
        publisher: { publish: async (events) => void published.push(...events) },
      }),
    );
    const runId = scheduledRunId(PIPELINE.name, new Date("2026-03-02T11:00:00.000Z"));
    const input = {
      action: "acquire",
      runId,
      trigger: { kind: "schedule", scheduledTime: "2026-03-02T11:00:00.000Z" },
      pipeline: PIPELINE,
    };

    await expect(handler(input, lambdaContext("run-lock"))).rejects.toMatchObject({
      name: "EnvironmentError",
      message: expect.stringMatching(/^functions\/aws\/run-lock\.ts does not wire the ledger/),
    });
    expect(published).toEqual([]);
  });

  it("passes the wired adapters through as they are", async () => {
    deploy(BASE_ENV, null);
    const publisher = { publish: async () => {} };
    const deps = pipelineTaskDeps("publish-event", { publisher });
    expect(deps.core.publisher).toBe(publisher);
    await expect(
      deps.core.connectors.start(PIPELINE.stages[0]?.steps[0] as never, {} as never),
    ).rejects.toThrow("functions/aws/publish-event.ts does not wire the connectors");
  });
});
