import { describe, expect, it } from "vitest";
import {
  type GrouparooRun,
  type GrouparooSandbox,
  startGrouparooSandbox,
} from "../../../packages/local/src/sandboxes";
import { call, sandboxStarter, trace, until } from "./helpers";

const SCHEDULE = "sch_mailchimp_rain_shield";
const API_KEY = "grouparoo-sandbox-key";
const FAST = { queuedMs: 150, durationMs: 250 };

const start = sandboxStarter(startGrouparooSandbox, FAST);

const auth = { authorization: `Bearer ${API_KEY}` };
const runSchedule = (s: GrouparooSandbox, schedule = SCHEDULE, headers: Record<string, string> = auth) =>
  call<{ run: GrouparooRun }>(`${s.baseUrl}/api/v1/schedule/${schedule}/run`, { method: "POST", headers });
const getRun = (s: GrouparooSandbox, id: string) =>
  call<{ run: GrouparooRun; quantizedTimeline: unknown[] }>(`${s.baseUrl}/api/v1/run/${id}`, {
    headers: auth,
  });
const states = (s: GrouparooSandbox, id: string, done = ["complete", "stopped"]) =>
  trace(
    async () => (await getRun(s, id)).body.run.state,
    (state) => done.includes(state),
  );

describe("grouparoo sandbox: lifecycle", () => {
  it("runs draft -> running -> complete with run_ ids and rows in recordsImported/importsCreated", async () => {
    const s = await start({ scenario: { defaults: { rows: 1204 } } });
    const started = await runSchedule(s);
    expect(started.status).toBe(200);
    const run = started.body.run;
    expect(run.id).toMatch(/^run_[0-9a-f-]{36}$/);
    expect(run).toMatchObject({ creatorId: SCHEDULE, creatorType: "schedule", state: "draft", error: null });
    expect(await states(s, run.id)).toEqual(["draft", "running", "complete"]);
    const done = await getRun(s, run.id);
    expect(done.body.quantizedTimeline).toEqual([]);
    expect(done.body.run).toMatchObject({
      percentComplete: 100,
      recordsImported: 1204,
      importsCreated: 1204,
      error: null,
    });
    expect(Date.parse(done.body.run.completedAt ?? "")).not.toBeNaN();
  });

  it("pre-empts: running a schedule with a run in flight STOPS that run and starts a new one", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "stuck" }] } });
    const first = (await runSchedule(s)).body.run;
    await until(async () => (await getRun(s, first.id)).body.run.state === "running");
    const second = await runSchedule(s);
    expect(second.status).toBe(200);
    expect(second.body.run.id).not.toBe(first.id);
    expect((await getRun(s, first.id)).body.run.state).toBe("stopped");
    expect(s.counters).toEqual({ triggers: 2, jobsCreated: 2 });
    expect(await states(s, second.body.run.id)).toContain("complete");
  });

  it("pre-empts a run seeded as already in flight", async () => {
    const s = await start({ scenario: { alreadyRunning: [{ scheduleId: SCHEDULE, outcome: "stuck" }] } });
    const [seed] = s.runs();
    expect(seed?.state).toBe("running");
    await runSchedule(s);
    expect((await getRun(s, seed?.id ?? "")).body.run.state).toBe("stopped");
  });

  it("stops a run with PUT {state: stopped}; other states are refused", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "stuck" }] } });
    const run = (await runSchedule(s)).body.run;
    const refused = await call(`${s.baseUrl}/api/v1/run/${run.id}`, {
      method: "PUT",
      body: { state: "complete" },
      headers: auth,
    });
    expect(refused.status).toBe(422);
    const stopped = await call<{ run: GrouparooRun }>(`${s.baseUrl}/api/v1/run/${run.id}`, {
      method: "PUT",
      body: { state: "stopped" },
      headers: auth,
    });
    expect(stopped.status).toBe(200);
    expect(stopped.body.run.state).toBe("stopped");
    expect(s.traffic.map((e) => e.operation)).toEqual(["runSchedule", "stopRun", "stopRun"]);
  });

  it("lists a schedule's runs newest first with state and hasError filters", async () => {
    const s = await start({ scenario: { outcomes: [{ outcome: "failed" }] } });
    const failed = (await runSchedule(s)).body.run;
    await states(s, failed.id);
    const ok = (await runSchedule(s)).body.run;
    const other = (await runSchedule(s, "sch_other")).body.run;
    const list = (query: string) =>
      call<{ runs: GrouparooRun[]; total: number }>(`${s.baseUrl}/api/v1/runs${query}`, { headers: auth });
    const mine = await list(`?id=${SCHEDULE}`);
    expect(mine.body.total).toBe(2);
    expect(mine.body.runs.map((r) => r.id)).toEqual([ok.id, failed.id]);
    expect((await list(`?id=${SCHEDULE}&hasError=true`)).body.runs.map((r) => r.id)).toEqual([failed.id]);
    expect((await list(`?state=draft`)).body.runs.map((r) => r.id)).toEqual([other.id, ok.id]);
    expect((await list(`?limit=1&offset=1`)).body).toMatchObject({ total: 3, runs: [{ id: ok.id }] });
  });

  it("answers 404 for an unknown run or a schedule outside knownSchedules", async () => {
    const s = await start({ scenario: { knownSchedules: [SCHEDULE] } });
    const missing = await getRun(s, "run_nope");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { message: "cannot find Run run_nope" } });
    expect((await runSchedule(s, "sch_unknown")).status).toBe(404);
    expect(s.counters).toEqual({ triggers: 1, jobsCreated: 0 });
  });
});

