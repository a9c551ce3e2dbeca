import type { TapestryConfig } from "../config";
import { ProvisioningNotFoundError } from "./errors";
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
}

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
  const record = await claimProvisioningRun(input, ctx);
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
  ctx: Pick<ProvisioningRequestContext, "runs" | "now">,
): Promise<ProvisioningRunRecord> {
  const last = await ctx.runs.last();
  if (!last) throw new ProvisioningNotFoundError();
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
