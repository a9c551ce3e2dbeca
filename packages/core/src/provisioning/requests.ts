import type { TapestryConfig } from "../config";
import { ProvisioningBusyError, ProvisioningNotFoundError } from "./errors";
import type { ProvisioningRunRecord } from "./run-record";
import type { ProvisioningRuns } from "./store";
import { provisionTimeoutSeconds } from "./task-errors";
import {
  claimProvisioningRun,
  type ProvisionInput,
  type ProvisioningTrigger,
  provisioningRunId,
} from "./tasks";

/**
 * What the status API's `/provisioning` routes do: start a run (POST) and answer the last one (GET).
 * The handler only maps these to HTTP.
 */

/** Starts a provision execution: Step Functions StartExecution on AWS, the embedded runner locally. */
export interface ProvisioningStarter {
  start(input: ProvisionInput): Promise<void>;
  /**
   * Whether the run's execution is still going (AWS: DescribeExecution; embedded: the runner). A
   * run whose execution ended without its outcome (stopped by hand, its failure path failed) is
   * then recorded failed and its lock freed, rather than holding both until the lock expires.
   */
  going?(runId: string): Promise<boolean>;
}

/** A run this young may not have its execution yet (claimed, not started): never judged abandoned. */
export const PROVISIONING_START_GRACE_MS = 60_000;

export interface ProvisioningRequestContext {
  readonly config: TapestryConfig;
  readonly runs: ProvisioningRuns;
  readonly starter: ProvisioningStarter;
  now(): Date;
}

export interface ProvisioningAccepted {
  readonly runId: string;
  readonly status: "accepted";
}

/**
 * POST /provisioning: the run takes the stage's provisioning lock (409 ProvisioningBusyError while
 * another runs; 409 NothingToProvisionError for a config with nothing to provision), then its
 * execution starts. An execution that cannot start leaves a failed record and a free lock.
 */
export async function requestProvisioning(
  ctx: ProvisioningRequestContext,
  trigger: ProvisioningTrigger = "api",
): Promise<ProvisioningAccepted> {
  const input = { runId: provisioningRunId(ctx.now()), trigger };
  let record: ProvisioningRunRecord;
  try {
    record = await claimProvisioningRun(input, ctx);
  } catch (error) {
    // the lock's holder may be a run whose execution ended without its outcome: close it, try again
    if (!(error instanceof ProvisioningBusyError) || !(await closeIfAbandoned(ctx, error.activeRunId)))
      throw error;
    record = await claimProvisioningRun(input, ctx);
  }
  try {
    await ctx.starter.start(input);
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    await ctx.runs.save({
      ...record,
      status: "failed",
      endedAt: ctx.now().toISOString(),
      failure: {
        step: "validate",
        errorName: name,
        error: `the provision execution could not start: ${message}`,
      },
    });
    await ctx.runs.release(input.runId);
    throw error;
  }
  return { runId: input.runId, status: "accepted" };
}

/** GET /provisioning: the last run with its steps (404 ProvisioningNotFoundError before the first). */
export async function lastProvisioning(
  ctx: Pick<ProvisioningRequestContext, "runs" | "now"> & { readonly starter?: ProvisioningStarter },
): Promise<ProvisioningRunRecord> {
  const last = await ctx.runs.last();
  if (!last) throw new ProvisioningNotFoundError();
  if (last.status === "running" && ctx.starter && (await abandoned(ctx, last))) {
    // answered as it ended; recorded so by the next POST (a read changes nothing)
    return endedOutside(last, "ProvisioningAborted", ABANDONED);
  }
  const deadline = Date.parse(last.startedAt) + provisionTimeoutSeconds() * 1000;
  return last.status === "running" && ctx.now().getTime() > deadline
    ? endedOutside(
        last,
        "ProvisioningTimedOut",
        "the run outlived its execution's timeout without an outcome",
      )
    : last;
}

/**
 * A run whose execution ended outside the state machine's paths (timed out; embedded, its process
 * died) as the record shows it: failed at the first step that had not finished.
 */
export function endedOutside(
  record: ProvisioningRunRecord,
  errorName: string,
  error: string,
  endedAt?: string,
): ProvisioningRunRecord {
  const step = record.steps.find((s) => s.status === "pending")?.name ?? "record-outputs";
  return {
    ...record,
    status: "failed",
    ...(endedAt ? { endedAt } : {}),
    failure: { step, errorName, error },
    steps: record.steps.map((s) => (s.name === step ? { ...s, status: "failed", summary: error } : s)),
  };
}

const ABANDONED =
  "its execution ended without recording an outcome (stopped by hand, or its failure could not be published)";

async function abandoned(
  ctx: Pick<ProvisioningRequestContext, "now"> & { readonly starter?: ProvisioningStarter },
  record: ProvisioningRunRecord,
): Promise<boolean> {
  if (!ctx.starter?.going) return false;
  if (ctx.now().getTime() - Date.parse(record.startedAt) < PROVISIONING_START_GRACE_MS) return false;
  return !(await ctx.starter.going(record.runId));
}

/** Records a running run whose execution has ended as failed, and frees its lock; false when it is going. */
async function closeIfAbandoned(ctx: ProvisioningRequestContext, runId: string): Promise<boolean> {
  const record = await ctx.runs.getRun(runId);
  if (record?.status !== "running" || !(await abandoned(ctx, record))) return false;
  await ctx.runs.save(endedOutside(record, "ProvisioningAborted", ABANDONED, ctx.now().toISOString()));
  await ctx.runs.release(runId);
  return true;
}
