import type { OutcomeSpec } from "./scenario";
import type { SandboxLogger } from "./server";
import { sleep } from "./time";
import type { SandboxTool } from "./traffic";

/**
 * The life of one job/run, shared by the three sandboxes: queued -> (starting) -> running ->
 * terminal, on real (unref'd) timers. Each tool maps these phases onto its own status words.
 * What a job moves (rows, bytes) comes from a JobRunner: the default one just waits the planned
 * duration and reports the planned counts; the embedded control plane can plug in one that moves
 * real rows (e.g. through DuckDB) without touching the sandboxes.
 */

export type Outcome =
  | "succeeded"
  | "failed"
  | "cancelled"
  | "stuck"
  | "incomplete-then-succeeded"
  | "unknown-status";

export type Phase =
  | "queued"
  | "starting"
  | "running"
  /** an attempt failed and the tool will retry (Airbyte's `incomplete`) */
  | "incomplete"
  | "succeeded"
  | "failed"
  | "cancelled"
  /** the scenario's `unknown-status`: the tool reports `plan.status`, forever */
  | "unknown";

export interface ExecutionPlan {
  outcome: Outcome;
  queuedMs: number;
  startingMs: number;
  durationMs: number;
  incompleteMs: number;
  rows: number;
  bytes: number;
  /** the scenario set this job's row count itself: a data-moving runner must report it, not real rows */
  rowsScripted: boolean;
  error?: string;
  status?: string | number;
}

export interface Execution {
  /** the tool's id, as a string ("12345", "70000001", "run_...") */
  readonly id: string;
  /** what the job runs: connection id, dbt job definition id, Grouparoo schedule id */
  readonly key: string;
  readonly plan: ExecutionPlan;
  readonly seeded: boolean;
  phase: Phase;
  attempt: number;
  createdAt: Date;
  dequeuedAt?: Date;
  startedAt?: Date;
  finishedAt?: Date;
  updatedAt: Date;
  rows: number;
  bytes: number;
  error?: string;
  /** why a cancelled execution ended: the API, pre-emption by a newer run, or the scenario ("someone else") */
  cancelledBy?: "api" | "preempted" | "scenario";
}

export interface JobRunContext {
  tool: SandboxTool;
  id: string;
  key: string;
  attempt: number;
  plan: Readonly<ExecutionPlan>;
  /** aborted when the job is cancelled or the sandbox closes */
  signal: AbortSignal;
  /** reports progress while running (Airbyte shows it in rowsSynced/bytesSynced) */
  progress(rows: number, bytes?: number): void;
}

export interface JobRunResult {
  rows: number;
  bytes?: number;
  /** set to make the job fail with this message */
  error?: string;
}

/** Does the work of one running attempt. Rejecting fails the job with the error's message. */
export type JobRunner = (context: JobRunContext) => Promise<JobRunResult>;

/** The default runner: waits `plan.durationMs`, then reports the planned rows and bytes. */
export const timedJobRunner: JobRunner = async (context) => {
  await sleep(context.plan.durationMs, context.signal);
  return { rows: context.plan.rows, bytes: context.plan.bytes };
};

export const TERMINAL_PHASES: ReadonlySet<Phase> = new Set(["succeeded", "failed", "cancelled"]);

export function isTerminal(execution: Execution): boolean {
  return TERMINAL_PHASES.has(execution.phase);
}

// ---------------------------------------------------------------------------------------------

export interface ToolDefaults {
  queuedMs: number;
  startingMs: number;
  durationMs: number;
  incompleteMs: number;
  rows: number;
  bytes: number;
  error: string;
}

export type OutcomeEntry = OutcomeSpec & { for?: string | number };

/** Hands out plans: the scenario's `outcomes`, in order (an entry with `for` waits for its key), then defaults. */
export class OutcomePlanner {
  private readonly pending: OutcomeEntry[];

  constructor(
    private readonly toolDefaults: ToolDefaults,
    private readonly defaults: OutcomeSpec | undefined,
    entries: readonly OutcomeEntry[] | undefined,
  ) {
    this.pending = [...(entries ?? [])];
  }

