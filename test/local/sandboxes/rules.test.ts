import { afterEach, describe, expect, it } from "vitest";
import {
  type AirbyteSandbox,
  type ScenarioRule,
  startAirbyteSandbox,
  startSandboxes,
} from "../../../packages/local/src/sandboxes";
import { CONNECTION, call, trace } from "./helpers";

let airbyte: AirbyteSandbox | undefined;
let set: { close(): Promise<void> } | undefined;
afterEach(async () => {
  await airbyte?.close();
  await set?.close();
  airbyte = undefined;
  set = undefined;
});

async function withRules(rules: ScenarioRule[]): Promise<AirbyteSandbox> {
  airbyte = await startAirbyteSandbox({ scenario: { defaults: { queuedMs: 20, durationMs: 50 }, rules } });
  return airbyte;
}
const createJob = (s: AirbyteSandbox) =>
  call<{ jobId: number; status: string }>(`${s.baseUrl}/jobs`, {
    method: "POST",
    body: { connectionId: CONNECTION, jobType: "sync" },
  });

describe("scripted calls: rate limits and server errors", () => {
  it("answers 429 with a Retry-After header, then processes the retry", async () => {
    const s = await withRules([
      { on: "createJob", calls: [1], respond: { status: 429, retryAfterSeconds: 1 } },
    ]);
    const throttled = await createJob(s);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("1");
    expect(throttled.body).toMatchObject({ status: 429 });
    expect((await createJob(s)).status).toBe(200);
    expect(s.counters).toEqual({ triggers: 2, jobsCreated: 1 });
    expect(s.traffic.map((e) => e.scripted)).toEqual([true, false]);
    expect(s.traffic[0]?.response?.headers["retry-after"]).toBe("1");
  });

  it("answers a burst of 429s without Retry-After (times)", async () => {
    const s = await withRules([{ on: "listJobs", times: 3, respond: { status: 429 } }]);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await call(`${s.baseUrl}/jobs`));
    expect(answers.map((a) => a.status)).toEqual([429, 429, 429, 200]);
    expect(answers[0]?.headers.get("retry-after")).toBeNull();
  });

  it("5xx before processing: nothing was created", async () => {
    const s = await withRules([{ on: "createJob", calls: [1], respond: { status: 503 } }]);
    const failed = await createJob(s);
    expect(failed.status).toBe(503);
    expect(s.counters).toEqual({ triggers: 1, jobsCreated: 0 });
    expect(s.jobs()).toHaveLength(0);
  });

  it("5xx after processing (process: true): the job IS created although the client sees 500", async () => {
    const s = await withRules([{ on: "createJob", calls: [1], process: true, respond: { status: 500 } }]);
    const failed = await createJob(s);
    expect(failed.status).toBe(500);
    expect(s.counters).toEqual({ triggers: 1, jobsCreated: 1 });
    expect(s.jobs()).toHaveLength(1);
    // a client that blindly retries now runs into the job it created
    expect((await createJob(s)).status).toBe(409);
  });

  it("uses a scripted body and headers when given, and counts calls per operation (from)", async () => {
    const s = await withRules([
      {
        on: "getJob",
        from: 2,
        respond: { status: 502, body: { message: "upstream" }, headers: { "X-Gateway": "nginx" } },
      },
    ]);
    const { body: job } = await createJob(s);
    const first = await call(`${s.baseUrl}/jobs/${job.jobId}`);
    const second = await call(`${s.baseUrl}/jobs/${job.jobId}`);
    const third = await call(`${s.baseUrl}/jobs/${job.jobId}`);
    expect([first.status, second.status, third.status]).toEqual([200, 502, 502]);
    expect(second.body).toEqual({ message: "upstream" });
    expect(second.headers.get("x-gateway")).toBe("nginx");
  });
});

