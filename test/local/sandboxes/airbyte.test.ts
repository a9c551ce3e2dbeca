import { describe, expect, it } from "vitest";
import { type AirbyteSandbox, startAirbyteSandbox } from "../../../packages/local/src/sandboxes";
import { CONNECTION, call, OTHER_CONNECTION, sandboxStarter, sleep, trace, until } from "./helpers";

interface Job {
  jobId: number;
  status: string;
  jobType: string;
  connectionId: string;
  startTime: string;
  lastUpdatedAt: string;
  duration: string;
  rowsSynced?: number;
  bytesSynced?: number;
}

/** Phases long enough for a 10 ms poll to see each one on a loaded machine. */
const FAST = { queuedMs: 150, durationMs: 250, incompleteMs: 250 };

const start = sandboxStarter(startAirbyteSandbox, FAST);

const createJob = (s: AirbyteSandbox, connectionId = CONNECTION, headers?: Record<string, string>) =>
  call<Job>(`${s.baseUrl}/jobs`, {
    method: "POST",
    body: { connectionId, jobType: "sync" },
    headers: headers ?? {},
  });
const getJob = (s: AirbyteSandbox, id: number, headers?: Record<string, string>) =>
  call<Job>(`${s.baseUrl}/jobs/${id}`, { headers: headers ?? {} });
const statuses = (s: AirbyteSandbox, id: number, done = ["succeeded", "failed", "cancelled"]) =>
  trace(
    async () => (await getJob(s, id)).body.status,
    (status) => done.includes(status),
  );

