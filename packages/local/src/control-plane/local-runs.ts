import type { PipelineSpec } from "@tapestry/core/config";
import { RunAlreadyStartedError } from "@tapestry/core/errors";
import type { RunTrigger, TapestryEvent } from "@tapestry/core/events";
import type { Logger } from "@tapestry/core/logging";
import {
  closeLateStep,
  type ExecutionEnd,
  type ReconcileDeps,
  type ReconcileResult,
  type RunInput,
  reconcileInputOf,
  reconcileRun,
} from "@tapestry/core/pipeline";
import type { RunController } from "@tapestry/core/status";
import type { LocalEventBus } from "../bus";
import type { SqliteRunLedger } from "../ledger";
import type { LocalExecution, LocalStepFunctions } from "../runner/local-step-functions";

export interface LocalRunsOptions {
  /** this process's session, `local:<pid>:<uuid>`: the owner of every lock it takes */
  readonly session: string;
  readonly executions: LocalStepFunctions;
  readonly ledger: SqliteRunLedger;
  readonly bus: LocalEventBus;
  /** what the reconciler needs beyond the ledger and the bus: the connectors, the pipelines, the clock */
  readonly reconcile: Omit<ReconcileDeps, "ledger" | "publisher" | "logger">;
  /** the pipeline spec an execution runs (embedded: sandboxed steps poll faster) */
  readonly runInput: (pipeline: PipelineSpec) => PipelineSpec;
  readonly logger: Logger;
  /**
   * How long `stopAll` may take for its runs (default 4 s): the tasks in flight get half of it to
   * finish, the cancels of the runs' jobs what is left.
   */
  readonly stopWithinMs?: number;
}

/** How long the tasks in flight at an execution's end may take to finish before it is reconciled anyway. */
const SETTLE_MS = 3_000;

/**
 * The embedded control plane's runs: the RunController behind its scheduler, its status API and
 * the CLI (start = an execution on the local runner, stop = the runner's abort), and the same run
 * reconciliation AWS does on Step Functions' status changes: every execution that ends FAILED,
 * TIMED_OUT or ABORTED is reconciled (its jobs cancelled, its outcome recorded, its lock freed).
 *
 * Each process is a session; the session is the owner of every lock it takes. One process at a
 * time uses a state folder (its DuckDB warehouse is locked by the process), so at start every run
 * the ledger shows unfinished, and every lock of another session, was left by a process that is
 * gone: `reconcileLeftovers` ends them before the scheduler starts.
 */
export class LocalRuns implements RunController {
  /** each execution's reconciliation once it ends (undefined: it succeeded, or reconciling failed), until it is done */
  private readonly reconciling = new Map<string, Promise<ReconcileResult | undefined>>();
  /** when a stop must be done by (epoch ms), once `stopAll` was called */
  private stopDeadline: number | undefined;

  constructor(private readonly options: LocalRunsOptions) {}

  /** Starts a run's execution; a run id started before (in this session or an earlier one) is refused. */
  async start(pipeline: PipelineSpec, runId: string, trigger: RunTrigger): Promise<void> {
    const known = await this.options.ledger.getRun(runId);
    // a run recorded as queued (by the request that started it) has not run yet
    if (this.options.executions.hasRun(runId) || (known !== undefined && known.status !== "queued")) {
      throw new RunAlreadyStartedError(runId);
    }
    const input: RunInput = { runId, trigger, pipeline: this.options.runInput(pipeline) };
    this.watch(this.options.executions.startExecution(runId, input));
  }

  async stop(runId: string): Promise<void> {
    const execution = this.options.executions.execution(runId);
    if (execution?.isRunning()) execution.abort("a cancel of the run was requested");
  }

  /** The execution of a run started in this session. */
  execution(runId: string): LocalExecution | undefined {
    return this.options.executions.execution(runId);
  }

