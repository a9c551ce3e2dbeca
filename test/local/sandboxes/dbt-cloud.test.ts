import { describe, expect, it } from "vitest";
import { type DbtCloudSandbox, startDbtCloudSandbox } from "../../../packages/local/src/sandboxes";
import { call, sandboxStarter, sleep, trace, until } from "./helpers";

interface Run {
  id: number;
  status: number;
  status_humanized: string;
  job_definition_id: number;
  in_progress: boolean;
  is_complete: boolean;
  is_success: boolean;
  is_error: boolean;
  is_cancelled: boolean;
  status_message?: string;
  href: string;
  trigger?: { cause: string; job_definition_id: number; git_sha?: string };
  finished_at?: string;
}
interface Envelope<T> {
  status: { code: number; is_success: boolean; user_message: string; developer_message: string };
  data: T;
  extra?: {
    filters: Record<string, unknown>;
    order_by: string;
    pagination: { count: number; total_count: number };
  };
}

const ACCOUNT = 43786;
const JOB = 917;
const TOKEN = "dbtc_sandbox_token";
const FAST = { queuedMs: 150, startingMs: 150, durationMs: 250 };

const start = sandboxStarter(startDbtCloudSandbox, FAST);

const auth = { authorization: `Token ${TOKEN}` };
const trigger = (s: DbtCloudSandbox, body: unknown = { cause: "Tapestry run 01J0" }, job = JOB) =>
  call<Envelope<Run>>(`${s.baseUrl}/api/v2/accounts/${ACCOUNT}/jobs/${job}/run/`, {
    method: "POST",
    body,
    headers: auth,
  });
const getRun = (s: DbtCloudSandbox, id: number, query = "") =>
  call<Envelope<Run>>(`${s.baseUrl}/api/v2/accounts/${ACCOUNT}/runs/${id}/${query}`, { headers: auth });
const statuses = (s: DbtCloudSandbox, id: number, done = [10, 20, 30]) =>
  trace(
    async () => (await getRun(s, id)).body.data.status,
    (status) => done.includes(status),
  );

describe("dbt Cloud sandbox: lifecycle", () => {
  it("runs 1 queued -> 2 starting -> 3 running -> 10 success, in the v2 envelope", async () => {
    const s = await start();
    const triggered = await trigger(s, { cause: "Tapestry run 01J0", git_sha: "abc123" });
    expect(triggered.status).toBe(200);
    expect(triggered.body.status).toMatchObject({ code: 200, is_success: true });
    const run = triggered.body.data;
    expect(Number.isInteger(run.id)).toBe(true);
    expect(run).toMatchObject({
      status: 1,
      status_humanized: "Queued",
      job_definition_id: JOB,
      in_progress: true,
    });
    expect(run.trigger).toMatchObject({
      cause: "Tapestry run 01J0",
      job_definition_id: JOB,
      git_sha: "abc123",
    });
    expect(run.href).toBe(`${s.baseUrl}/deploy/${ACCOUNT}/projects/70403/runs/${run.id}/`);

    expect(await statuses(s, run.id)).toEqual([1, 2, 3, 10]);
    const done = (await getRun(s, run.id)).body.data;
    expect(done).toMatchObject({
      status_humanized: "Success",
      in_progress: false,
      is_complete: true,
      is_success: true,
      is_error: false,
      is_cancelled: false,
    });
    expect(Date.parse(done.finished_at ?? "")).not.toBeNaN();
    expect(done.trigger).toBeUndefined();
    const withTrigger = (await getRun(s, run.id, '?include_related=["trigger","run_steps"]')).body.data;
    expect(withTrigger.trigger?.cause).toBe("Tapestry run 01J0");
  });

  it("queues a second run when the job is triggered while a run is in flight (no 409)", async () => {
    const s = await start();
    const first = (await trigger(s)).body.data;
    const second = await trigger(s);
    expect(second.status).toBe(200);
    expect(second.body.data.id).toBe(first.id + 1);
    expect(second.body.data.status).toBe(1);
    expect(s.counters).toEqual({ triggers: 2, jobsCreated: 2 });
  });

  it("shows seeded in-flight runs to a client that lists runs before triggering", async () => {
    const s = await start({ scenario: { alreadyRunning: [{ jobId: JOB, remainingMs: 1000 }] } });
    const list = await call<Envelope<Run[]>>(
      `${s.baseUrl}/api/v2/accounts/${ACCOUNT}/runs/?job_definition_id=${JOB}&status__in=[1,2,3]`,
      { headers: auth },
    );
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({ status: 3, job_definition_id: JOB });
    await until(() => s.runs()[0]?.status === 10);
  });

  it("rejects a cause longer than 255 characters, or none, with 400 and field errors", async () => {
    const s = await start();
    const long = await trigger(s, { cause: "x".repeat(256) });
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({
      status: { code: 400, is_success: false },
      data: { cause: ["Ensure this field has no more than 255 characters."] },
    });
    expect((await trigger(s, {})).body.data).toEqual({ cause: ["This field is required."] });
    expect((await trigger(s, { cause: "ok", threads_override: "four" })).status).toBe(400);
    expect((await trigger(s, { cause: "x".repeat(255) })).status).toBe(200);
    expect(s.counters).toEqual({ triggers: 4, jobsCreated: 1 });
  });

  it("cancels a run (30 cancelled) and answers it unchanged once terminal", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "stuck" }] } });
    const run = (await trigger(s)).body.data;
    const cancel = () =>
      call<Envelope<Run>>(`${s.baseUrl}/api/v2/accounts/${ACCOUNT}/runs/${run.id}/cancel/`, {
        method: "POST",
        headers: auth,
      });
    expect((await cancel()).body.data).toMatchObject({
      status: 30,
      is_cancelled: true,
      status_humanized: "Cancelled",
    });
    expect((await cancel()).body.data.status).toBe(30);
    expect(s.traffic.map((e) => e.operation)).toEqual(["triggerRun", "cancelRun", "cancelRun"]);
  });

  it("answers 404 for an unknown run, a run of another account, or a job outside knownJobs", async () => {
    const s = await start({ scenario: { knownJobs: [JOB] } });
    expect((await getRun(s, 123)).status).toBe(404);
    const run = (await trigger(s)).body.data;
    const other = await call(`${s.baseUrl}/api/v2/accounts/1/runs/${run.id}/`, { headers: auth });
    expect(other.status).toBe(404);
    const unknownJob = await trigger(s, { cause: "x" }, 5);
    expect(unknownJob.status).toBe(404);
    expect(unknownJob.body.status.is_success).toBe(false);
  });

  it("lists runs with job, status and status__in filters, order_by, pagination and the extra block", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "stuck" }, { outcome: "stuck" }] } });
    const a = (await trigger(s)).body.data;
    const b = (await trigger(s, { cause: "other" }, 918)).body.data;
    const c = (await trigger(s)).body.data;
    const list = (query: string) =>
      call<Envelope<Run[]>>(`${s.baseUrl}/api/v2/accounts/${ACCOUNT}/runs/${query}`, { headers: auth });
    const all = await list("?order_by=-id&limit=2");
    expect(all.body.data.map((r) => r.id)).toEqual([c.id, b.id]);
    expect(all.body.extra).toMatchObject({ order_by: "-id", pagination: { count: 2, total_count: 3 } });
    expect((await list(`?job_definition_id=${JOB}`)).body.data.map((r) => r.id)).toEqual([a.id, c.id]);
    await statuses(s, c.id);
    await statuses(s, b.id, [3]);
    // a and b are stuck (running), c succeeded
    expect((await list("?status=10")).body.data.map((r) => r.id)).toEqual([c.id]);
    expect((await list("?status__in=1&status__in=2&status__in=3")).body.data.map((r) => r.id)).toEqual([
      a.id,
      b.id,
    ]);
    expect((await list("?status__in=[3,10]&offset=1")).body.data.map((r) => r.id)).toEqual([b.id, c.id]);
    expect((await list("?status=running")).status).toBe(400);
    expect((await list("?order_by=name")).status).toBe(400);
  });
});

