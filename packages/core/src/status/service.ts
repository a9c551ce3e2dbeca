import type { PipelineSpec, TapestryConfig } from "../config/schema";
import type { RunTrigger, TapestryEvent } from "../events";
import type { RunLedger, RunRecord } from "../ledger/port";
import { manualRunId } from "../pipeline/run-id";
import { PipelineNotFoundError, RunActiveError, RunNotFoundError } from "./errors";
import type { RunsQuery } from "./requests";
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
}

/** Starts a pipeline run (Step Functions StartExecution on AWS, the embedded ASL runner locally). */
export interface RunStarter {
  start(pipeline: PipelineSpec, runId: string, trigger: RunTrigger): Promise<void>;
}

export interface StatusOverview {
  readonly generatedAt: string;
  readonly pipelines: readonly PipelineStatusView[];
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
  readonly status: "accepted";
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
  return { generatedAt: now.toISOString(), pipelines };
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

/** GET /runs/{runId} */
export async function runDetails(ctx: StatusContext, runId: string): Promise<RunDetailView> {
  const run = await ctx.ledger.getRun(runId);
  if (!run) throw new RunNotFoundError(runId);
  return runDetail(run);
}

/** GET /runs/{runId}/events: in the order they occurred. */
export async function runEvents(ctx: StatusContext, runId: string): Promise<RunEventsView> {
  const run = await ctx.ledger.getRun(runId);
  if (!run) throw new RunNotFoundError(runId);
  return { runId, events: await ctx.ledger.listEvents(runId) };
}

/**
 * POST /pipelines/{name}/runs. Refused with RunActiveError when a run holds the pipeline's lock and
 * the overlap policy is `skip`; with `queue` the run is started and waits for the lock in the state
 * machine. The lock check is advisory: two requests racing past it are settled by the state
 * machine's own lock (the loser is recorded as skipped).
 */
export async function triggerManualRun(
  ctx: StatusContext & { readonly runs: RunStarter },
  name: string,
): Promise<TriggerAccepted> {
  const spec = findPipeline(ctx.config, name);
  const now = ctx.now();
  if (spec.overlap === "skip") {
    const lock = await ctx.ledger.getRunLock(spec.name, now.toISOString());
    if (lock) throw new RunActiveError(spec.name, lock.runId);
  }
  const runId = manualRunId(spec.name, now);
  await ctx.runs.start(spec, runId, { kind: "manual" });
  return { runId, pipeline: spec.name, status: "accepted" };
}