describe("scripted calls: dropped connections and latency", () => {
  it("drops the connection before processing: no answer, nothing created", async () => {
    const s = await withRules([{ on: "createJob", calls: [1], drop: true }]);
    await expect(createJob(s)).rejects.toThrow();
    expect(s.counters).toEqual({ triggers: 1, jobsCreated: 0 });
    expect(s.traffic[0]).toMatchObject({ operation: "createJob", response: null, scripted: true });
  });

  it("drops the connection after processing: no answer, but the job exists", async () => {
    const s = await withRules([{ on: "createJob", calls: [1], process: true, drop: true }]);
    await expect(createJob(s)).rejects.toThrow();
    expect(s.counters).toEqual({ triggers: 1, jobsCreated: 1 });
    expect(s.jobs()).toHaveLength(1);
    expect(s.traffic[0]?.response).toBeNull();
  });

  it("delays an answer by latencyMs (a client timeout sees nothing)", async () => {
    const s = await withRules([{ on: "listJobs", calls: [1], latencyMs: 400 }]);
    const started = Date.now();
    await expect(fetch(`${s.baseUrl}/jobs`, { signal: AbortSignal.timeout(80) })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(300);
    const fast = Date.now();
    expect((await call(`${s.baseUrl}/jobs`)).status).toBe(200);
    expect(Date.now() - fast).toBeLessThan(300);
    // the late answer is still recorded once the latency has passed
    await trace(
      async () => s.traffic[0]?.response?.status,
      (status) => status === 200,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(s.traffic[0]?.scripted).toBe(true);
  });

  it("latency after processing: the job is created before the (late) answer", async () => {
    const s = await withRules([{ on: "createJob", calls: [1], process: true, latencyMs: 200 }]);
    await expect(
      fetch(`${s.baseUrl}/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ connectionId: CONNECTION, jobType: "sync" }),
        signal: AbortSignal.timeout(50),
      }),
    ).rejects.toThrow();
    expect(s.counters.jobsCreated).toBe(1);
  });
});

describe("scripted calls: matching", () => {
  it("the first matching rule wins; every rule numbers the calls its `on` selects", async () => {
    const s = await withRules([
      { on: "listJobs", calls: [2], respond: { status: 503 } },
      { on: ["listJobs", "getJob"], calls: [2, 3], respond: { status: 504 } },
      { on: "any", calls: [5], respond: { status: 500 } },
    ]);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(`${s.baseUrl}/jobs`)).status);
    // call 2: rule 0 (503); call 3: rule 1 (504); call 5: rule 2 (500)
    expect(statuses).toEqual([200, 503, 504, 200, 500]);
  });

  it("applies rules in every sandbox (dbt Cloud and Grouparoo too) and records each exchange", async () => {
    const sandboxes = await startSandboxes(
      {
        "dbt-cloud": { rules: [{ on: "triggerRun", calls: [1], respond: { status: 503 } }] },
        grouparoo: { rules: [{ on: "runSchedule", calls: [1], process: true, respond: { status: 500 } }] },
      },
      { tools: ["dbt-cloud", "grouparoo"] },
    );
    set = sandboxes;
    const dbt = await call<{ status: { code: number; is_success: boolean } }>(
      `${sandboxes.dbtCloud.baseUrl}/api/v2/accounts/1/jobs/2/run/?x=1`,
      { method: "POST", body: { cause: "test" } },
    );
    expect(dbt.status).toBe(503);
    expect(dbt.body.status).toMatchObject({ code: 503, is_success: false });
    expect(sandboxes.dbtCloud.counters).toEqual({ triggers: 1, jobsCreated: 0 });
    expect(sandboxes.dbtCloud.traffic[0]).toEqual({
      tool: "dbt-cloud",
      operation: "triggerRun",
      request: {
        method: "POST",
        path: "/api/v2/accounts/1/jobs/2/run/",
        query: { x: "1" },
        headers: expect.objectContaining({ "content-type": "application/json" }),
        body: { cause: "test" },
      },
      response: {
        status: 503,
        headers: expect.objectContaining({ "content-type": "application/json" }),
        body: dbt.body,
      },
      scripted: true,
    });

    const gr = await call(`${sandboxes.grouparoo.baseUrl}/api/v1/schedule/sch_1/run`, { method: "POST" });
    expect(gr.status).toBe(500);
    expect(gr.body).toMatchObject({ error: { message: expect.any(String) } });
    expect(sandboxes.grouparoo.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("records Airbyte paths relative to the API root, without the query string", async () => {
    const s = await withRules([]);
    await call(`${s.baseUrl}/jobs?connectionId=${CONNECTION}&status=running&status=pending`);
    await call(`${s.baseUrl}/nowhere`);
    expect(s.traffic[0]?.request).toMatchObject({
      method: "GET",
      path: "/jobs",
      query: { connectionId: CONNECTION, status: ["running", "pending"] },
    });
    expect(s.traffic[1]).toMatchObject({ operation: "unknown", response: { status: 404 } });
  });
});
