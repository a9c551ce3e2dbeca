import type { PipelineSpec, TapestryConfig } from "../config/schema";
import { createEvent, type EventPublisher, type RunTrigger, type TapestryEvent } from "../events";
import type { RunLedger, RunRecord } from "../ledger/port";
import { queueEntry } from "../pipeline/queue";
import { manualRunId } from "../pipeline/run-id";
import { PipelineNotFoundError, RunActiveError, RunEndedError, RunNotFoundError } from "./errors";
import type { RunsQuery } from "./requests";
import { retriable, retriesOf } from "./retries";
import {
  describePipeline,
  type NextFireTime,
  nextScheduledAt,
  type PipelineDetailView,
  type PipelineStatusView,
  type PipelineView,
  pipelineDetail,
  pipelineStatus,
  type RunDetailView,
  type RunSummaryView,
  runDetail,
  runSummary,
} from "./views";

/** What the status queries read: the validated config, the ledger, the clock and the schedule calculator. */
export interface StatusContext {
  readonly config: TapestryConfig;
  readonly ledger: RunLedger;
  now(): Date;
  readonly nextFireTime: NextFireTime;
  /** the control plane's own health, where the deployment can tell it (embedded: its bus's dead letters) */
  readonly controlPlane?: () => ControlPlaneHealth;
}

export interface ControlPlaneHealth {
  /** events the ledger (or another consumer) could not take after every retry: the run records may be missing them */
  readonly deadLetters: number;
}

/**
 * Starts a pipeline run (Step Functions StartExecution on AWS, the embedded ASL runner locally).
 * A run id that was started before is refused with RunAlreadyStartedError.
 */
export interface RunStarter {
  start(pipeline: PipelineSpec, runId: string, trigger: RunTrigger): Promise<void>;
}

/** Starts and stops pipeline runs: what the status API's manual runs and cancels go through. */
export interface RunController extends RunStarter {
  /**
   * Stops the run's execution (Step Functions StopExecution on AWS, the runner's abort embedded);
   * the run reconciler then cancels its jobs, records its outcome and frees its lock. A run whose
   * execution has ended already is left as it is.
   */
  stop(runId: string): Promise<void>;
}

/**
 * What a request that changes a run writes: the event is recorded in the ledger at once (so the
 * next read sees it: a queued run is at its Location as soon as it is accepted), then published on
 * the bus (where the projector's copy of it changes nothing).
 */
export interface RunRequestContext extends StatusContext {
  readonly runs: RunController;
  readonly events: EventPublisher;
}

export interface StatusOverview {
  readonly generatedAt: string;
  readonly pipelines: readonly PipelineStatusView[];
  readonly controlPlane?: ControlPlaneHealth;
}

export interface RunsPageView {
  readonly pipeline: string;
  readonly runs: readonly RunSummaryView[];
  /** pass as `cursor` for the next (older) page; null on the last page */
  readonly nextCursor: string | null;
}

export interface RunEventsView {
  readonly runId: string;
  readonly events: readonly TapestryEvent[];
}

export interface TriggerAccepted {
  readonly runId: string;
  readonly pipeline: string;
  /** accepted: it starts now; queued: it waits for the run ahead of it (overlap: queue) */
  readonly status: "accepted" | "queued";
}

export interface CancelAccepted {
  readonly runId: string;
  readonly pipeline: string;
  readonly status: "cancelling";
}

/** How many recent runs are searched for a pipeline's last counted run when its newest runs were skipped. */
const SKIPPED_LOOKBACK = 20;

export function findPipeline(config: TapestryConfig, name: string): PipelineSpec {
  const spec = config.pipelines.find((p) => p.name === name);
  if (!spec) throw new PipelineNotFoundError(name);
  return spec;
}

/**
 * The run that decides a pipeline's health: its newest run, or, when that one was skipped (a
 * schedule fired while a run was going), the newest run that was not skipped.
 */
async function lastCountedRun(
  ledger: RunLedger,
  newest: RunRecord | undefined,
): Promise<RunRecord | undefined> {
  if (newest?.status !== "skipped") return newest;
  const page = await ledger.listRuns(newest.pipeline, { limit: SKIPPED_LOOKBACK });
  return page.runs.find((run) => run.status !== "skipped");
}

/** GET /status: every pipeline with its health, last run, next scheduled time and schedule. */
export async function statusOverview(ctx: StatusContext): Promise<StatusOverview> {
  const now = ctx.now();
  const specs = ctx.config.pipelines;
  const latest = await ctx.ledger.latestRuns(specs.map((p) => p.name));
  const pipelines = await Promise.all(
    specs.map(async (spec) => {
      const last = await lastCountedRun(ctx.ledger, latest.get(spec.name));
      return pipelineStatus(spec, last, nextScheduledAt(spec, now, ctx.nextFireTime));
    }),
  );
  const controlPlane = ctx.controlPlane?.();
  return { generatedAt: now.toISOString(), pipelines, ...(controlPlane ? { controlPlane } : {}) };
}

/** GET /pipelines */
export function listPipelines(config: TapestryConfig): { readonly pipelines: readonly PipelineView[] } {
  return { pipelines: config.pipelines.map(describePipeline) };
}

/** GET /pipelines/{name} */
export async function pipelineDetails(ctx: StatusContext, name: string): Promise<PipelineDetailView> {
  const spec = findPipeline(ctx.config, name);
  const latest = await ctx.ledger.latestRuns([spec.name]);
  const last = await lastCountedRun(ctx.ledger, latest.get(spec.name));
  return pipelineDetail(spec, last, nextScheduledAt(spec, ctx.now(), ctx.nextFireTime));
}

