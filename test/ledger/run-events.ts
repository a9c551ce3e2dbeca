import { createEvent, type EventData, type TapestryEvent } from "@tapestry/core/events";
import type { RunRecord } from "@tapestry/core/ledger";
import { scheduledRunId } from "@tapestry/core/pipeline";

/**
 * Events of whole runs, built with createEvent at fixed times, for the ledger suite and the
 * projection tests. Within one millisecond, createEvent's ULIDs increase in creation order, so
 * the list each builder returns is already in (occurredAt, id) order.
 */

export const PIPELINE = "rain-shield";
export const OTHER_PIPELINE = "churn-watch";

/** 2026-03-01T06:00:00Z */
export const T0 = Date.parse("2026-03-01T06:00:00.000Z");

/** T0 + `seconds`, as a Date */
export function at(seconds: number, base = T0): Date {
  return new Date(base + seconds * 1_000);
}

export function iso(seconds: number, base = T0): string {
  return at(seconds, base).toISOString();
}

/** The run id a scheduled fire at `start` gets (pipeline + UTC stamp). */
export const runIdAt = scheduledRunId;

export const STAGES = [
  {
    name: "ingest",
    steps: [
      { name: "zoom-webinar-registrants", tool: "airbyte" as const },
      { name: "salesforce-contacts", tool: "airbyte" as const },
    ],
  },
  { name: "model", steps: [{ name: "email-model", tool: "dbt-cloud" as const }] },
  { name: "activate", steps: [{ name: "mailchimp-audience", tool: "grouparoo" as const }] },
];

/** A run's id and its events, in (occurredAt, id) order. */
export interface RunEvents {
  readonly runId: string;
  readonly events: TapestryEvent[];
}

/** A step of a run, as its events name it. */
export interface StepOfRun {
  readonly stage: string;
  readonly step: string;
  readonly tool: EventData<"StepStarted">["tool"];
  readonly externalId: string;
  readonly url?: string;
}

type Timing = "startedAt" | "endedAt" | "durationMs";
type StepOutcome<T extends "StepSucceeded" | "StepFailed"> = Omit<
  EventData<T>,
  keyof StepOfRun | "runId" | Timing
>;

/**
 * The events of one step of `runId`, at seconds from `base`: each carries the run's and the step's
 * names, its times and its duration (from its start to its end).
 */
export function stepEvents(pipeline: string, runId: string, base: number, of: StepOfRun) {
  const ctx = (seconds: number) => ({ pipeline, now: at(seconds, base) });
  const t = (seconds: number) => iso(seconds, base);
  const { url, ...names } = of;
  const step = { runId, ...names, ...(url === undefined ? {} : { url }) };
  const timing = (started: number, ended: number) => ({
    startedAt: t(started),
    endedAt: t(ended),
    durationMs: (ended - started) * 1_000,
  });
  return {
    started: (started: number, deadline: number, attached = false) =>
      createEvent(
        "StepStarted",
        { ...step, attached, startedAt: t(started), deadline: t(deadline) },
        ctx(started),
      ),
    succeeded: (started: number, ended: number, outcome: StepOutcome<"StepSucceeded">) =>
      createEvent("StepSucceeded", { ...step, ...outcome, ...timing(started, ended) }, ctx(ended)),
    failed: (started: number, ended: number, outcome: StepOutcome<"StepFailed">) =>
      createEvent("StepFailed", { ...step, ...outcome, ...timing(started, ended) }, ctx(ended)),
  };
}

/** A scheduled run in which every step succeeds: 10 events over 201 seconds from `start`. */
export function successfulRun(pipeline: string, start: Date): RunEvents {
  const runId = runIdAt(pipeline, start);
  const base = start.getTime();
  const ctx = (seconds: number) => ({ pipeline, now: at(seconds, base) });
  const t = (seconds: number) => iso(seconds, base);
  const step = (of: StepOfRun) => stepEvents(pipeline, runId, base, of);
  const zoom = step({
    stage: "ingest",
    step: "zoom-webinar-registrants",
    tool: "airbyte",
    externalId: "job-101",
    url: "https://airbyte.example/jobs/101",
  });
  const salesforce = step({
    stage: "ingest",
    step: "salesforce-contacts",
    tool: "airbyte",
    externalId: "job-102",
    url: "https://airbyte.example/jobs/102",
  });
  const email = step({
    stage: "model",
    step: "email-model",
    tool: "dbt-cloud",
    externalId: "70403103",
    url: "https://cloud.getdbt.com/runs/70403103",
  });
  const mailchimp = step({
    stage: "activate",
    step: "mailchimp-audience",
    tool: "grouparoo",
    externalId: "run_abc",
  });
  const events: TapestryEvent[] = [
    createEvent(
      "PipelineRunStarted",
      { runId, trigger: { kind: "schedule", scheduledTime: t(0) }, stages: STAGES },
      ctx(0),
    ),
    zoom.started(1, 3601),
    salesforce.started(1, 3601, true),
    salesforce.succeeded(1, 60, { toolStatus: "succeeded", rows: 1_204, bytes: 88_000 }),
    zoom.succeeded(1, 90, { toolStatus: "succeeded", rows: 310, bytes: 21_000 }),
    email.started(91, 1891),
    email.succeeded(91, 150, { toolStatus: "10" }),
    mailchimp.started(151, 1951),
    mailchimp.succeeded(151, 200, {
      toolStatus: "complete",
      rows: 1_514,
      warning: "3 imports failed (allowed)",
    }),
    createEvent(
      "PipelineRunSucceeded",
      { runId, startedAt: t(0), endedAt: t(201), durationMs: 201_000, rows: 3_028 },
      ctx(201),
    ),
  ];
  return { runId, events };
}

