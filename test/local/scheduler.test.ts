import { type PipelineSpec, pipelineSchema } from "@tapestry/core/config";
import { afterEach, describe, expect, it } from "vitest";
import {
  LocalScheduler,
  type LocalSchedulerOptions,
  MAX_TIMER_DELAY_MS,
  type SchedulerClock,
} from "../../packages/local/src/scheduler";

/** A clock whose time only moves when the test says so; timers run in time order. */
class FakeClock implements SchedulerClock {
  private time: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();
  /** every delay ever requested */
  readonly delays: number[] = [];

  constructor(start: string) {
    this.time = Date.parse(start);
  }

  now = (): Date => new Date(this.time);

  setTimeout = (callback: () => void, delayMs: number): unknown => {
    this.delays.push(delayMs);
    const id = ++this.seq;
    this.timers.set(id, { at: this.time + delayMs, callback });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };

  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward to `target`, running each timer at its due time (and the promises it starts). */
  async advanceTo(target: string): Promise<void> {
    const end = Date.parse(target);
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, t]) => t.at <= end)
        .sort(([a, x], [b, y]) => x.at - y.at || a - b)[0];
      if (!due) break;
      const [id, timer] = due;
      this.timers.delete(id);
      this.time = Math.max(this.time, timer.at);
      timer.callback();
      await settle();
    }
    this.time = end;
    await settle();
  }

  /** Jumps forward without running timers on the way (a machine that slept), then runs what is due. */
  async sleepUntil(target: string): Promise<void> {
    this.time = Date.parse(target);
    await this.advanceTo(target);
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function pipeline(name: string, expression: string, schedule: { timezone?: string; enabled?: boolean } = {}) {
  return pipelineSchema.parse({
    name,
    schedule: { expression, ...schedule },
    stages: [
      {
        name: "ingest",
        steps: [
          {
            name: "sync",
            tool: "airbyte",
            connectionId: "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11",
            timeoutMinutes: 60,
          },
        ],
      },
    ],
  });
}

interface Fire {
  pipeline: string;
  scheduled: string;
  at: string;
}

let scheduler: LocalScheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

function setup(
  clock: FakeClock,
  pipelines: PipelineSpec[],
  extra: Partial<LocalSchedulerOptions> = {},
): { fires: Fire[]; scheduler: LocalScheduler } {
  const fires: Fire[] = [];
  scheduler = new LocalScheduler({
    pipelines,
    clock,
    onFire: async (p, scheduledTime) => {
      fires.push({ pipeline: p.name, scheduled: scheduledTime.toISOString(), at: clock.now().toISOString() });
    },
    ...extra,
  });
  return { fires, scheduler };
}

describe("LocalScheduler", () => {
  it("fires each scheduled time when the clock reaches it, and re-arms", async () => {
    const clock = new FakeClock("2026-01-01T00:00:00Z");
    const { fires, scheduler } = setup(clock, [pipeline("daily", "cron(0 6 * * ? *)")]);
    scheduler.start();
    expect(scheduler.nextFire("daily")?.toISOString()).toBe("2026-01-01T06:00:00.000Z");

    await clock.advanceTo("2026-01-01T05:59:59Z");
    expect(fires).toEqual([]);
    await clock.advanceTo("2026-01-03T07:00:00Z");
    expect(fires).toEqual([
      { pipeline: "daily", scheduled: "2026-01-01T06:00:00.000Z", at: "2026-01-01T06:00:00.000Z" },
      { pipeline: "daily", scheduled: "2026-01-02T06:00:00.000Z", at: "2026-01-02T06:00:00.000Z" },
      { pipeline: "daily", scheduled: "2026-01-03T06:00:00.000Z", at: "2026-01-03T06:00:00.000Z" },
    ]);
    expect(scheduler.nextFire("daily")?.toISOString()).toBe("2026-01-04T06:00:00.000Z");
    expect(clock.pending).toBe(1);
  });

  it("follows the schedule's time zone through a daylight-saving change", async () => {
    const clock = new FakeClock("2026-03-07T00:00:00Z");
    const { fires, scheduler } = setup(clock, [
      pipeline("ny", "cron(0 6 * * ? *)", { timezone: "America/New_York" }),
    ]);
    scheduler.start();
    await clock.advanceTo("2026-03-09T12:00:00Z");
    expect(fires.map((f) => f.at)).toEqual([
      "2026-03-07T11:00:00.000Z", // 06:00 EST
      "2026-03-08T10:00:00.000Z", // 06:00 EDT
      "2026-03-09T10:00:00.000Z",
    ]);
  });

  it("runs two pipelines on their own timers", async () => {
    const clock = new FakeClock("2026-01-01T10:00:00Z");
    const { fires, scheduler } = setup(clock, [
      pipeline("every-five", "rate(5 minutes)"),
      pipeline("quarterly", "cron(0/15 * * * ? *)"),
    ]);
    scheduler.start();
    await clock.advanceTo("2026-01-01T10:30:00Z");
    // Two timers due at the same instant may run in either order.
    expect(fires.map((f) => `${f.at.slice(11, 16)} ${f.pipeline}`).sort()).toEqual([
      "10:05 every-five",
      "10:10 every-five",
      "10:15 every-five",
      "10:15 quarterly",
      "10:20 every-five",
      "10:25 every-five",
      "10:30 every-five",
      "10:30 quarterly",
    ]);
    expect(fires.every((f) => f.at === f.scheduled)).toBe(true);
  });

  it("does not arm a disabled schedule", async () => {
    const clock = new FakeClock("2026-01-01T00:00:00Z");
    const { fires, scheduler } = setup(clock, [
      pipeline("off", "rate(1 minute)", { enabled: false }),
      pipeline("on", "cron(0 6 * * ? *)"),
    ]);
    scheduler.start();
    expect(scheduler.nextFire("off")).toBeUndefined();
    expect(scheduler.nextFire("unknown")).toBeUndefined();
    expect(clock.pending).toBe(1);
    await clock.advanceTo("2026-01-01T07:00:00Z");
    expect(fires.map((f) => f.pipeline)).toEqual(["on"]);
  });

  it("chains timers longer than 2^31-1 ms instead of letting them overflow", async () => {
    const clock = new FakeClock("2026-01-02T00:00:00Z");
    const { fires, scheduler } = setup(clock, [pipeline("yearly", "cron(0 0 1 1 ? *)")]);
    scheduler.start();
    expect(scheduler.nextFire("yearly")?.toISOString()).toBe("2027-01-01T00:00:00.000Z");
    await clock.advanceTo("2026-12-31T23:59:00Z");
    expect(fires).toEqual([]);
    await clock.advanceTo("2027-01-01T00:00:00Z");
    expect(fires.map((f) => f.at)).toEqual(["2027-01-01T00:00:00.000Z"]);
    expect(clock.delays.length).toBeGreaterThan(2);
    expect(Math.max(...clock.delays)).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
    expect(clock.delays[0]).toBe(MAX_TIMER_DELAY_MS);
  });

  it("stop() clears the timers: nothing fires afterwards", async () => {
    const clock = new FakeClock("2026-01-01T00:00:00Z");
    const { fires, scheduler } = setup(clock, [pipeline("p", "rate(1 hour)")]);
    scheduler.start();
    await clock.advanceTo("2026-01-01T01:00:00Z");
    expect(fires).toHaveLength(1);
    await scheduler.stop();
    expect(clock.pending).toBe(0);
    expect(scheduler.nextFire("p")).toBeUndefined();
    await clock.advanceTo("2026-01-02T00:00:00Z");
    expect(fires).toHaveLength(1);
  });

  it("stop() waits for the onFire calls in flight", async () => {
    const clock = new FakeClock("2026-01-01T00:00:00Z");
    let finish: () => void = () => {};
    let finished = false;
    scheduler = new LocalScheduler({
      pipelines: [pipeline("slow", "rate(1 hour)")],
      clock,
      onFire: () =>
        new Promise<void>((resolve) => {
          finish = () => {
            finished = true;
            resolve();
          };
        }),
    });
    scheduler.start();
    await clock.advanceTo("2026-01-01T01:00:00Z");
    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    await settle();
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(finished).toBe(true);
    expect(stopped).toBe(true);
  });

  it("a slow onFire does not delay the next fire", async () => {
    const clock = new FakeClock("2026-01-01T00:00:00Z");
    const started: string[] = [];
    scheduler = new LocalScheduler({
      pipelines: [pipeline("p", "rate(1 minute)")],
      clock,
      onFire: (_p, t) => {
        started.push(t.toISOString());
        return new Promise<void>(() => {}); // never settles during the test
      },
    });
    scheduler.start();
    await clock.advanceTo("2026-01-01T00:03:00Z");
    expect(started).toEqual([
      "2026-01-01T00:01:00.000Z",
      "2026-01-01T00:02:00.000Z",
      "2026-01-01T00:03:00.000Z",
    ]);
    // Not stopped in afterEach: its in-flight calls never settle.
    const stuck = scheduler;
    scheduler = undefined;
    void stuck.stop();
  });

  it("retries a rejected onFire with the same scheduled time (at least once), then reports it", async () => {
    const clock = new FakeClock("2026-01-01T00:00:00Z");
    const attempts: string[] = [];
    const failed: string[] = [];
    scheduler = new LocalScheduler({
      pipelines: [pipeline("flaky", "cron(0 6 * * ? *)"), pipeline("broken", "cron(0 7 * * ? *)")],
      clock,
      retry: { maxAttempts: 3, delayMs: 1000 },
      onFire: async (p, t) => {
        attempts.push(
          `${p.name} ${t.toISOString().slice(11, 16)} @${clock.now().toISOString().slice(11, 19)}`,
        );
        if (p.name === "broken" || attempts.filter((a) => a.startsWith("flaky")).length < 2) {
          throw new Error("StartExecution throttled");
        }
      },
      onFireFailed: (p, t, error) => failed.push(`${p.name} ${t.toISOString()} ${(error as Error).message}`),
    });
    scheduler.start();
    await clock.advanceTo("2026-01-01T08:00:00Z");
    expect(attempts).toEqual([
      "flaky 06:00 @06:00:00",
      "flaky 06:00 @06:00:01", // retried 1 s later, same scheduled time
      "broken 07:00 @07:00:00",
      "broken 07:00 @07:00:01",
      "broken 07:00 @07:00:03", // then 2 s later; 3 attempts in all
    ]);
    expect(failed).toEqual(["broken 2026-01-01T07:00:00.000Z StartExecution throttled"]);
  });

  it("a timer that wakes late fires once for the missed fire times, then re-arms in the future", async () => {
    const clock = new FakeClock("2026-01-01T00:00:00Z");
    const { fires, scheduler } = setup(clock, [pipeline("p", "cron(0/10 * * * ? *)")]);
    scheduler.start();
    await clock.sleepUntil("2026-01-01T01:05:00Z");
    expect(fires).toEqual([
      { pipeline: "p", scheduled: "2026-01-01T00:10:00.000Z", at: "2026-01-01T01:05:00.000Z" },
    ]);
    expect(scheduler.nextFire("p")?.toISOString()).toBe("2026-01-01T01:10:00.000Z");
  });

  it("fires rate schedules on the StartDate grid (whole intervals since 1970), not from start()", async () => {
    const clock = new FakeClock("2026-01-01T10:02:30Z");
    const { fires, scheduler } = setup(clock, [pipeline("r", "rate(2 hours)")]);
    scheduler.start();
    expect(scheduler.nextFire("r")?.toISOString()).toBe("2026-01-01T12:00:00.000Z");
    await clock.advanceTo("2026-01-01T14:03:00Z");
    expect(fires.map((f) => f.at)).toEqual(["2026-01-01T12:00:00.000Z", "2026-01-01T14:00:00.000Z"]);
  });

  it("rejects an invalid schedule when constructed, not later in a timer", () => {
    const bad = {
      ...pipeline("p", "rate(1 hour)"),
      schedule: { expression: "cron(0 6 * * * *)", timezone: "UTC", enabled: true },
    };
    expect(
      () =>
        new LocalScheduler({
          pipelines: [bad],
          clock: new FakeClock("2026-01-01T00:00:00Z"),
          onFire: async () => {},
        }),
    ).toThrow(/exactly one of/);
  });
});