describe("airbyte sandbox: lifecycle", () => {
  it("serves the self-hosted base path on loopback with a free port", async () => {
    const s = await start();
    expect(s.baseUrl).toBe(`http://127.0.0.1:${s.port}/api/public/v1`);
    expect(s.port).toBeGreaterThan(0);
    expect(s.tool).toBe("airbyte");
  });

  it("runs a sync pending -> running -> succeeded with integer job ids, rows, bytes and ISO durations", async () => {
    const s = await start({ scenario: { defaults: { rows: 1204, bytes: 88000 } } });
    const created = await createJob(s);
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ status: "pending", jobType: "sync", connectionId: CONNECTION });
    expect(Number.isInteger(created.body.jobId)).toBe(true);
    expect(created.body.jobId).toBeGreaterThanOrEqual(10000);
    expect(created.body.jobId).toBeLessThan(100000);
    expect(created.body.rowsSynced).toBeUndefined();

    expect(await statuses(s, created.body.jobId)).toEqual(["pending", "running", "succeeded"]);
    const done = (await getJob(s, created.body.jobId)).body;
    expect(done).toMatchObject({ rowsSynced: 1204, bytesSynced: 88000 });
    expect(done.duration).toMatch(/^PT(\d+H)?(\d+M)?(\d+(\.\d+)?S)?$/);
    expect(Date.parse(done.startTime)).not.toBeNaN();
    expect(Date.parse(done.lastUpdatedAt)).toBeGreaterThanOrEqual(Date.parse(done.startTime));

    const second = await createJob(s);
    expect(second.body.jobId).toBe(created.body.jobId + 1);
    expect(s.counters).toEqual({ triggers: 2, jobsCreated: 2 });
  });

  it("answers 409 with a problem naming the running job while a sync of the connection is in flight", async () => {
    const s = await start();
    const first = await createJob(s);
    const conflict = await createJob(s);
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get("content-type")).toContain("application/problem+json");
    expect(conflict.body).toMatchObject({ status: 409, title: "state-conflict", type: expect.any(String) });
    expect((conflict.body as unknown as { detail: string }).detail).toContain(String(first.body.jobId));
    // another connection is independent
    expect((await createJob(s, OTHER_CONNECTION)).status).toBe(200);
    expect(s.counters).toEqual({ triggers: 3, jobsCreated: 2 });
    // once terminal, a new sync is accepted
    await statuses(s, first.body.jobId);
    expect((await createJob(s)).status).toBe(200);
  });

  it("answers 409 for a connection seeded as already running, until the seed finishes", async () => {
    const s = await start({
      scenario: { alreadyRunning: [{ connectionId: CONNECTION, remainingMs: 1000 }] },
    });
    const [seed] = s.jobs();
    expect(seed).toMatchObject({ status: "running", connectionId: CONNECTION });
    const conflict = await createJob(s);
    expect(conflict.status).toBe(409);
    expect((conflict.body as unknown as { detail: string }).detail).toContain(String(seed?.jobId));
    expect(s.counters.jobsCreated).toBe(0);
    await until(() => s.jobs()[0]?.status === "succeeded");
    expect((await createJob(s)).status).toBe(200);
  });

  it("cancels a running job with DELETE, and answers the job unchanged once terminal", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "stuck" }] } });
    const { body: job } = await createJob(s);
    const cancelled = await call<Job>(`${s.baseUrl}/jobs/${job.jobId}`, { method: "DELETE" });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ jobId: job.jobId, status: "cancelled" });
    const again = await call<Job>(`${s.baseUrl}/jobs/${job.jobId}`, { method: "DELETE" });
    expect(again.body.status).toBe("cancelled");
    expect(s.traffic.map((e) => e.operation)).toEqual(["createJob", "cancelJob", "cancelJob"]);
  });

  it("answers 404 for an unknown job, 400 for a non-integer id or a bad body", async () => {
    const s = await start({ scenario: { knownConnections: [CONNECTION] } });
    expect((await getJob(s, 1)).status).toBe(404);
    expect((await call(`${s.baseUrl}/jobs/abc`)).status).toBe(400);
    expect(
      (await call(`${s.baseUrl}/jobs`, { method: "POST", body: { connectionId: CONNECTION } })).status,
    ).toBe(400);
    expect((await createJob(s, OTHER_CONNECTION)).status).toBe(404);
    expect(s.counters).toEqual({ triggers: 2, jobsCreated: 0 });
  });

  it("lists jobs with filters, ordering and next/previous links", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "stuck" }, { outcome: "stuck" }] } });
    const a = (await createJob(s)).body;
    const b = (await createJob(s, OTHER_CONNECTION)).body;
    const list = await call<{ data: Job[]; next?: string; previous?: string }>(
      `${s.baseUrl}/jobs?connectionId=${CONNECTION}&jobType=sync`,
    );
    expect(list.status).toBe(200);
    expect(list.body.data.map((j) => j.jobId)).toEqual([a.jobId]);

    const page1 = await call<{ data: Job[]; next?: string; previous?: string }>(
      `${s.baseUrl}/jobs?limit=1&orderBy=createdAt|ASC`,
    );
    expect(page1.body.data.map((j) => j.jobId)).toEqual([a.jobId]);
    expect(page1.body.previous).toBeUndefined();
    expect(page1.body.next).toBeDefined();
    const page2 = await call<{ data: Job[]; next?: string; previous?: string }>(page1.body.next ?? "");
    expect(page2.body.data.map((j) => j.jobId)).toEqual([b.jobId]);
    expect(page2.body.next).toBeUndefined();
    expect(page2.body.previous).toContain("offset=0");

    const desc = await call<{ data: Job[] }>(`${s.baseUrl}/jobs`);
    expect(desc.body.data.map((j) => j.jobId)).toEqual([b.jobId, a.jobId]);
    const runningIds = async () =>
      (await call<{ data: Job[] }>(`${s.baseUrl}/jobs?status=running`)).body.data.map((j) => j.jobId);
    await until(async () => (await runningIds()).length === 2);
    expect(await runningIds()).toEqual([b.jobId, a.jobId]);
    expect((await call(`${s.baseUrl}/jobs?status=paused`)).status).toBe(400);
    expect((await call(`${s.baseUrl}/jobs?limit=500`)).status).toBe(400);
    expect((await call(`${s.baseUrl}/jobs?orderBy=name|UP`)).status).toBe(400);
  });
});

