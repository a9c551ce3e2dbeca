/**
 * The run lifecycle outside the happy path, on the embedded control plane (the real ASL on
 * aws-local-stepfunctions, the real handlers, ledger, bus and sandboxes): cancel, stop, queue,
 * restart after a dead process, one run path, dead letters.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEvent } from "@tapestry/core/events";
import { formatDeadLetter, REPO_ROOT, startControlPlane } from "@tapestry/local";
import { SqliteRunLedger } from "@tapestry/local/ledger";
import { parseScenario } from "@tapestry/local/sandboxes";
import { afterEach, describe, expect, it } from "vitest";
import { FAST_TOOLS, kickstartConfig, type Plane, startPlane } from "./harness";

const PIPELINE = "rain-shield-audience";
const LONG_INGEST = { airbyte: { defaults: { queuedMs: 20, durationMs: 20_000 } } };

const planes: Plane[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function plane(...args: Parameters<typeof startPlane>): Promise<Plane> {
  const p = await startPlane(...args);
  planes.push(p);
  return p;
}

/** Polls until `check` holds (or fails the test after `ms`): for states reached asynchronously. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const post = (p: Plane, path: string) =>
  fetch(`${p.apiUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" } });

async function ingestRunning(p: Plane, runId: string): Promise<void> {
  await until("both ingest steps run", async () => {
    const run = await p.ledger.getRun(runId);
    return run?.steps.filter((s) => s.status === "running" && s.externalId).length === 2;
  });
}

describe("cancel", () => {
  it("a run cancelled mid-stage ends cancelled: its jobs cancelled, its lock free, no later stage started", async () => {
    const p = await plane(LONG_INGEST);
    const { runId } = await p.startRun(PIPELINE, { kind: "manual" });
    await ingestRunning(p, runId);

    const reply = await post(p, `/runs/${runId}/cancel`);
    expect(reply.status).toBe(202);
    expect(await reply.json()).toEqual({ runId, pipeline: PIPELINE, status: "cancelling" });
    await p.idle();

    const run = await p.ledger.getRun(runId);
    expect(run).toMatchObject({ status: "cancelled", reconciled: true });
    expect([...(run?.cancelledSteps ?? [])].sort()).toEqual([
      "salesforce-contacts",
      "zoom-webinar-registrants",
    ]);
    expect(run?.steps.map((s) => [s.step, s.status, s.reason])).toEqual([
      ["zoom-webinar-registrants", "failed", "aborted"],
      ["salesforce-contacts", "failed", "aborted"],
    ]);
    expect(p.sandboxes.airbyte.jobs().map((j) => j.status)).toEqual(["cancelled", "cancelled"]);
    expect(p.sandboxes.dbtCloud.counters.triggers).toBe(0);
    expect(p.sandboxes.grouparoo.counters.triggers).toBe(0);
    expect(await p.ledger.getRunLock(PIPELINE, new Date().toISOString())).toBeUndefined();
    // cancelling it again: it has ended
    expect((await post(p, `/runs/${runId}/cancel`)).status).toBe(409);
  });

  it("a job whose start was still in flight when the run ended is cancelled once announced, and its step closed", async () => {
    // the first trigger answers 4.5 s late: longer than the 3 s the reconciler waits for tasks in flight
    const p = await plane({
      airbyte: {
        ...LONG_INGEST.airbyte,
        rules: [{ on: "createJob", calls: [1], process: true, latencyMs: 4_500 }],
      },
    });
    const { runId, execution } = await p.startRun(PIPELINE, { kind: "manual" });
    await until("one ingest step runs, the other's trigger hangs", async () => {
      const run = await p.ledger.getRun(runId);
      return run?.steps.filter((s) => s.status === "running").length === 1;
    });

    expect((await post(p, `/runs/${runId}/cancel`)).status).toBe(202);
    await until("the run is reconciled", async () => (await p.ledger.getRun(runId))?.status === "cancelled");
    await execution?.settled();
    await p.idle();

    // both jobs were cancelled: the late one by the late-step rule, after the reconciler had run
    expect(p.sandboxes.airbyte.jobs().map((j) => j.status)).toEqual(["cancelled", "cancelled"]);
    const steps = (await p.ledger.getRun(runId))?.steps ?? [];
    expect(steps.map((s) => [s.status, s.reason, s.inferred])).toEqual([
      ["failed", "aborted", undefined],
      ["failed", "aborted", undefined],
    ]);
    expect(steps.map((s) => s.error).join("\n")).toContain("was over when the step's job started");
  });

  it("a queued run cancelled while it waits never starts, and leaves the queue", async () => {
    const config = kickstartConfig((c) => {
      const pipeline = c.pipelines[0];
      if (pipeline) pipeline.overlap = "queue";
    });
    const p = await plane(LONG_INGEST, { config });
    const first = await p.startRun(PIPELINE, { kind: "manual" });
    await ingestRunning(p, first.runId);
    const queued = await p.startRun(PIPELINE, { kind: "manual" });
    expect(queued.status).toBe("queued");

    expect((await post(p, `/runs/${queued.runId}/cancel`)).status).toBe(202);
    await until(
      "the queued run is cancelled",
      async () => (await p.ledger.getRun(queued.runId))?.status === "cancelled",
    );
    expect(await p.ledger.listQueuedRuns(PIPELINE, new Date().toISOString())).toEqual([]);
    expect((await p.ledger.getRun(queued.runId))?.steps).toEqual([]);
    // the first run is untouched
    expect((await p.ledger.getRun(first.runId))?.status).toBe("running");
    expect(p.sandboxes.airbyte.counters.triggers).toBe(2);
  });
});

describe("the queue (overlap: queue)", () => {
  it("starts queued runs in the order they were asked for, each visible at once at its Location", async () => {
    const config = kickstartConfig((c) => {
      const pipeline = c.pipelines[0];
      if (pipeline) pipeline.overlap = "queue";
    });
    const p = await plane({ airbyte: { defaults: { queuedMs: 20, durationMs: 500 } } }, { config });
    const first = await p.startRun(PIPELINE, { kind: "manual" });
    await until(
      "the first run holds the lock",
      async () => (await p.ledger.getRunLock(PIPELINE, new Date().toISOString())) !== undefined,
    );

    const queued: string[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await post(p, `/pipelines/${PIPELINE}/runs`);
      expect(reply.status).toBe(202);
      const body = (await reply.json()) as { runId: string; status: string };
      expect(body.status).toBe("queued");
      // visible at once, before its execution has asked for the lock
      const at = await fetch(`${p.apiUrl}${reply.headers.get("location")}`);
      expect(at.status).toBe(200);
      expect(await at.json()).toMatchObject({
        runId: body.runId,
        status: "queued",
        activeRunId: first.runId,
      });
      queued.push(body.runId);
    }
    const list = (await (await fetch(`${p.apiUrl}/pipelines/${PIPELINE}/runs`)).json()) as {
      runs: { runId: string; status: string }[];
    };
    expect(list.runs.filter((r) => r.status === "queued").map((r) => r.runId)).toEqual([...queued].reverse());

    await p.idle();
    const runs = await Promise.all([first.runId, ...queued].map((id) => p.ledger.getRun(id)));
    expect(runs.map((r) => r?.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
    for (let i = 1; i < runs.length; i++) {
      // each started after the one asked for before it had ended
      expect(Date.parse(runs[i]?.startedAt ?? "")).toBeGreaterThanOrEqual(
        Date.parse(runs[i - 1]?.endedAt ?? ""),
      );
    }
  });
});

describe("stop", () => {
  it("stopping the control plane mid-run enters no new state: its jobs cancelled, the run failed (aborted), its lock free", async () => {
    const p = await plane(LONG_INGEST);
    const { runId } = await p.startRun(PIPELINE, { kind: "manual" });
    await ingestRunning(p, runId);
    const triggers = () =>
      p.sandboxes.airbyte.counters.triggers +
      p.sandboxes.dbtCloud.counters.triggers +
      p.sandboxes.grouparoo.counters.triggers;
    const before = triggers();
    const jobs = p.sandboxes.airbyte;

    const stopped = await p.stop("the test stopped it");
    expect(
      stopped.map((r) => [r.runId, r.outcome, [...r.cancelled].sort(), r.ended, r.notCancelled]),
    ).toEqual([[runId, "failed", ["salesforce-contacts", "zoom-webinar-registrants"], [], []]]);
    expect(triggers()).toBe(before);
    expect(jobs.jobs().map((j) => j.status)).toEqual(["cancelled", "cancelled"]);
    const failed = p.events.find((e) => e["detail-type"] === "PipelineRunFailed");
    expect(failed?.detail.data).toMatchObject({ runId, reason: "aborted", reconciled: true });
    expect(failed?.detail.data).toMatchObject({ error: expect.stringContaining("the test stopped it") });
  });
});

describe("stop, when a tool does not answer its cancel", () => {
  it("keeps to the stop's one deadline: the cancel is given up within it and reported, the run still ends failed", async () => {
    const p = await plane({
      airbyte: { ...LONG_INGEST.airbyte, rules: [{ on: "cancelJob", from: 1, latencyMs: 60_000 }] },
    });
    const { runId } = await p.startRun(PIPELINE, { kind: "manual" });
    await ingestRunning(p, runId);

    const [stopped] = await p.stop("the test stopped it");

    // the cancels had what was left of the 4 s the stop may take, not the 20 s a cancel gets otherwise
    const waited = (stopped?.notCancelled ?? []).map((n) => {
      // the HTTP client's deadline ("timed out after 3997 ms") or the reconciler's ("no answer within 3.998 s")
      const [, amount, unit] = /(?:timed out after|no answer within) ([\d.]+) (s|ms)\b/.exec(n.why) ?? [];
      return Number(amount) * (unit === "s" ? 1000 : 1);
    });
    expect(waited).toHaveLength(2);
    for (const ms of waited) expect(ms).toBeLessThanOrEqual(4_000);
    expect(stopped).toMatchObject({ runId, outcome: "failed", cancelled: [] });
  });
});

describe("a restart after the control plane died", () => {
  it("ends the runs the dead process left and frees their locks at once, before anything else runs", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "tapestry-restart-"));
    dirs.push(stateDir);
    const runId = `${PIPELINE}-20261121T110000Z`;
    const now = new Date();
    // what a killed `tapestry local` leaves: a running run with a started step, and its lock
    const ledger = SqliteRunLedger.open(join(stateDir, "ledger.sqlite"));
    const context = { pipeline: PIPELINE, now };
    await ledger.record(
      createEvent(
        "PipelineRunStarted",
        { runId, trigger: { kind: "schedule", scheduledTime: "2026-11-21T11:00:00.000Z" }, stages: [] },
        context,
      ),
    );
    await ledger.record(
      createEvent(
        "StepStarted",
        {
          runId,
          stage: "ingest",
          step: "zoom-webinar-registrants",
          tool: "airbyte",
          externalId: "4242",
          attached: false,
          startedAt: now.toISOString(),
          deadline: new Date(now.getTime() + 3_600_000).toISOString(),
        },
        context,
      ),
    );
    await ledger.acquireRunLock({
      pipeline: PIPELINE,
      runId,
      expiresAt: new Date(now.getTime() + 165 * 60_000).toISOString(),
      now: now.toISOString(),
      owner: "local:999999:dead-session",
    });
    ledger.close();

    const p = await startControlPlane({
      config: kickstartConfig(),
      repoRoot: REPO_ROOT,
      stateDir,
      port: 0,
      scenario: parseScenario(FAST_TOOLS),
      schedule: false,
      settings: { queueWaitSeconds: 1 },
      cancelTimeoutMs: 2_000,
      waitTimeOverrides: { WaitForJob: 25, WaitForRunLock: 25 },
    });
    try {
      expect(p.leftovers.map((r) => [r.runId, r.outcome])).toEqual([[runId, "failed"]]);
      const run = await p.ledger.getRun(runId);
      expect(run).toMatchObject({ status: "failed", reason: "aborted", reconciled: true });
      expect(run?.error).toContain("process 999999");
      expect(run?.steps.map((s) => [s.step, s.status, s.reason])).toEqual([
        ["zoom-webinar-registrants", "failed", "aborted"],
      ]);
      // freed at once, not after its 165 minutes: the next manual run starts and succeeds
      expect(await p.ledger.getRunLock(PIPELINE, new Date().toISOString())).toBeUndefined();
      const next = await p.startRun(PIPELINE, { kind: "manual" });
      await p.idle();
      expect((await p.ledger.getRun(next.runId))?.status).toBe("succeeded");
    } finally {
      await p.stop();
    }
  });
});

describe("one path for runs", () => {
  it("a manual start while a run of a skip pipeline is going answers 409 from core's path; a duplicate run id is refused", async () => {
    const p = await plane(LONG_INGEST);
    const first = await p.startRun(PIPELINE, { kind: "manual" });
    await ingestRunning(p, first.runId);

    const reply = await post(p, `/pipelines/${PIPELINE}/runs`);
    expect(reply.status).toBe(409);
    expect(await reply.json()).toMatchObject({
      type: "urn:tapestry:problem:run-active",
      activeRunId: first.runId,
    });
    await expect(
      p.runs.start(kickstartConfig().pipelines[0] as never, first.runId, { kind: "manual" }),
    ).rejects.toMatchObject({ name: "RunAlreadyStartedError", runId: first.runId });
  });

  it("an event the ledger cannot take for good is printed and counted in /status", async () => {
    const printed: string[] = [];
    const p = await plane(
      {},
      { onDeadLetter: (letter) => printed.push(formatDeadLetter(letter, { color: false })) },
    );
    const record = p.ledger.record.bind(p.ledger);
    p.ledger.record = async (event) => {
      if (event["detail-type"] === "PipelineRunStarted") throw new Error("disk full");
      return record(event);
    };
    await p.startRun(PIPELINE, { kind: "manual" });
    await p.idle();
    expect(p.deadLetters().map((d) => [d.subscription, d.event["detail-type"], d.errorMessage])).toEqual([
      ["ledger-projector", "PipelineRunStarted", "disk full"],
    ]);
    const status = (await (await fetch(`${p.apiUrl}/status`)).json()) as {
      controlPlane?: { deadLetters: number };
    };
    expect(status.controlPlane).toEqual({ deadLetters: 1 });
    // the console line `tapestry local` prints for it
    expect(printed).toEqual([
      expect.stringMatching(
        /✘ ledger-projector could not take PipelineRunStarted of run rain-shield-audience-m\w+ after 4 attempts: disk full \(counted in \/status as controlPlane\.deadLetters\)$/,
      ),
    ]);
  });
});

describe("nextScheduledAt on the embedded status API", () => {
  it("is the scheduler's next fire for a rate() schedule: the next whole interval, not now + rate", async () => {
    const config = kickstartConfig((c) => {
      const pipeline = c.pipelines[0];
      if (pipeline) pipeline.schedule = { expression: "rate(1 hour)", timezone: "UTC", enabled: true };
    });
    const p = await plane({}, { config });
    const status = (await (await fetch(`${p.apiUrl}/status`)).json()) as {
      generatedAt: string;
      pipelines: { name: string; nextScheduledAt: string }[];
    };
    const next = Date.parse(status.pipelines[0]?.nextScheduledAt ?? "");
    const answeredAt = Date.parse(status.generatedAt);
    // on the hour (rate() fires on whole intervals since 1970-01-01T00:00Z), within the hour after
    // the answer's own time
    expect(next % 3_600_000).toBe(0);
    expect(next).toBeGreaterThan(answeredAt);
    expect(next - answeredAt).toBeLessThanOrEqual(3_600_000);
  });
});
