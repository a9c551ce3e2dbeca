/**
 * The status read models' caches (core/status/read-cache.ts): the ledger's run reads kept until
 * the next write, and each schedule's next fire kept until the clock reaches it. A stale answer
 * is a bug: every write, however it ends, is seen by the next read; and the status API over real
 * HTTP, on the cached ledger, answers what the ledger holds after each write.
 */
import { type PipelineSpec, parseConfig } from "@tapestry/core/config";
import type { RunLedger, RunRecord } from "@tapestry/core/ledger";
import { silentLogger } from "@tapestry/core/logging";
import { nextFireTime } from "@tapestry/core/schedule";
import { memoizedNextFireTime, withStatusReadCache } from "@tapestry/core/status";
import { afterEach, describe, expect, it } from "vitest";
import { createStatusApiHandler } from "../../functions/api/status-api";
import { type ApiServer, startApiServer } from "../../packages/local/src/api-server";
import { SqliteAlertStore, SqliteRunLedger } from "../../packages/local/src/ledger";
import kickstart from "../../tapestry.config";
import { scheduledRun } from "../api/run-events";

const CONFIG = parseConfig(structuredClone(kickstart), "tapestry.config.ts");
const PIPELINE = CONFIG.pipelines[0] as PipelineSpec;
const NOW = new Date("2026-03-02T12:00:00.000Z");
const day = (n: number) => new Date(NOW.getTime() - n * 86_400_000);

async function recordRun(ledger: RunLedger, start: Date, outcome: "succeeded" | "failed" | "running") {
  const run = scheduledRun(PIPELINE, start, outcome);
  for (const event of run.events) await ledger.record(event);
  return run.runId;
}

const opened: { close(): void }[] = [];
const servers: ApiServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const ledger of opened.splice(0)) ledger.close();
});

function cachedSqliteLedger() {
  const ledger = SqliteRunLedger.open(":memory:");
  opened.push(ledger);
  return withStatusReadCache(ledger);
}

