import type { ToolName } from "../errors";
import type { RunTrigger, StepFailureReason, TapestryEvent } from "../events";

export type RunStatus = "running" | "succeeded" | "failed" | "skipped";
export type StepStatus = "running" | "succeeded" | "failed";

export interface StepRecord {
  readonly stage: string;
  readonly step: string;
  readonly tool: ToolName;
  readonly status: StepStatus;
  readonly externalId?: string;
  readonly url?: string;
  readonly attached?: boolean;
  readonly toolStatus?: string;
  readonly rows?: number;
  readonly bytes?: number;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  readonly reason?: StepFailureReason;
  readonly error?: string;
  readonly warning?: string;
}

/** A stage of the run's plan, as PipelineRunStarted announced it: its steps in the order of the config. */
export interface RunPlanStage {
  readonly name: string;
  readonly steps: readonly { readonly name: string; readonly tool: ToolName }[];
}

export interface RunRecord {
  readonly runId: string;
  readonly pipeline: string;
  readonly status: RunStatus;
  readonly trigger?: RunTrigger;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  readonly rows?: number;
  readonly error?: string;
  readonly failedSteps?: readonly string[];
  /** for skipped runs: the run that was still going */
  readonly activeRunId?: string;
  /**
   * The plan from PipelineRunStarted (absent until it is applied): what `steps` is ordered by, and
   * which steps have not started yet (they appear in `steps` only from their StepStarted on).
   */
  readonly stages?: readonly RunPlanStage[];
  /** the steps that started (or ended), in the pipeline's stage order, then step order */
  readonly steps: readonly StepRecord[];
  /** the occurredAt of the newest event applied */
  readonly updatedAt: string;
}

/** A run asking for its pipeline's run lock until `expiresAt`, at `now` (both ISO 8601). */
export interface RunLockRequest {
  readonly pipeline: string;
  readonly runId: string;
  readonly expiresAt: string;
  readonly now: string;
}

export type LockResult = { readonly acquired: true } | { readonly acquired: false; readonly heldBy: string };

export interface RunPage {
  readonly runs: readonly RunRecord[];
  /** opaque; absent on the last page */
  readonly nextCursor?: string;
}

/**
 * The run ledger: the projection of events into runs and steps, the events themselves, and the
 * per-pipeline run lock. SQLite when embedded, DynamoDB on AWS; both pass test/ledger's suite.
 */
export interface RunLedger {
  /** Takes the pipeline's run lock for `runId` until `expiresAt` (ISO). Re-entrant for the same runId; an expired lock is taken over. */
  acquireRunLock(input: RunLockRequest): Promise<LockResult>;
  /** Who holds the pipeline's run lock now (an expired lock counts as free). */
  getRunLock(pipeline: string, now: string): Promise<{ runId: string; expiresAt: string } | undefined>;
  /** Releases the lock if `runId` holds it; a no-op otherwise. */
  releaseRunLock(input: { pipeline: string; runId: string }): Promise<void>;
  /** Applies an event. Idempotent (the same event id twice changes nothing) and order-tolerant. */
  record(event: TapestryEvent): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Newest first: by the time of each run's earliest event. */
  listRuns(pipeline: string, page: { limit: number; cursor?: string }): Promise<RunPage>;
  /** The newest run of each pipeline that has one. */
  latestRuns(pipelines: readonly string[]): Promise<ReadonlyMap<string, RunRecord>>;
  /** Every event of a run, in the order they occurred. */
  listEvents(runId: string): Promise<readonly TapestryEvent[]>;
}