  /** The next planned outcome for `key` (or its `alias`, e.g. an Airbyte connection's name). */
  next(key: string, alias?: string): ExecutionPlan {
    const index = this.pending.findIndex(
      (entry) => entry.for === undefined || String(entry.for) === key || String(entry.for) === alias,
    );
    const entry = index >= 0 ? this.pending.splice(index, 1)[0] : undefined;
    return this.resolve(entry ?? {});
  }

  resolve(spec: OutcomeSpec): ExecutionPlan {
    const outcome = (spec.outcome ?? "succeeded") as Outcome;
    const base = { ...this.toolDefaults, ...stripUndefined(this.defaults ?? {}) };
    const moves =
      outcome === "succeeded" || outcome === "incomplete-then-succeeded" || outcome === "unknown-status";
    const plan: ExecutionPlan = {
      outcome,
      queuedMs: spec.queuedMs ?? base.queuedMs,
      startingMs: spec.startingMs ?? base.startingMs,
      durationMs: spec.durationMs ?? base.durationMs,
      incompleteMs: spec.incompleteMs ?? base.incompleteMs,
      rows: spec.rows ?? (moves ? base.rows : 0),
      bytes: spec.bytes ?? (moves ? base.bytes : 0),
      rowsScripted: spec.rows !== undefined,
    };
    if (outcome === "failed") plan.error = spec.error ?? this.toolDefaults.error;
    if (spec.status !== undefined) plan.status = spec.status;
    return plan;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------------------------------------

export interface LifecycleOptions {
  tool: SandboxTool;
  runner?: JobRunner | undefined;
  /** told (level warn) when a runner throws; the job then fails with the error's message */
  logger?: SandboxLogger | undefined;
  /** told when an execution ends (succeeded, failed or cancelled): the tool's webhook goes out then */
  onEnd?: ((execution: Execution) => void) | undefined;
}

export class Lifecycle {
  private readonly timers = new Map<string, Set<NodeJS.Timeout>>();
  private readonly runs = new Map<string, AbortController>();
  private readonly runner: JobRunner;
  private closed = false;

  constructor(private readonly options: LifecycleOptions) {
    this.runner = options.runner ?? timedJobRunner;
  }

  create(id: string, key: string, plan: ExecutionPlan, seeded = false): Execution {
    const now = new Date();
    return {
      id,
      key,
      plan,
      seeded,
      phase: "queued",
      attempt: 0,
      createdAt: now,
      updatedAt: now,
      rows: 0,
      bytes: 0,
    };
  }

  /** Starts a new execution: queued, then onwards on timers. */
  start(execution: Execution): void {
    const { plan } = execution;
    this.after(execution, plan.queuedMs, () => {
      if (plan.startingMs > 0) {
        this.move(execution, "starting");
        execution.dequeuedAt = execution.updatedAt;
        this.after(execution, plan.startingMs, () => this.beginRunning(execution));
      } else {
        this.beginRunning(execution);
      }
    });
  }

  /** Puts an execution straight into `running`, as if it had been started `elapsedMs` ago (alreadyRunning seeds). */
  startRunning(execution: Execution, elapsedMs: number): void {
    const startedAt = new Date(Date.now() - elapsedMs);
    execution.createdAt = new Date(startedAt.getTime() - execution.plan.queuedMs - execution.plan.startingMs);
    execution.dequeuedAt = new Date(startedAt.getTime() - execution.plan.startingMs);
    this.beginRunning(execution, startedAt);
  }

  /** Cancels a non-terminal execution now; false (and no change) when it had already ended. */
  cancel(execution: Execution, by: "api" | "preempted" | "scenario"): boolean {
    if (isTerminal(execution)) return false;
    this.stopTimers(execution);
    execution.cancelledBy = by;
    this.finish(execution, "cancelled");
    return true;
  }

  close(): void {
    this.closed = true;
    for (const set of this.timers.values()) for (const timer of set) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.runs.values()) controller.abort();
    this.runs.clear();
  }

  private beginRunning(execution: Execution, startedAt = new Date()): void {
    const { plan } = execution;
    execution.dequeuedAt ??= startedAt;
    execution.startedAt = startedAt;
    execution.attempt = 1;
    this.move(execution, "running");
    switch (plan.outcome) {
      case "stuck":
        return;
      case "unknown-status":
        this.after(execution, plan.durationMs, () => this.move(execution, "unknown"));
        return;
      case "cancelled":
        this.after(execution, plan.durationMs, () => {
          execution.cancelledBy = "scenario";
          this.finish(execution, "cancelled");
        });
        return;
      case "incomplete-then-succeeded":
        this.after(execution, plan.durationMs, () => {
          this.move(execution, "incomplete");
          this.after(execution, plan.incompleteMs, () => {
            execution.attempt = 2;
            this.move(execution, "running");
            this.runAttempt(execution);
          });
        });
        return;
      default:
        if (execution.seeded) {
          // Someone else's job, mid-way: its work is done when its remaining time is up, so a
          // data-moving runner sees the data as of then (a dbt run seeded at start must not build
          // its model before the syncs that feed it have run).
          this.after(execution, plan.durationMs, () => this.runAttempt(execution, 0));
        } else {
          this.runAttempt(execution);
        }
    }
  }

  /** Runs the job's work; `durationMs` is how long the runner should still take (default: the plan's). */
  private runAttempt(execution: Execution, durationMs = execution.plan.durationMs): void {
    const controller = new AbortController();
    this.runs.set(execution.id, controller);
    const context: JobRunContext = {
      tool: this.options.tool,
      id: execution.id,
      key: execution.key,
      attempt: execution.attempt,
      plan: durationMs === execution.plan.durationMs ? execution.plan : { ...execution.plan, durationMs },
      signal: controller.signal,
      progress: (rows, bytes) => {
        if (isTerminal(execution) || controller.signal.aborted) return;
        execution.rows = rows;
        if (bytes !== undefined) execution.bytes = bytes;
        execution.updatedAt = new Date();
      },
    };
    let promise: Promise<JobRunResult>;
    try {
      promise = this.runner(context);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      (result) => {
        this.runs.delete(execution.id);
        if (this.closed || controller.signal.aborted || isTerminal(execution)) return;
        execution.rows = result.rows;
        execution.bytes = result.bytes ?? execution.bytes;
        const error =
          result.error ?? (execution.plan.outcome === "failed" ? execution.plan.error : undefined);
        if (error !== undefined) {
          execution.error = error;
          this.finish(execution, "failed");
        } else {
          this.finish(execution, "succeeded");
        }
      },
      (error: unknown) => {
        this.runs.delete(execution.id);
        if (this.closed || controller.signal.aborted || isTerminal(execution)) return;
        execution.error = error instanceof Error ? error.message : String(error);
        this.options.logger?.({
          tool: this.options.tool,
          level: "warn",
          message: "the job runner failed: the job fails",
          data: { id: execution.id, error: execution.error },
        });
        this.finish(execution, "failed");
      },
    );
  }

  private move(execution: Execution, phase: Phase): void {
    execution.phase = phase;
    execution.updatedAt = new Date();
  }

  private finish(execution: Execution, phase: "succeeded" | "failed" | "cancelled"): void {
    this.stopTimers(execution);
    const controller = this.runs.get(execution.id);
    if (controller) {
      this.runs.delete(execution.id);
      controller.abort();
    }
    this.move(execution, phase);
    execution.finishedAt = execution.updatedAt;
    if (!this.closed) this.options.onEnd?.(execution);
  }

  private after(execution: Execution, ms: number, action: () => void): void {
    if (this.closed) return;
    let set = this.timers.get(execution.id);
    if (!set) {
      set = new Set();
      this.timers.set(execution.id, set);
    }
    const timers = set;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!this.closed) action();
    }, ms);
    timer.unref();
    timers.add(timer);
  }

  private stopTimers(execution: Execution): void {
    const set = this.timers.get(execution.id);
    if (!set) return;
    for (const timer of set) clearTimeout(timer);
    this.timers.delete(execution.id);
  }
}
