import type { ToolName } from "../errors";
import type { RunFailureReason, RunTrigger, StepFailureReason, TapestryEvent } from "../events";

/** queued: waiting its turn for the run lock (overlap: queue); running: holds it; the rest are outcomes. */
export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled" | "skipped";
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
  /**
   * true when no event of the step stated its outcome: its run ended (failed, cancelled) while the
   * step was going, so the step reads failed with reason `aborted`. A later event of the step
   * itself replaces this outcome.
   */
  readonly inferred?: boolean;
  /** the outcome was stated by the run reconciler (the run's execution ended outside its paths) */
  readonly reconciled?: true;
}

/** A stage of the run's plan, as PipelineRunStarted announced it: its steps in the order of the config. */
export interface RunPlanStage {
  readonly name: string;
  readonly steps: readonly { readonly name: string; readonly tool: ToolName }[];
  /** a retry's stage before its fromStage: not run in this run, it succeeded in `succeededIn` */
  readonly skipped?: { readonly reason: string; readonly succeededIn: string };
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
  /** failed runs: why (absent for runs recorded by earlier releases) */
  readonly reason?: RunFailureReason;
  /** cancelled runs: the steps whose jobs were cancelled */
  readonly cancelledSteps?: readonly string[];
  /** for skipped runs: the run that was still going; for queued runs: the run it waits for */
  readonly activeRunId?: string;
  /** queued runs (and runs that were queued): when the run was asked for, its place in the queue */
  readonly queuedAt?: string;
  /** when someone asked to cancel the run */
  readonly cancelRequestedAt?: string;
  /** the outcome was stated by the run reconciler (the run's execution ended outside its paths) */
  readonly reconciled?: true;
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
  /**
   * Who runs the run: embedded, the control plane's session (`local:<pid>:<session id>`), so that
   * a restart can tell the locks of a process that is gone; absent on AWS (the execution is).
   */
  readonly owner?: string;
  /**
   * Pipelines whose overlap policy is `queue`: the run takes its place in the pipeline's queue (if
   * it is not in it already) and the lock goes to the queued run asked for first. Entries past
   * `expiresAt` no longer hold a place.
   */
  readonly queue?: QueueEntryRequest;
}

/** A run's place in its pipeline's queue: first asked, first started. */
export interface QueueEntryRequest {
  /** when the run was asked for (ISO 8601): the queue's order, then the run id */
  readonly requestedAt: string;
  /** after this the entry no longer holds a place (the run gave up, or died without leaving) */
  readonly expiresAt: string;
}

export type LockResult =
  | { readonly acquired: true }
  | {
      readonly acquired: false;
      /** the run holding the lock, or, while it is free, the queued run whose turn it is */
      readonly heldBy: string;
      /** queued runs: 1 = next in line */
      readonly position?: number;
    };

/** The holder of a pipeline's run lock. */
export interface RunLockHolder {
  readonly pipeline: string;
  readonly runId: string;
  readonly expiresAt: string;
  readonly owner?: string;
}

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
  getRunLock(pipeline: string, now: string): Promise<RunLockHolder | undefined>;
  /** Releases the lock if `runId` holds it, and takes `runId` out of the pipeline's queue; a no-op otherwise. */
  releaseRunLock(input: { pipeline: string; runId: string }): Promise<void>;
  /** Puts a run in its pipeline's queue (a no-op when it is there already); answers its place, 1 = next. */
  enqueueRun(input: { pipeline: string; runId: string; now: string } & QueueEntryRequest): Promise<number>;
  /** The runs waiting in a pipeline's queue (live entries only), first asked first. */
  listQueuedRuns(pipeline: string, now: string): Promise<readonly { runId: string; requestedAt: string }[]>;
  /**
   * Applies an event. Idempotent and order-tolerant: the same event twice changes nothing, and
   * neither does a second event stating the same fact (same run, detail-type, stage and step; see
   * `factKey`), as a retried task publishes.
   */
  record(event: TapestryEvent): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Newest first: by the time of each run's earliest event. */
  listRuns(pipeline: string, page: { limit: number; cursor?: string }): Promise<RunPage>;
  /** The newest run of each pipeline that has one. */
  latestRuns(pipelines: readonly string[]): Promise<ReadonlyMap<string, RunRecord>>;
  /** Every event of a run, in the order they occurred. */
  listEvents(runId: string): Promise<readonly TapestryEvent[]>;
}