/** GET /pipelines/{name}/runs: newest first. A bad cursor surfaces as the ledger's InvalidCursorError. */
export async function pipelineRuns(
  ctx: StatusContext,
  name: string,
  query: RunsQuery,
): Promise<RunsPageView> {
  const spec = findPipeline(ctx.config, name);
  const page = await ctx.ledger.listRuns(
    spec.name,
    query.cursor === undefined ? { limit: query.limit } : { limit: query.limit, cursor: query.cursor },
  );
  return { pipeline: spec.name, runs: page.runs.map(runSummary), nextCursor: page.nextCursor ?? null };
}

/** GET /runs/{runId}: a run that did not succeed lists its retries. */
export async function runDetails(ctx: StatusContext, runId: string): Promise<RunDetailView> {
  const run = await ctx.ledger.getRun(runId);
  if (!run) throw new RunNotFoundError(runId);
  const retries = retriable(run) ? await retriesOf(ctx.ledger, run) : [];
  return runDetail(run, retries);
}

/** GET /runs/{runId}/events: in the order they occurred. */
export async function runEvents(ctx: StatusContext, runId: string): Promise<RunEventsView> {
  const run = await ctx.ledger.getRun(runId);
  if (!run) throw new RunNotFoundError(runId);
  return { runId, events: await ctx.ledger.listEvents(runId) };
}

/**
 * POST /pipelines/{name}/runs. Refused with RunActiveError when a run holds the pipeline's lock and
 * the overlap policy is `skip` (the check is advisory: two requests racing past it are settled by
 * the state machine's own lock, the loser recorded as skipped). With `queue`, a run that must wait
 * takes its place in the pipeline's queue now, in the order of the requests, and is recorded as
 * queued before the answer: its Location and the run lists show it at once.
 */
export async function triggerManualRun(ctx: RunRequestContext, name: string): Promise<TriggerAccepted> {
  return startRequestedRun(ctx, findPipeline(ctx.config, name), { kind: "manual" });
}

/**
 * Starts a run someone asked for (a manual run, a retry) under the pipeline's overlap rules: see
 * triggerManualRun.
 */
export async function startRequestedRun(
  ctx: RunRequestContext,
  spec: PipelineSpec,
  trigger: RunTrigger,
): Promise<TriggerAccepted> {
  const now = ctx.now();
  const at = now.toISOString();
  const lock = await ctx.ledger.getRunLock(spec.name, at);
  if (spec.overlap === "skip" && lock) throw new RunActiveError(spec.name, lock.runId);
  const runId = manualRunId(spec.name, now);
  let status: TriggerAccepted["status"] = "accepted";
  if (spec.overlap === "queue") {
    const ahead = lock?.runId ?? (await ctx.ledger.listQueuedRuns(spec.name, at))[0]?.runId;
    if (ahead !== undefined) {
      await ctx.ledger.enqueueRun({ pipeline: spec.name, runId, now: at, ...queueEntry(spec, now) });
      await ctx.events.publish([
        createEvent(
          "PipelineRunQueued",
          { runId, trigger, requestedAt: at, waitingFor: ahead },
          { pipeline: spec.name, now },
        ),
      ]);
      status = "queued";
    }
  }
  try {
    await ctx.runs.start(spec, runId, trigger);
  } catch (error) {
    // A queued run was announced; one that never started must not hold a place in the queue
    // nor stay "queued" in the ledger: it ends failed, then the caller hears why.
    if (status === "queued") await abandonQueuedRun(ctx, spec.name, runId, error);
    throw error;
  }
  return { runId, pipeline: spec.name, status };
}

async function abandonQueuedRun(ctx: RunRequestContext, pipeline: string, runId: string, error: unknown) {
  const now = ctx.now();
  await ctx.ledger.releaseRunLock({ pipeline, runId });
  await ctx.events.publish([
    createEvent(
      "PipelineRunFailed",
      {
        runId,
        endedAt: now.toISOString(),
        failedSteps: [],
        error: `the run could not be started: ${error instanceof Error ? error.message : String(error)}`,
        reason: "error",
      },
      { pipeline, now },
    ),
  ]);
}

/**
 * POST /runs/{runId}/cancel: records the request (PipelineRunCancelRequested, visible at once) and
 * stops the run's execution; the run reconciler cancels its jobs, frees its lock and records it
 * cancelled. A run that has ended is refused with RunEndedError (409).
 */
export async function cancelRun(
  ctx: RunRequestContext,
  runId: string,
  note?: string,
): Promise<CancelAccepted> {
  const run = await ctx.ledger.getRun(runId);
  if (!run) throw new RunNotFoundError(runId);
  if (run.status !== "running" && run.status !== "queued") throw new RunEndedError(runId, run.status);
  const now = ctx.now();
  await ctx.events.publish([
    createEvent(
      "PipelineRunCancelRequested",
      { runId, requestedAt: now.toISOString(), ...(note === undefined ? {} : { note }) },
      { pipeline: run.pipeline, now },
    ),
  ]);
  await ctx.runs.stop(runId);
  return { runId, pipeline: run.pipeline, status: "cancelling" };
}

/** An EventPublisher that records each event in the ledger before it publishes it (see RunRequestContext). */
export function recordingPublisher(ledger: Pick<RunLedger, "record">, bus: EventPublisher): EventPublisher {
  return {
    publish: async (events) => {
      for (const event of events) await ledger.record(event);
      await bus.publish(events);
    },
  };
}