/** A manual run whose second ingest step fails its minRows guard: 6 events over 62 seconds. */
export function failedRun(pipeline: string, start: Date): RunEvents {
  const runId = runIdAt(pipeline, start);
  const base = start.getTime();
  const ctx = (seconds: number) => ({ pipeline, now: at(seconds, base) });
  const t = (seconds: number) => iso(seconds, base);
  const zoom = stepEvents(pipeline, runId, base, {
    stage: "ingest",
    step: "zoom-webinar-registrants",
    tool: "airbyte",
    externalId: "job-201",
  });
  const salesforce = stepEvents(pipeline, runId, base, {
    stage: "ingest",
    step: "salesforce-contacts",
    tool: "airbyte",
    externalId: "job-202",
  });
  const events: TapestryEvent[] = [
    createEvent("PipelineRunStarted", { runId, trigger: { kind: "manual" }, stages: STAGES }, ctx(0)),
    zoom.started(1, 3601),
    salesforce.started(1, 3601),
    zoom.succeeded(1, 40, { toolStatus: "succeeded", rows: 12 }),
    salesforce.failed(1, 61, {
      toolStatus: "succeeded",
      reason: "min-rows",
      error: "moved 0 rows, fewer than the 1 required",
      rows: 0,
    }),
    createEvent(
      "PipelineRunFailed",
      {
        runId,
        startedAt: t(0),
        endedAt: t(62),
        durationMs: 62_000,
        failedSteps: ["salesforce-contacts"],
        error: "salesforce-contacts: moved 0 rows, fewer than the 1 required",
      },
      ctx(62),
    ),
  ];
  return { runId, events };
}

/** A scheduled fire skipped because `activeRunId` was still going: one event. */
export function skippedRun(pipeline: string, start: Date, activeRunId: string): RunEvents {
  const runId = runIdAt(pipeline, start);
  return {
    runId,
    events: [
      createEvent(
        "PipelineRunSkipped",
        {
          runId,
          trigger: { kind: "schedule", scheduledTime: start.toISOString() },
          reason: "overlap",
          activeRunId,
        },
        { pipeline, now: start },
      ),
    ],
  };
}

/**
 * A scheduled fire queued behind `activeRunId` (overlap: queue), then cancelled on request while
 * it waited: queued, cancel requested, cancelled (no step ever started).
 */
export function cancelledQueuedRun(pipeline: string, start: Date, activeRunId: string): RunEvents {
  const runId = runIdAt(pipeline, start);
  const ctx = (seconds: number) => ({ pipeline, now: at(seconds, start.getTime()) });
  const trigger = { kind: "schedule" as const, scheduledTime: start.toISOString() };
  return {
    runId,
    events: [
      createEvent(
        "PipelineRunQueued",
        { runId, trigger, requestedAt: start.toISOString(), waitingFor: activeRunId },
        ctx(0),
      ),
      createEvent("PipelineRunCancelRequested", { runId, requestedAt: iso(30, start.getTime()) }, ctx(30)),
      createEvent(
        "PipelineRunCancelled",
        { runId, endedAt: iso(31, start.getTime()), cancelledSteps: [] },
        ctx(31),
      ),
    ],
  };
}

/** A deterministic pseudo-random generator (mulberry32), for shuffles that replay. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** The record `successfulRun(pipeline, start)` projects to, written out by hand. */
export function successfulRecord(pipeline: string, start: Date): RunRecord {
  const base = start.getTime();
  const t = (seconds: number) => iso(seconds, base);
  return {
    runId: runIdAt(pipeline, start),
    pipeline,
    status: "succeeded",
    trigger: { kind: "schedule", scheduledTime: t(0) },
    startedAt: t(0),
    endedAt: t(201),
    durationMs: 201_000,
    rows: 3_028,
    stages: STAGES,
    steps: [
      {
        stage: "ingest",
        step: "zoom-webinar-registrants",
        tool: "airbyte",
        status: "succeeded",
        externalId: "job-101",
        url: "https://airbyte.example/jobs/101",
        attached: false,
        toolStatus: "succeeded",
        rows: 310,
        bytes: 21_000,
        startedAt: t(1),
        endedAt: t(90),
        durationMs: 89_000,
      },
      {
        stage: "ingest",
        step: "salesforce-contacts",
        tool: "airbyte",
        status: "succeeded",
        externalId: "job-102",
        url: "https://airbyte.example/jobs/102",
        attached: true,
        toolStatus: "succeeded",
        rows: 1_204,
        bytes: 88_000,
        startedAt: t(1),
        endedAt: t(60),
        durationMs: 59_000,
      },
      {
        stage: "model",
        step: "email-model",
        tool: "dbt-cloud",
        status: "succeeded",
        externalId: "70403103",
        url: "https://cloud.getdbt.com/runs/70403103",
        attached: false,
        toolStatus: "10",
        startedAt: t(91),
        endedAt: t(150),
        durationMs: 59_000,
      },
      {
        stage: "activate",
        step: "mailchimp-audience",
        tool: "grouparoo",
        status: "succeeded",
        externalId: "run_abc",
        attached: false,
        toolStatus: "complete",
        rows: 1_514,
        startedAt: t(151),
        endedAt: t(200),
        durationMs: 49_000,
        warning: "3 imports failed (allowed)",
      },
    ],
    updatedAt: t(201),
  };
}