describe("withStatusReadCache", () => {
  it("answers a repeated read from memory, and the read after a write from the ledger", async () => {
    const inner = SqliteRunLedger.open(":memory:");
    opened.push(inner);
    let latestRunsCalls = 0;
    const counting = Object.assign(Object.create(inner) as SqliteRunLedger, {
      latestRuns: (pipelines: readonly string[]) => {
        latestRunsCalls += 1;
        return inner.latestRuns(pipelines);
      },
    });
    const ledger = withStatusReadCache(counting);
    const first = await recordRun(ledger, day(2), "succeeded");

    expect((await ledger.latestRuns([PIPELINE.name])).get(PIPELINE.name)?.runId).toBe(first);
    expect((await ledger.latestRuns([PIPELINE.name])).get(PIPELINE.name)?.runId).toBe(first);
    expect(latestRunsCalls).toBe(1);

    const second = await recordRun(ledger, day(1), "failed");
    const latest = (await ledger.latestRuns([PIPELINE.name])).get(PIPELINE.name);
    expect(latest).toMatchObject({ runId: second, status: "failed" });
    expect(latestRunsCalls).toBe(2);
  });

  it("clears on every write, not only on events: a lock taken, a lock freed", async () => {
    const inner = SqliteRunLedger.open(":memory:");
    opened.push(inner);
    let getRunCalls = 0;
    const counting = Object.assign(Object.create(inner) as SqliteRunLedger, {
      getRun: (runId: string) => {
        getRunCalls += 1;
        return inner.getRun(runId);
      },
    });
    const ledger = withStatusReadCache(counting);
    const runId = await recordRun(ledger, day(1), "running");
    await ledger.getRun(runId);
    await ledger.getRun(runId);
    expect(getRunCalls).toBe(1);
    const lock = { pipeline: PIPELINE.name, runId };
    await ledger.acquireRunLock({ ...lock, expiresAt: day(-1).toISOString(), now: NOW.toISOString() });
    await ledger.getRun(runId);
    expect(getRunCalls).toBe(2);
    await ledger.releaseRunLock(lock);
    await ledger.getRun(runId);
    expect(getRunCalls).toBe(3);
    // the reads whose answers depend on the clock are never kept, and clear nothing
    await ledger.getRunLock(PIPELINE.name, NOW.toISOString());
    await ledger.getRun(runId);
    expect(getRunCalls).toBe(3);
  });

  it("does not keep a read that was in flight while a write happened", async () => {
    const releases: (() => void)[] = [];
    let stored: RunRecord | undefined;
    const record = (status: RunRecord["status"]) => ({ runId: "r", pipeline: "p", status }) as RunRecord;
    const slow = {
      getRun: () =>
        new Promise<RunRecord | undefined>((resolve) => {
          const answer = stored;
          releases.push(() => resolve(answer));
        }),
      record: async () => {
        stored = record("failed");
      },
    } as unknown as RunLedger;
    stored = record("running");
    const ledger = withStatusReadCache(slow);

    const inFlight = ledger.getRun("r"); // reads "running", answers later
    await ledger.record({} as Parameters<RunLedger["record"]>[0]); // now "failed"
    for (const release of releases.splice(0)) release();
    expect((await inFlight)?.status).toBe("running"); // its caller asked before the write
    const after = ledger.getRun("r");
    for (const release of releases.splice(0)) release();
    expect((await after)?.status).toBe("failed");
  });

  it("clears on a write that fails, which may have written part of what it meant to", async () => {
    let status: RunRecord["status"] = "running";
    const failing = {
      getRun: async () => ({ runId: "r", pipeline: "p", status }) as RunRecord,
      record: async () => {
        status = "failed";
        throw new Error("the disk is full");
      },
    } as unknown as RunLedger;
    const ledger = withStatusReadCache(failing);
    expect((await ledger.getRun("r"))?.status).toBe("running");
    await expect(ledger.record({} as Parameters<RunLedger["record"]>[0])).rejects.toThrow("the disk is full");
    expect((await ledger.getRun("r"))?.status).toBe("failed");
  });

  it("does not keep a failed read", async () => {
    let fail = true;
    const flaky = {
      getRun: async () => {
        if (fail) throw new Error("busy");
        return { runId: "r", pipeline: "p", status: "succeeded" } as RunRecord;
      },
    } as unknown as RunLedger;
    const ledger = withStatusReadCache(flaky);
    await expect(ledger.getRun("r")).rejects.toThrow("busy");
    fail = false;
    expect((await ledger.getRun("r"))?.status).toBe("succeeded");
  });
});

