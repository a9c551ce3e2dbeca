import { afterEach, describe, expect, it } from "vitest";
import { type JobRunContext, ScenarioError, startSandboxes } from "../../../packages/local/src/sandboxes";
import { CONNECTION, call, trace } from "./helpers";

let set: { close(): Promise<void> } | undefined;
afterEach(async () => {
  await set?.close();
  set = undefined;
});

describe("startSandboxes", () => {
  it("starts the three sandboxes of a scenario on distinct loopback ports and closes them together", async () => {
    const sandboxes = await startSandboxes({
      airbyte: { defaults: { queuedMs: 10, durationMs: 30 } },
      "dbt-cloud": { defaults: { queuedMs: 10, startingMs: 10, durationMs: 30 } },
      grouparoo: { defaults: { queuedMs: 10, durationMs: 30 } },
    });
    set = sandboxes;
    expect(sandboxes.all.map((s) => s.tool)).toEqual(["airbyte", "dbt-cloud", "grouparoo"]);
    expect(new Set(sandboxes.all.map((s) => s.port)).size).toBe(3);
    for (const s of sandboxes.all) expect(s.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);

    const job = await call<{ jobId: number }>(`${sandboxes.airbyte.baseUrl}/jobs`, {
      method: "POST",
      body: { connectionId: CONNECTION, jobType: "sync" },
    });
    const run = await call(`${sandboxes.dbtCloud.baseUrl}/api/v2/accounts/1/jobs/2/run/`, {
      method: "POST",
      body: { cause: "x" },
    });
    const gr = await call(`${sandboxes.grouparoo.baseUrl}/api/v1/schedule/sch_1/run`, { method: "POST" });
    expect([job.status, run.status, gr.status]).toEqual([200, 200, 200]);
    await trace(
      async () =>
        (await call<{ status: string }>(`${sandboxes.airbyte.baseUrl}/jobs/${job.body.jobId}`)).body.status,
      (status) => status === "succeeded",
    );

    await sandboxes.close();
    await expect(fetch(`${sandboxes.airbyte.baseUrl}/jobs`)).rejects.toThrow();
    await sandboxes.close(); // idempotent
  });

  it("starts only the requested tools, with per-tool runners", async () => {
    const contexts: JobRunContext[] = [];
    const sandboxes = await startSandboxes(
      { grouparoo: { defaults: { queuedMs: 5 } } },
      {
        tools: ["grouparoo"],
        runner: {
          grouparoo: async (ctx) => {
            contexts.push(ctx);
            return { rows: 7 };
          },
        },
      },
    );
    set = sandboxes;
    expect(sandboxes.all.map((s) => s.tool)).toEqual(["grouparoo"]);
    expect("airbyte" in sandboxes).toBe(false);
    const { body } = await call<{ run: { id: string } }>(
      `${sandboxes.grouparoo.baseUrl}/api/v1/schedule/sch_rows/run`,
      { method: "POST" },
    );
    await trace(
      async () => sandboxes.grouparoo.runs()[0]?.state,
      (state) => state === "complete",
    );
    expect(sandboxes.grouparoo.runs()[0]).toMatchObject({ id: body.run.id, recordsImported: 7 });
    expect(contexts[0]).toMatchObject({ tool: "grouparoo", key: "sch_rows", id: body.run.id, attempt: 1 });
  });

  it("runs an already-running job's work when its remaining time is up, not at the sandboxes' start", async () => {
    // a dbt run seeded at start must not build its model before the syncs that feed it have run
    const calls: { atMs: number; durationMs: number }[] = [];
    const started = Date.now();
    const sandboxes = await startSandboxes(
      { "dbt-cloud": { alreadyRunning: [{ jobId: 112233, remainingMs: 300 }] } },
      {
        tools: ["dbt-cloud"],
        runner: async (ctx) => {
          calls.push({ atMs: Date.now() - started, durationMs: ctx.plan.durationMs });
          return { rows: 58 };
        },
      },
    );
    set = sandboxes;
    expect(sandboxes.dbtCloud.runs()[0]?.status).toBe(3); // running
    expect(calls).toEqual([]);
    await trace(
      async () => sandboxes.dbtCloud.runs()[0]?.status,
      (status) => status === 10,
    );
    expect(calls).toHaveLength(1);
    expect(calls[0]?.atMs).toBeGreaterThanOrEqual(290);
    expect(calls[0]?.durationMs).toBe(0); // nothing left to wait once the work is done
  });

  it("rejects an invalid scenario before starting anything", async () => {
    await expect(startSandboxes({ airbyte: { outcomes: [{ outcome: "paused" }] } })).rejects.toBeInstanceOf(
      ScenarioError,
    );
  });

  it("logs nothing unless given a logger, and never logs credentials", async () => {
    const events: unknown[] = [];
    const sandboxes = await startSandboxes(
      {
        airbyte: {
          auth: { kind: "bearer", token: "super-secret-token" },
          rules: [{ on: "listJobs", calls: [1], respond: { status: 503 } }],
        },
      },
      { tools: ["airbyte"], logger: (event) => events.push(event) },
    );
    set = sandboxes;
    await call(`${sandboxes.airbyte.baseUrl}/jobs`, {
      headers: { authorization: "Bearer super-secret-token" },
    });
    await call(`${sandboxes.airbyte.baseUrl}/jobs`, {
      headers: { authorization: "Bearer super-secret-token" },
    });
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toContain("super-secret-token");
  });
});
