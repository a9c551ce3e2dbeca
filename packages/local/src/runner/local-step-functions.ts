import { readFileSync } from "node:fs";
import { TapestryError } from "@tapestry/core/errors";
import { RUN_TIMEOUT_PLACEHOLDER, substituteAslPlaceholders, taskResources } from "@tapestry/core/pipeline";
import {
  ExecutionAbortedError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from "aws-local-stepfunctions";

export type TaskHandler = (input: unknown) => Promise<unknown>;

export type ExecutionOutcome =
  | { readonly status: "SUCCEEDED"; readonly output: unknown }
  | { readonly status: "FAILED"; readonly error: string; readonly cause: string }
  | { readonly status: "TIMED_OUT" }
  | { readonly status: "ABORTED"; readonly cause?: string };

export interface LocalExecution {
  readonly name: string;
  readonly input: unknown;
  readonly startedAt: Date;
  /** settles when the execution ends; never rejects */
  readonly outcome: Promise<ExecutionOutcome>;
  /** true until the execution ends */
  isRunning(): boolean;
  /** states entered so far: what Step Functions bills as state transitions */
  transitions(): number;
  /** the names of the states entered, in order */
  statesEntered(): readonly string[];
  /**
   * Stops the execution as StopExecution does: no state is entered after it, and no Task starts
   * (a Task whose handler is already running finishes; `settled()` waits for it).
   */
  abort(cause?: string): void;
  /** resolves when no task handler of the execution is running any more (never rejects) */
  settled(): Promise<void>;
}

/** How many ended executions the runner keeps for inspection (their states, their outcome). */
export const ENDED_KEPT = 100;

/** Raised instead of running a Task of an execution that was aborted: nothing runs after a stop. */
export class ExecutionStoppedError extends TapestryError {
  override readonly name = "ExecutionStoppedError";
}

/**
 * Raised instead of running a Task of a Map whose iteration already failed. On AWS a failed
 * iteration fails the Map and no further iteration starts; aws-local-stepfunctions 3.0.0 aborts
 * the running iterations but still starts the queued ones (with MaxConcurrency 1: every later
 * stage). Refusing their Tasks restores AWS's behaviour: no tool is touched, no event published.
 */
export class MapAlreadyFailedError extends TapestryError {
  override readonly name = "MapAlreadyFailedError";
}

/** Step Functions refuses a second execution with a name already used: so does this runner. */
export class ExecutionAlreadyExistsError extends TapestryError {
  override readonly name = "ExecutionAlreadyExistsError";
}

/** A Task state of the definition runs a resource that no handler given to the runner answers for. */
export class TaskHandlerMissingError extends TapestryError {
  override readonly name = "TaskHandlerMissingError";
  constructor(state: string, resource: string) {
    super(`Task state ${state} has no local handler for ${resource}`);
  }
}

export interface LocalStepFunctionsOptions {
  readonly definitionPath: string;
  /** by the definition's function placeholder (`StartStepFunctionArn` ...): every one it names */
  readonly handlers: Readonly<Record<string, TaskHandler>>;
  /** pipeline-run: the definition's TimeoutSeconds (core definitionTimeoutSeconds over the config's pipelines) */
  readonly runTimeoutSeconds?: number;
  /** per Wait state name, milliseconds instead of the state's seconds (tests) */
  readonly waitTimeOverrides?: Readonly<Record<string, number>>;
  /** per state name, milliseconds instead of its Retry intervals (tests) */
  readonly retryIntervalOverrides?: Readonly<Record<string, number>>;
}

const localArn = (fn: string) =>
  `arn:aws:lambda:us-east-1:000000000000:function:tapestry-local-${fn.replace(/FunctionArn$/, "")}`;

/**
 * Runs an ASL definition (pipeline-run, provision) on aws-local-stepfunctions, the file AWS runs,
 * with its `${...}` placeholders substituted as at deploy time and every Task bound to the same
 * handler its Lambda would run. Execution names are unique, as in Step Functions.
 */
export class LocalStepFunctions {
  private readonly machine: StateMachine;
  private readonly taskHandlers: Record<string, TaskHandler>;
  /** for each Map state, the Task states inside its iterations */
  private readonly tasksInMaps: ReadonlyMap<string, ReadonlySet<string>>;
  /** the executions going, and the last ended ones (at most ENDED_KEPT): a long-lived process keeps no more */
  private readonly all = new Map<string, LocalExecution>();
  private readonly ended: string[] = [];
  /** every name used so far: a name is never used twice, as in Step Functions */
  private readonly names = new Set<string>();

  constructor(private readonly options: LocalStepFunctionsOptions) {
    const raw = readFileSync(options.definitionPath, "utf8");
    for (const [state, resource] of taskResources(JSON.parse(raw) as never)) {
      const placeholder = /^\$\{([A-Za-z0-9]+)\}$/.exec(resource)?.[1];
      if (placeholder !== undefined && !Object.hasOwn(options.handlers, placeholder))
        throw new TaskHandlerMissingError(state, localArn(placeholder));
    }
    const functions = Object.keys(options.handlers);
    const arns = Object.fromEntries(functions.map((fn) => [fn, localArn(fn)]));
    // every placeholder filled and every value used, as at deploy time (substituteAslPlaceholders checks both)
    const definition = JSON.parse(
      substituteAslPlaceholders(raw, {
        ...arns,
        ...(options.runTimeoutSeconds === undefined
          ? {}
          : { [RUN_TIMEOUT_PLACEHOLDER]: options.runTimeoutSeconds }),
      }),
    ) as StateMachineDefinition;
    const byArn = new Map(functions.map((fn) => [localArn(fn), options.handlers[fn]]));
    this.taskHandlers = {};
    for (const [state, resource] of taskResources(definition as never)) {
      const handler = byArn.get(resource);
      if (!handler) throw new TaskHandlerMissingError(state, resource);
      this.taskHandlers[state] = handler;
    }
    this.tasksInMaps = tasksInMaps((definition as { States: AslStates }).States);
    this.machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
  }

  startExecution(name: string, input: unknown): LocalExecution {
    if (this.names.has(name))
      throw new ExecutionAlreadyExistsError(`an execution named ${name} already exists`);
    this.names.add(name);
    type RunOptions = NonNullable<Parameters<StateMachine["run"]>[1]>;
    type Json = Parameters<StateMachine["run"]>[0];
    const failedMaps = new Set<string>();
    const inFlight = new Set<Promise<unknown>>();
    let stopped: string | undefined;
    const guarded: Record<string, TaskHandler> = {};
    for (const [state, handler] of Object.entries(this.taskHandlers)) {
      guarded[state] = async (taskInput) => {
        // Let the event log catch up with a MapIterationFailed logged just before this Task.
        await new Promise((resolve) => setImmediate(resolve));
        // aws-local-stepfunctions keeps running Map iterations (and their Tasks) after an abort;
        // Step Functions enters no state after StopExecution: neither does this runner.
        if (stopped !== undefined)
          throw new ExecutionStoppedError(`${state} not run: the execution was stopped`);
        const failed = [...failedMaps].find((map) => this.tasksInMaps.get(map)?.has(state));
        if (failed) throw new MapAlreadyFailedError(`${state} not run: an iteration of ${failed} has failed`);
        const running = handler(taskInput);
        inFlight.add(running);
        return running.finally(() => inFlight.delete(running));
      };
    }
    const run = this.machine.run(input as Json, {
      overrides: {
        // The library types handlers as JSON -> JSON; ours take and give plain JSON data too.
        taskResourceLocalHandlers: guarded as NonNullable<
          RunOptions["overrides"]
        >["taskResourceLocalHandlers"],
        waitTimeOverrides: { ...this.options.waitTimeOverrides },
        retryIntervalOverrides: { ...this.options.retryIntervalOverrides },
      },
      context: { Execution: { Name: name, Input: input as Json, StartTime: new Date().toISOString() } },
    });
    const entered: string[] = [];
    const logs = (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === "StateEntered") entered.push(event.state.name);
        if (event.type === "MapIterationFailed") failedMaps.add(event.parentState.name);
      }
    })();
    const outcome = run.result.then(
      (output): ExecutionOutcome => ({ status: "SUCCEEDED", output }),
      (error: unknown): ExecutionOutcome => {
        if (error instanceof ExecutionAbortedError) return { status: "ABORTED", cause: stopped };
        if (error instanceof ExecutionTimeoutError) return { status: "TIMED_OUT" };
        const caught = (error as { cause?: { name?: string; message?: string; cause?: unknown } }).cause;
        return {
          status: "FAILED",
          error: caught?.name ?? (error instanceof Error ? error.name : "Error"),
          cause: typeof caught?.cause === "string" ? caught.cause : (caught?.message ?? String(error)),
        };
      },
    );
    let running = true;
    const execution: LocalExecution = {
      name,
      input,
      startedAt: new Date(),
      outcome: outcome.then(async (result) => {
        await logs.catch(() => undefined);
        running = false;
        this.forgetOldEnded(name);
        return result;
      }),
      isRunning: () => running,
      transitions: () => entered.length,
      statesEntered: () => entered,
      abort: (cause = "stopped") => {
        stopped ??= cause;
        run.abort();
      },
      settled: async () => {
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      },
    };
    this.all.set(name, execution);
    return execution;
  }

  /** The executions going, and the last ones that ended. */
  executions(): readonly LocalExecution[] {
    return [...this.all.values()];
  }

  /** An execution going, or one of the last that ended. */
  execution(name: string): LocalExecution | undefined {
    return this.all.get(name);
  }

  /** Whether an execution of this name was ever started. */
  hasRun(name: string): boolean {
    return this.names.has(name);
  }

  private forgetOldEnded(name: string): void {
    this.ended.push(name);
    while (this.ended.length > ENDED_KEPT) {
      const oldest = this.ended.shift();
      if (oldest !== undefined) this.all.delete(oldest);
    }
  }

  /** Resolves when every execution started so far has ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.all.values()].map((e) => e.outcome));
  }
}

interface AslStates {
  readonly [name: string]: {
    readonly Type?: string;
    readonly ItemProcessor?: { readonly States?: AslStates };
    readonly Iterator?: { readonly States?: AslStates };
  };
}

/** Each Map state of a definition, with the Task states nested (at any depth) in its iterations. */
function tasksInMaps(states: AslStates): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  const tasksOf = (inner: AslStates | undefined): Set<string> => {
    const tasks = new Set<string>();
    for (const [name, state] of Object.entries(inner ?? {})) {
      if (state.Type === "Task") tasks.add(name);
      if (state.Type === "Map") {
        const found = tasksOf(state.ItemProcessor?.States ?? state.Iterator?.States);
        result.set(name, found);
        for (const task of found) tasks.add(task);
      }
    }
    return tasks;
  };
  tasksOf(states);
  return result;
}