describe("grouparoo sandbox: scripted outcomes", () => {
  it("failed: complete with an aggregated error string", async () => {
    const s = await start({
      scenario: {
        outcomes: [{ outcome: "failed", error: "Mailchimp: Invalid merge fields (x3)", rows: 40 }],
      },
    });
    const run = (await runSchedule(s)).body.run;
    expect(await states(s, run.id)).toEqual(["draft", "running", "complete"]);
    expect((await getRun(s, run.id)).body.run).toMatchObject({
      error: "Mailchimp: Invalid merge fields (x3)",
      recordsImported: 40,
    });
  });

  it("cancelled (stopped by someone else), zero rows, stuck and an unknown state", async () => {
    const s = await start({
      scenario: {
        outcomes: [
          { for: "sch_a", outcome: "cancelled" },
          { for: "sch_b", outcome: "succeeded", rows: 0 },
          { for: "sch_c", outcome: "stuck" },
          { for: "sch_d", outcome: "unknown-status", status: "paused" },
        ],
      },
    });
    const [a, b, c, d] = await Promise.all(
      ["sch_a", "sch_b", "sch_c", "sch_d"].map((id) => runSchedule(s, id)),
    );
    expect(await states(s, a?.body.run.id ?? "")).toEqual(["draft", "running", "stopped"]);
    await states(s, b?.body.run.id ?? "");
    expect((await getRun(s, b?.body.run.id ?? "")).body.run).toMatchObject({
      state: "complete",
      recordsImported: 0,
    });
    expect(await states(s, d?.body.run.id ?? "", ["paused"])).toContain("paused");
    expect((await getRun(s, c?.body.run.id ?? "")).body.run.state).toBe("running");
  });
});

describe("grouparoo sandbox: auth", () => {
  it("accepts the API key as a bearer token and answers 401 otherwise", async () => {
    const s = await start({ auth: { kind: "api-key", apiKey: API_KEY } });
    expect((await runSchedule(s)).status).toBe(200);
    const denied = await runSchedule(s, SCHEDULE, { authorization: "Bearer wrong" });
    expect(denied.status).toBe(401);
    expect(denied.body).toMatchObject({ error: { message: expect.any(String) } });
    expect((await runSchedule(s, SCHEDULE, {})).status).toBe(401);
    expect(s.counters).toEqual({ triggers: 3, jobsCreated: 1 });
    expect(s.traffic[0]?.request.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });
});
