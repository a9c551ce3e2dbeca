import { createEvent, type TapestryEvent } from "@tapestry/core/events";
import { describe, expect, it } from "vitest";
import { type BusEvent, EventBusError, LocalEventBus, MAX_EVENT_BYTES } from "../../packages/local/src/bus";
import { EventPatternError } from "../../packages/local/src/event-pattern";

const NOW = new Date("2026-01-01T06:00:05.123Z");
const context = { pipeline: "rain-shield-audience", now: NOW };
const RUN = "rain-shield-audience-20260101T060000Z";

const stepSucceeded = (rows: number, warning?: string) =>
  createEvent(
    "StepSucceeded",
    {
      runId: RUN,
      stage: "ingest",
      step: "zoom",
      tool: "airbyte",
      externalId: "42",
      toolStatus: "succeeded",
      rows,
      startedAt: "2026-01-01T06:00:00Z",
      endedAt: "2026-01-01T06:04:00Z",
      durationMs: 240_000,
      ...(warning ? { warning } : {}),
    },
    context,
  );
const stepFailed = () =>
  createEvent(
    "StepFailed",
    {
      runId: RUN,
      stage: "model",
      step: "dbt",
      tool: "dbt-cloud",
      reason: "timeout",
      error: "the job ran past its deadline",
      endedAt: "2026-01-01T07:00:00Z",
    },
    context,
  );
const runFailed = () =>
  createEvent(
    "PipelineRunFailed",
    {
      runId: RUN,
      endedAt: "2026-01-01T07:00:00Z",
      failedSteps: ["model/dbt", "activate/grouparoo"],
      error: "2 steps failed",
    },
    context,
  );
const runSucceeded = () =>
  createEvent(
    "PipelineRunSucceeded",
    {
      runId: RUN,
      startedAt: "2026-01-01T06:00:00Z",
      endedAt: "2026-01-01T06:30:00Z",
      durationMs: 1_800_000,
      rows: 500,
    },
    context,
  );

/** A bus whose retries do not wait. */
const newBus = (maxAttempts = 3) =>
  new LocalEventBus({ now: () => NOW, retry: { maxAttempts }, sleep: async () => {} });

function collect(bus: LocalEventBus, name: string, pattern: Parameters<LocalEventBus["subscribe"]>[1]) {
  const got: BusEvent[] = [];
  bus.subscribe(name, pattern, (event) => {
    got.push(event);
  });
  return got;
}