describe("airbyte sandbox: scripted outcomes", () => {
  it("incomplete-then-succeeded: reports incomplete while the attempt is retried, then succeeded", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "incomplete-then-succeeded" }] } });
    const { body: job } = await createJob(s);
    expect(await statuses(s, job.jobId)).toEqual([
      "pending",
      "running",
      "incomplete",
      "running",
      "succeeded",
    ]);
  });

  it("failed: ends failed with no rows (the reason is kept for tests, the public API has no field for it)", async () => {
    const s = await start({
      scenario: { outcomes: [{ outcome: "failed", error: "Source connector crashed" }] },
    });
    const { body: job } = await createJob(s);
    expect(await statuses(s, job.jobId)).toEqual(["pending", "running", "failed"]);
    expect((await getJob(s, job.jobId)).body).toMatchObject({ rowsSynced: 0, bytesSynced: 0 });
    expect(s.jobs()[0]?.failureReason).toBe("Source connector crashed");
  });

  it("stuck: never leaves running", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "stuck" }] } });
    const { body: job } = await createJob(s);
    expect(await statuses(s, job.jobId, ["running"])).toEqual(["pending", "running"]);
    // longer than a job of the defaults takes to end
    await sleep(FAST.durationMs + 100);
    expect((await getJob(s, job.jobId)).body.status).toBe("running");
  });

  it("cancelled: someone else cancels the job mid-run", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "cancelled" }] } });
    const { body: job } = await createJob(s);
    expect(await statuses(s, job.jobId)).toEqual(["pending", "running", "cancelled"]);
    expect(s.traffic.some((e) => e.operation === "cancelJob")).toBe(false);
  });

  it("zero rows: succeeds having moved nothing", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "succeeded", rows: 0, bytes: 0 }] } });
    const { body: job } = await createJob(s);
    await statuses(s, job.jobId);
    expect((await getJob(s, job.jobId)).body).toMatchObject({
      status: "succeeded",
      rowsSynced: 0,
      bytesSynced: 0,
    });
  });

  it("unknown-status: reports a status outside the enum and never ends", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "unknown-status", status: "paused" }] } });
    const { body: job } = await createJob(s);
    expect(await statuses(s, job.jobId, ["paused"])).toEqual(["pending", "running", "paused"]);
    await sleep(100);
    expect((await getJob(s, job.jobId)).body.status).toBe("paused");
  });

  it("consumes outcomes in order, an entry with `for` waiting for its connection, then the defaults", async () => {
    const s = await start({
      scenario: {
        outcomes: [{ for: OTHER_CONNECTION, outcome: "failed" }, { outcome: "stuck" }],
      },
    });
    const first = (await createJob(s)).body; // takes the stuck entry
    const other = (await createJob(s, OTHER_CONNECTION)).body; // takes its failed entry
    expect((await statuses(s, other.jobId)).at(-1)).toBe("failed");
    expect((await getJob(s, first.jobId)).body.status).toBe("running");
    const third = (await createJob(s, OTHER_CONNECTION)).body; // defaults: succeeded
    expect(await statuses(s, third.jobId)).toContain("succeeded");
  });

  it("hands the running attempt to a pluggable job runner (the seam for moving real rows)", async () => {
    const seen: string[] = [];
    const s = await start({
      runner: async (ctx) => {
        seen.push(`${ctx.tool}:${ctx.key}:${ctx.attempt}`);
        ctx.progress(5, 50);
        await sleep(30);
        return { rows: 42, bytes: 4200 };
      },
    });
    const { body: job } = await createJob(s);
    await statuses(s, job.jobId);
    expect((await getJob(s, job.jobId)).body).toMatchObject({ rowsSynced: 42, bytesSynced: 4200 });
    expect(seen).toEqual([`airbyte:${CONNECTION}:1`]);
  });

  it("fails the job when the runner throws", async () => {
    const s = await start({
      runner: async () => {
        throw new Error("duckdb: table not found");
      },
    });
    const { body: job } = await createJob(s);
    expect((await statuses(s, job.jobId)).at(-1)).toBe("failed");
    expect(s.jobs()[0]).toMatchObject({ status: "failed", failureReason: "duckdb: table not found" });
  });
});