describe("dbt Cloud sandbox: scripted outcomes", () => {
  it("failed: 20 error with the scenario's message in status_message", async () => {
    const s = await start({
      scenario: { outcomes: [{ outcome: "failed", error: "Compilation Error in model x" }] },
    });
    const run = (await trigger(s)).body.data;
    expect(await statuses(s, run.id)).toEqual([1, 2, 3, 20]);
    expect((await getRun(s, run.id)).body.data).toMatchObject({
      is_error: true,
      status_humanized: "Error",
      status_message: "Compilation Error in model x",
    });
  });

  it("cancelled by someone else mid-run, stuck, and an unknown status code", async () => {
    const s = await start({
      scenario: {
        outcomes: [{ outcome: "cancelled" }, { outcome: "stuck" }, { outcome: "unknown-status", status: 4 }],
      },
    });
    const cancelled = (await trigger(s)).body.data;
    const stuck = (await trigger(s)).body.data;
    const odd = (await trigger(s)).body.data;
    expect(await statuses(s, cancelled.id)).toEqual([1, 2, 3, 30]);
    expect(await statuses(s, odd.id, [4])).toContain(4);
    await sleep(50);
    expect((await getRun(s, stuck.id)).body.data.status).toBe(3);
    expect((await getRun(s, odd.id)).body.data).toMatchObject({
      status: 4,
      in_progress: false,
      is_complete: false,
    });
  });
});

describe("dbt Cloud sandbox: auth", () => {
  it("accepts `Token` and `Bearer`, answers 401 otherwise", async () => {
    const s = await start({ auth: { kind: "token", token: TOKEN } });
    const url = `${s.baseUrl}/api/v2/accounts/${ACCOUNT}/runs/`;
    expect((await call(url, { headers: { authorization: `Token ${TOKEN}` } })).status).toBe(200);
    expect((await call(url, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const wrong = await call<Envelope<null>>(url, { headers: { authorization: "Token nope" } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.status).toMatchObject({ code: 401, is_success: false, user_message: "Invalid token." });
    expect((await call(url)).status).toBe(401);
    const denied = await call(`${s.baseUrl}/api/v2/accounts/${ACCOUNT}/jobs/${JOB}/run/`, {
      method: "POST",
      body: { cause: "x" },
    });
    expect(denied.status).toBe(401);
    expect(s.counters).toEqual({ triggers: 1, jobsCreated: 0 });
  });
});