describe("the status API on the cached ledger, over HTTP", () => {
  async function serve(ledger: RunLedger, config = CONFIG): Promise<ApiServer> {
    const alerts = SqliteAlertStore.open(":memory:");
    const server = await startApiServer({
      port: 0,
      handler: createStatusApiHandler({
        config,
        ledger,
        alerts,
        now: () => NOW,
        nextFireTime: (pipeline, after) => nextFireTime(pipeline.schedule, after),
        runs: { start: async () => {}, stop: async () => {} },
        bus: { publish: async () => {} },
        logger: silentLogger,
      }),
    });
    servers.push(server);
    opened.push(alerts);
    return server;
  }
  const health = async (server: ApiServer) => {
    const body = (await (await fetch(`${server.url}/status`)).json()) as {
      pipelines: { name: string; health: string; lastRun: { runId: string } | null }[];
    };
    return body.pipelines.find((p) => p.name === PIPELINE.name);
  };

  it("answers /status and /runs/{id} with what the ledger holds after each write, never a kept answer", async () => {
    const ledger = cachedSqliteLedger();
    const server = await serve(ledger);
    expect(await health(server)).toMatchObject({ health: "never-run", lastRun: null });

    const good = await recordRun(ledger, day(2), "succeeded");
    expect(await health(server)).toMatchObject({ health: "healthy", lastRun: { runId: good } });

    const going = await recordRun(ledger, day(1), "running");
    expect(await health(server)).toMatchObject({ health: "running", lastRun: { runId: going } });
    const runPath = `${server.url}/runs/${encodeURIComponent(going)}`;
    expect(await (await fetch(runPath)).json()).toMatchObject({ status: "running" });

    const failed = scheduledRun(PIPELINE, day(1), "failed").events.slice(-2);
    for (const event of failed) await ledger.record(event);
    expect(await health(server)).toMatchObject({ health: "failing", lastRun: { runId: going } });
    expect(await (await fetch(runPath)).json()).toMatchObject({ status: "failed" });
  });

  it("lists a run the API itself queued at once (its own write clears what it read before)", async () => {
    const queueing = parseConfig(
      {
        ...structuredClone(kickstart),
        pipelines: [{ ...structuredClone(kickstart.pipelines[0]), overlap: "queue" }],
      },
      "tapestry.config.ts",
    );
    const ledger = cachedSqliteLedger();
    const server = await serve(ledger, queueing);
    const going = await recordRun(ledger, day(1), "running");
    const lock = { pipeline: PIPELINE.name, runId: going, now: NOW.toISOString() };
    await ledger.acquireRunLock({ ...lock, expiresAt: new Date(NOW.getTime() + 3_600_000).toISOString() });
    const runsPath = `${server.url}/pipelines/${PIPELINE.name}/runs`;
    const listed = async () =>
      ((await (await fetch(runsPath)).json()) as { runs: { runId: string; status: string }[] }).runs;
    expect((await listed()).map((run) => run.runId)).toEqual([going]);

    const accepted = await fetch(runsPath, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(accepted.status).toBe(202);
    const { runId } = (await accepted.json()) as { runId: string };
    expect(await listed()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ runId, status: "queued" }),
        expect.objectContaining({ runId: going }),
      ]),
    );
    expect(await (await fetch(`${server.url}${accepted.headers.get("location")}`)).json()).toMatchObject({
      runId,
      status: "queued",
    });
  });
});

describe("memoizedNextFireTime", () => {
  const hourly: PipelineSpec = {
    ...PIPELINE,
    schedule: { ...PIPELINE.schedule, expression: "cron(0 * * * ? *)", timezone: "UTC" },
  };
  const counted = () => {
    let calls = 0;
    const fn = (pipeline: PipelineSpec, after: Date) => {
      calls += 1;
      return nextFireTime(pipeline.schedule, after);
    };
    return { fn, calls: () => calls };
  };

  it("gives the same instant as the schedule for every time, computing once per fire", () => {
    const underlying = counted();
    const memo = memoizedNextFireTime(underlying.fn);
    const start = Date.parse("2026-03-02T10:00:00.000Z");
    for (let minute = 0; minute < 180; minute += 7) {
      const after = new Date(start + minute * 60_000 + 1_000);
      expect(memo(hourly, after)?.toISOString(), after.toISOString()).toBe(
        nextFireTime(hourly.schedule, after)?.toISOString(),
      );
    }
    expect(underlying.calls()).toBe(3); // fires at 11:00, 12:00, 13:00
  });

  it("moves on at the fire itself, and computes again when the clock goes back or the schedule changes", () => {
    const underlying = counted();
    const memo = memoizedNextFireTime(underlying.fn);
    expect(memo(hourly, new Date("2026-03-02T10:30:00.000Z"))?.toISOString()).toBe(
      "2026-03-02T11:00:00.000Z",
    );
    expect(memo(hourly, new Date("2026-03-02T11:00:00.000Z"))?.toISOString()).toBe(
      "2026-03-02T12:00:00.000Z",
    );
    expect(memo(hourly, new Date("2026-03-02T09:10:00.000Z"))?.toISOString()).toBe(
      "2026-03-02T10:00:00.000Z",
    );
    const daily = { ...hourly, schedule: { ...hourly.schedule, expression: "cron(0 6 * * ? *)" } };
    expect(memo(daily, new Date("2026-03-02T09:20:00.000Z"))?.toISOString()).toBe("2026-03-03T06:00:00.000Z");
    expect(underlying.calls()).toBe(4);
  });
});