describe("airbyte sandbox: auth", () => {
  const credentials = {
    kind: "client-credentials" as const,
    clientId: "tapestry-app",
    clientSecret: "s3cret-value",
  };

  const token = async (s: AirbyteSandbox, secret = credentials.clientSecret) =>
    call<{ access_token: string; token_type: string; expires_in: number }>(
      `${s.baseUrl}/applications/token`,
      {
        method: "POST",
        body: { client_id: credentials.clientId, client_secret: secret, "grant-type": "client_credentials" },
      },
    );

  it("issues opaque bearer tokens for the right client credentials and accepts them", async () => {
    const s = await start({ auth: credentials });
    const issued = await token(s);
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ token_type: "Bearer", expires_in: 180 });
    expect(issued.body.access_token).toMatch(/^[\w-]{20,}$/);
    const job = await createJob(s, CONNECTION, { authorization: `Bearer ${issued.body.access_token}` });
    expect(job.status).toBe(200);
    expect(s.traffic.at(-1)?.request.headers.authorization).toBe(`Bearer ${issued.body.access_token}`);
  });

  it("answers 401 for a wrong client secret, a missing, unknown or malformed token", async () => {
    const s = await start({ auth: credentials });
    expect((await token(s, "wrong")).status).toBe(401);
    expect((await createJob(s)).status).toBe(401);
    expect((await createJob(s, CONNECTION, { authorization: "Bearer not-a-token" })).status).toBe(401);
    expect((await createJob(s, CONNECTION, { authorization: "Basic dXNlcjpwYXNz" })).status).toBe(401);
    const denied = await createJob(s);
    expect(denied.body).toMatchObject({ status: 401, title: "unauthorized" });
    expect(s.counters).toEqual({ triggers: 4, jobsCreated: 0 });
  });

  it("expires tokens after tokenTtlSeconds (expires_in is rounded up)", async () => {
    const s = await start({ auth: { ...credentials, tokenTtlSeconds: 0.1 } });
    const issued = await token(s);
    expect(issued.body.expires_in).toBe(1);
    const auth = { authorization: `Bearer ${issued.body.access_token}` };
    expect((await call(`${s.baseUrl}/jobs`, { headers: auth })).status).toBe(200);
    await sleep(150);
    const expired = await call(`${s.baseUrl}/jobs`, { headers: auth });
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ detail: expect.stringContaining("expired") });
  });

  it("revokes every issued token when a revokeTokens rule matches: that call gets 401, a new token works", async () => {
    const s = await start({
      auth: credentials,
      scenario: { rules: [{ on: "getJob", calls: [2], revokeTokens: true }] },
    });
    const auth = { authorization: `Bearer ${(await token(s)).body.access_token}` };
    const { body: job } = await createJob(s, CONNECTION, auth);
    expect((await getJob(s, job.jobId, auth)).status).toBe(200);
    expect((await getJob(s, job.jobId, auth)).status).toBe(401);
    expect(s.traffic.at(-1)?.scripted).toBe(true);
    const fresh = { authorization: `Bearer ${(await token(s)).body.access_token}` };
    expect((await getJob(s, job.jobId, fresh)).status).toBe(200);
  });

  it("supports a static bearer token, and revokeTokens() from the test", async () => {
    const s = await start({ auth: { kind: "bearer", token: "static-token-123" } });
    expect((await createJob(s, CONNECTION, { authorization: "Bearer static-token-123" })).status).toBe(200);
    expect((await call(`${s.baseUrl}/jobs`, { headers: { authorization: "Bearer other" } })).status).toBe(
      401,
    );
    expect((await token(s)).status).toBe(401);
  });

  it("revokeTokens() invalidates issued tokens", async () => {
    const s = await start({ auth: credentials });
    const auth = { authorization: `Bearer ${(await token(s)).body.access_token}` };
    expect((await call(`${s.baseUrl}/jobs`, { headers: auth })).status).toBe(200);
    s.revokeTokens();
    expect((await call(`${s.baseUrl}/jobs`, { headers: auth })).status).toBe(401);
  });
});