  /**
   * Stops every execution in flight (no state is entered after it, no Task starts), then waits for
   * their reconciliation: their jobs cancelled, their outcomes recorded, their locks freed; all of
   * it within `stopWithinMs`, a cancel that takes longer reported as not cancelled.
   */
  async stopAll(cause: string): Promise<readonly ReconcileResult[]> {
    this.stopDeadline ??= Date.now() + (this.options.stopWithinMs ?? 4_000);
    const running = this.options.executions.executions().filter((e) => e.isRunning());
    for (const execution of running) execution.abort(cause);
    const results = await Promise.all(running.map((e) => this.reconciling.get(e.name)));
    await this.settledReconciliations();
    return results.filter((result): result is ReconcileResult => result !== undefined);
  }

  /**
   * A StepStarted the bus delivers: if its run's execution is over (the start was still in flight
   * when it was stopped), its job is cancelled and the step closed, as on AWS (core closeLateStep).
   */
  async closeLateStep(event: TapestryEvent): Promise<void> {
    await closeLateStep(event, {
      ...this.options.reconcile,
      ledger: this.options.ledger,
      publisher: this.options.bus,
      logger: this.options.logger,
      executionGoing: async (runId) => this.options.executions.execution(runId)?.isRunning() ?? false,
    });
  }

  /** Ends what a control plane that is gone left unfinished: its runs, and its locks. */
  async reconcileLeftovers(): Promise<readonly ReconcileResult[]> {
    const { ledger } = this.options;
    const owners = new Map((await ledger.listRunLocks()).map((lock) => [lock.runId, lock.owner]));
    const results: ReconcileResult[] = [];
    for (const run of await ledger.listUnfinishedRuns()) {
      const owner = owners.get(run.runId);
      const pid = owner?.split(":")[1];
      results.push(
        await this.reconcile({
          runId: run.runId,
          ending: "aborted",
          detail: `the embedded control plane that ran it${pid ? ` (process ${pid})` : ""} stopped before the run finished`,
        }),
      );
    }
    // a lock whose run has no record (it died before its first event) is freed too
    for (const lock of await ledger.listRunLocks()) {
      if (lock.owner !== this.options.session)
        await ledger.releaseRunLock({ pipeline: lock.pipeline, runId: lock.runId });
    }
    await this.options.bus.drain();
    return results;
  }

  /** Resolves once every reconciliation under way has finished. */
  async settledReconciliations(): Promise<void> {
    while (this.reconciling.size > 0) await Promise.allSettled([...this.reconciling.values()]);
  }

  /** What is left of the stop's time (ms), while stopping. */
  private stopTimeLeftMs(): number | undefined {
    return this.stopDeadline === undefined ? undefined : Math.max(0, this.stopDeadline - Date.now());
  }

  private watch(execution: LocalExecution): void {
    const done = execution.outcome.then(async (outcome) => {
      if (outcome.status === "SUCCEEDED") return undefined;
      // the tasks in flight at an abort finish first (their events tell which jobs they started)
      const left = this.stopTimeLeftMs();
      await Promise.race([execution.settled(), delay(left === undefined ? SETTLE_MS : left / 2)]);
      const end: ExecutionEnd =
        outcome.status === "FAILED"
          ? { runId: execution.name, status: "FAILED", error: outcome.error, cause: outcome.cause }
          : {
              runId: execution.name,
              status: outcome.status,
              cause: outcome.status === "ABORTED" ? outcome.cause : undefined,
            };
      return this.reconcile(reconcileInputOf(end));
    });
    const tracked = done.catch((error: unknown) => {
      this.options.logger.error("reconciling a run failed", {
        runId: execution.name,
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    });
    this.reconciling.set(execution.name, tracked);
    void tracked.finally(() => this.reconciling.delete(execution.name));
  }

  private async reconcile(input: Parameters<typeof reconcileRun>[0]): Promise<ReconcileResult> {
    // the ledger must have every event published so far before the reconciler reads it
    await this.options.bus.drain();
    const left = this.stopTimeLeftMs();
    const result = await reconcileRun(input, {
      ...this.options.reconcile,
      ...(left === undefined ? {} : { cancelTimeoutMs: Math.max(left, 100) }),
      ledger: this.options.ledger,
      publisher: this.options.bus,
      logger: this.options.logger,
    });
    await this.options.bus.drain();
    return result;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