describe("LocalEventBus", () => {
  it("wraps each event as EventBridge delivers it", async () => {
    const bus = newBus();
    const got = collect(bus, "all", { source: ["tapestry.pipeline"] });
    const event = runSucceeded();
    await bus.put([event]);
    await bus.drain();
    expect(got).toHaveLength(1);
    const [delivered] = got;
    expect(delivered).toEqual({
      version: "0",
      id: expect.any(String),
      "detail-type": "PipelineRunSucceeded",
      source: "tapestry.pipeline",
      account: "000000000000",
      time: "2026-01-01T06:00:05Z",
      region: "local",
      resources: [],
      detail: event.detail,
    });
    expect(delivered?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("routes each event to the subscriptions whose pattern matches (operators through the bus)", async () => {
    const bus = newBus();
    const got = {
      steps: collect(bus, "steps", { "detail-type": [{ prefix: "Step" }] }),
      failures: collect(bus, "failures", { "detail-type": [{ suffix: "Failed" }] }),
      notStepProgress: collect(bus, "not-step-progress", {
        "detail-type": [{ "anything-but": ["StepStarted", "StepSucceeded"] }],
      }),
      bigSyncs: collect(bus, "big-syncs", { detail: { data: { rows: [{ numeric: [">", 100] }] } } }),
      cleanSuccesses: collect(bus, "clean-successes", {
        "detail-type": ["StepSucceeded"],
        detail: { data: { warning: [{ exists: false }] } },
      }),
      pipelineIgnoringCase: collect(bus, "pipeline-ignoring-case", {
        detail: { metadata: { pipeline: [{ "equals-ignore-case": "RAIN-SHIELD-AUDIENCE" }] } },
      }),
      runsOf2026: collect(bus, "runs-of-2026", {
        detail: { data: { runId: [{ wildcard: "rain-*-2026*" }] } },
      }),
      alerts: collect(bus, "alerts", {
        $or: [{ "detail-type": ["PipelineRunFailed"] }, { detail: { data: { reason: ["timeout"] } } }],
      }),
      dbtInFailedSteps: collect(bus, "dbt-in-failed-steps", {
        detail: { data: { failedSteps: ["model/dbt"] } },
      }),
      provisioning: collect(bus, "provisioning", { source: ["tapestry.provisioning"] }),
    };
    const events: TapestryEvent[] = [
      stepSucceeded(50),
      stepSucceeded(500, "3 rows skipped"),
      stepFailed(),
      runFailed(),
      runSucceeded(),
    ];
    await bus.put(events);
    await bus.drain();

    const summary = Object.fromEntries(
      Object.entries(got).map(([name, list]) => [
        name,
        list
          .map((e) => `${e["detail-type"]}${"rows" in e.detail.data ? `:${e.detail.data.rows}` : ""}`)
          .sort(),
      ]),
    );
    expect(summary).toEqual({
      steps: ["StepFailed", "StepSucceeded:50", "StepSucceeded:500"],
      failures: ["PipelineRunFailed", "StepFailed"],
      notStepProgress: ["PipelineRunFailed", "PipelineRunSucceeded:500", "StepFailed"],
      bigSyncs: ["PipelineRunSucceeded:500", "StepSucceeded:500"],
      cleanSuccesses: ["StepSucceeded:50"],
      pipelineIgnoringCase: [
        "PipelineRunFailed",
        "PipelineRunSucceeded:500",
        "StepFailed",
        "StepSucceeded:50",
        "StepSucceeded:500",
      ],
      runsOf2026: [
        "PipelineRunFailed",
        "PipelineRunSucceeded:500",
        "StepFailed",
        "StepSucceeded:50",
        "StepSucceeded:500",
      ],
      alerts: ["PipelineRunFailed", "StepFailed"],
      dbtInFailedSteps: ["PipelineRunFailed"],
      provisioning: [],
    });
  });

  it("delivers asynchronously: put returns before any handler runs; drain waits for them", async () => {
    const bus = newBus();
    const log: string[] = [];
    bus.subscribe("slow", { source: ["tapestry.pipeline"] }, async (event) => {
      log.push(`start ${event["detail-type"]}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      log.push(`end ${event["detail-type"]}`);
    });
    await bus.put([runSucceeded()]);
    log.push("put returned");
    await bus.drain();
    log.push("drained");
    expect(log).toEqual([
      "put returned",
      "start PipelineRunSucceeded",
      "end PipelineRunSucceeded",
      "drained",
    ]);
  });

  it("drain also waits for events that handlers put in turn", async () => {
    const bus = newBus();
    bus.subscribe("escalate", { "detail-type": ["StepFailed"] }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await bus.put([runFailed()]);
    });
    const failures = collect(bus, "run-failures", { "detail-type": ["PipelineRunFailed"] });
    await bus.put([stepFailed()]);
    await bus.drain();
    expect(failures).toHaveLength(1);
  });

  it("retries a throwing handler, so a flaky one still gets the event (at least once)", async () => {
    const bus = newBus(3);
    let calls = 0;
    bus.subscribe("flaky", { source: ["tapestry.pipeline"] }, () => {
      calls++;
      if (calls === 1) throw new Error("ledger busy");
    });
    await bus.put([runSucceeded()]);
    await bus.drain();
    expect(calls).toBe(2);
    expect(bus.deadLetters()).toEqual([]);
  });

  it("after the last attempt, sends the event to the dead-letter list with the error", async () => {
    const bus = newBus(3);
    let calls = 0;
    bus.subscribe("broken", { source: ["tapestry.pipeline"] }, () => {
      calls++;
      throw new Error(`ledger down (${calls})`);
    });
    await bus.put([runSucceeded()]);
    await bus.drain();
    expect(calls).toBe(3);
    const dead = bus.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      subscription: "broken",
      attempts: 3,
      errorMessage: "ledger down (3)",
      event: { "detail-type": "PipelineRunSucceeded", source: "tapestry.pipeline" },
    });
    expect(dead[0]?.error).toBeInstanceOf(Error);
  });

  it("waits longer before each retry (10, 20, 40 ms by default)", async () => {
    const waits: number[] = [];
    const bus = new LocalEventBus({
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    bus.subscribe("broken", { source: ["tapestry.pipeline"] }, () => {
      throw new Error("down");
    });
    await bus.put([runSucceeded()]);
    await bus.drain();
    expect(waits).toEqual([10, 20, 40]);
    expect(bus.deadLetters()[0]?.attempts).toBe(4);
  });

  it("one failing subscriber does not block or affect the others", async () => {
    let release: () => void = () => {};
    const retryGate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const bus = new LocalEventBus({ retry: { maxAttempts: 2 }, sleep: () => retryGate });
    bus.subscribe("broken", { source: ["tapestry.pipeline"] }, () => {
      throw new Error("down");
    });
    const healthy: string[] = [];
    bus.subscribe("healthy", { source: ["tapestry.pipeline"] }, (event) => {
      healthy.push(event["detail-type"]);
    });
    await bus.put([stepFailed(), runFailed()]);
    // The broken subscriber is stuck waiting for its retry; the healthy one is done.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(healthy.sort()).toEqual(["PipelineRunFailed", "StepFailed"]);
    expect(bus.deadLetters()).toEqual([]);
    release();
    await bus.drain();
    expect(
      bus
        .deadLetters()
        .map((d) => `${d.subscription} ${d.event["detail-type"]}`)
        .sort(),
    ).toEqual(["broken PipelineRunFailed", "broken StepFailed"]);
  });

  it("gives every handler its own copy of the event", async () => {
    const bus = newBus();
    bus.subscribe("vandal", { source: ["tapestry.pipeline"] }, (event) => {
      (event.detail.data as { runId: string }).runId = "changed";
    });
    const got = collect(bus, "reader", { source: ["tapestry.pipeline"] });
    const event = runSucceeded();
    await bus.put([event]);
    await bus.drain();
    expect(got[0]?.detail.data.runId).toBe(RUN);
    expect(event.detail.data.runId).toBe(RUN);
  });

  it("matches when the event is put: later subscriptions and removed ones do not get it", async () => {
    const bus = newBus();
    const removedGot = collect(bus, "removed", { source: ["tapestry.pipeline"] });
    bus.unsubscribe("removed");
    const stop = bus.subscribe("stopped", { source: ["tapestry.pipeline"] }, () => {
      throw new Error("should not be called");
    });
    stop();
    await bus.put([runSucceeded()]);
    const lateGot = collect(bus, "late", { source: ["tapestry.pipeline"] });
    await bus.drain();
    expect(removedGot).toEqual([]);
    expect(lateGot).toEqual([]);
    expect(bus.deadLetters()).toEqual([]);
  });

  it("rejects an invalid pattern and a duplicate subscription name when subscribing", () => {
    const bus = newBus();
    expect(() => bus.subscribe("bad", { source: "tapestry.pipeline" }, () => {})).toThrow(EventPatternError);
    bus.subscribe("one", { source: ["tapestry.pipeline"] }, () => {});
    expect(() => bus.subscribe("one", { source: ["tapestry.pipeline"] }, () => {})).toThrow(EventBusError);
  });

  it("refuses an event larger than EventBridge's 256 KB limit, queueing none of the batch", async () => {
    const bus = newBus();
    const got = collect(bus, "all", { source: ["tapestry.pipeline"] });
    const huge = createEvent(
      "StepFailed",
      { ...stepFailed().detail.data, error: "x".repeat(MAX_EVENT_BYTES) },
      context,
    );
    await expect(bus.put([runSucceeded(), huge])).rejects.toThrow(EventBusError);
    await bus.drain();
    expect(got).toEqual([]);
  });

  it("implements core's EventPublisher port", async () => {
    const bus = newBus();
    const got = collect(bus, "all", { source: ["tapestry.pipeline"] });
    await bus.publish([runSucceeded()]);
    await bus.drain();
    expect(got).toHaveLength(1);
  });
});
