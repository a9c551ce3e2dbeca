import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { TapestryError } from "@tapestry/core/errors";
import {
  MAX_RUN_TIMEOUT_SECONDS,
  RUN_TIMEOUT_PLACEHOLDER,
  substituteAslPlaceholders,
  taskResources,
} from "@tapestry/core/pipeline";
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

/** Lambda's optimized integration in the callback pattern (as state-machines/src writes it). */
const WAIT_FOR_TASK_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken";

/**
 * What `$$.Task.Token` reads in the context the runner passes: aws-local-stepfunctions creates no
 * task tokens, so the callback handler puts a fresh token wherever this stands in the payload.
 */
const TASK_TOKEN_PLACEHOLDER = "tapestry-local:task-token";

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

/** A callback Task's wait, as Step Functions reports one that no SendTaskSuccess ended in time. */
class TaskTimedOutError extends TapestryError {
  override readonly name = "States.Timeout";
}

/** A callback Task the runner cannot wait for as Step Functions would (the definition and the runner disagree). */
export class CallbackTaskUnsupportedError extends TapestryError {
  override readonly name = "CallbackTaskUnsupportedError";
}

/** A Task handler that also hears when its execution is stopped (the callback Tasks' waits end then). */
type StoppableTaskHandler = (input: unknown, stopped: AbortSignal) => Promise<unknown>;

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
  private readonly taskHandlers: Record<string, StoppableTaskHandler>;
  /** for each Map state, the Task states inside its iterations */
  private readonly tasksInMaps: ReadonlyMap<string, ReadonlySet<string>>;
  /** the executions going, and the last ended ones (at most ENDED_KEPT): a long-lived process keeps no more */
  private readonly all = new Map<string, LocalExecution>();
  /** the callback Tasks' open task tokens, each with how to end its wait */
  private readonly waiting = new Map<string, { resolve(output: unknown): void }>();
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
    const callbacks = callbackStates((definition as { States: AslStates }).States);
    for (const [state, resource] of taskResources(definition as never)) {
      const callback = callbacks.get(state);
      const functionArn = callback ? callback.Parameters?.FunctionName : resource;
      const handler = typeof functionArn === "string" ? byArn.get(functionArn) : undefined;
      if (!handler) throw new TaskHandlerMissingError(state, String(functionArn ?? resource));
      this.taskHandlers[state] = callback ? this.waitForTaskToken(state, callback, handler) : handler;
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
    const stopping = new AbortController();
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
        const running = handler(taskInput, stopping.signal);
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
      context: {
        Execution: { Name: name, Input: input as Json, StartTime: new Date().toISOString() },
        Task: { Token: TASK_TOKEN_PLACEHOLDER },
      },
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
        stopping.abort();
        run.abort();
      },
      settled: async () => {
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      },
    };
    this.all.set(name, execution);
    return execution;
  }

  /**
   * Step Functions' SendTaskSuccess: ends the wait of the callback Task holding `token` with
   * `output` (as JSON, the way it travels on AWS). "closed" when no Task waits on that token any
   * more: it timed out (AWS answers TaskTimedOut), was completed, or its execution was stopped.
   */
  sendTaskSuccess(token: string, output: unknown): "sent" | "closed" {
    const waiter = this.waiting.get(token);
    if (!waiter) return "closed";
    this.waiting.delete(token);
    waiter.resolve(JSON.parse(JSON.stringify(output ?? null)));
    return "sent";
  }

  /**
   * The callback pattern (lambda:invoke.waitForTaskToken), which aws-local-stepfunctions does not
   * have: a fresh task token goes into the payload where `$$.Task.Token` stands, the function is
   * invoked, and the Task waits for sendTaskSuccess with that token, at most its TimeoutSecondsPath
   * (read as AWS reads it, from the state's input: through the Parameters field that copies it),
   * then fails with States.Timeout, after which the token is closed. A failing invocation fails the
   * Task (its Retry applies) unless the token was completed first.
   */
  private waitForTaskToken(state: string, definition: CallbackState, fn: TaskHandler): StoppableTaskHandler {
    const timeoutPath = parametersPathOf(state, definition);
    return async (input, stopped) => {
      const { Payload } = (input ?? {}) as { Payload?: unknown };
      const seconds = readPath(input, timeoutPath);
      if (!Number.isInteger(seconds) || (seconds as number) < 1) {
        throw new CallbackTaskUnsupportedError(
          `${state}: its TimeoutSecondsPath must select a whole number of seconds of 1 or more, got ${String(seconds)}`,
        );
      }
      const token = `local-${randomBytes(24).toString("base64url")}`;
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<unknown>((resolve, reject) => {
        this.waiting.set(token, { resolve });
        timer = setTimeout(
          () => {
            this.waiting.delete(token);
            reject(new TaskTimedOutError(`${state}: no task result within ${seconds} s`));
          },
          (seconds as number) * 1000,
        );
        stopped.addEventListener("abort", () => {
          clearTimeout(timer);
          this.waiting.delete(token);
          reject(new ExecutionStoppedError(`${state} stopped waiting: the execution was stopped`));
        });
      });
      const settle = () => {
        clearTimeout(timer);
        this.waiting.delete(token);
      };
      const invoked = fn(replaceTokenPlaceholder(Payload, token)).then(
        () => waited,
        (error: unknown) => {
          // completed before the invocation failed: the Task has its result
          if (!this.waiting.has(token)) return waited;
          settle();
          throw error;
        },
      );
      try {
        return await Promise.race([waited, invoked]);
      } finally {
        settle();
      }
    };
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
  [name: string]: {
    Type?: string;
    Resource?: string;
    Parameters?: Record<string, unknown>;
    TimeoutSeconds?: number;
    TimeoutSecondsPath?: string;
    readonly ItemProcessor?: { readonly States?: AslStates };
    readonly Iterator?: { readonly States?: AslStates };
  };
}

type CallbackState = AslStates[string];

/**
 * Every callback Task (lambda:invoke.waitForTaskToken) of a definition, by name. Their waits are
 * the runner's (waitForTaskToken): the engine gets a TimeoutSeconds it never reaches instead of
 * their TimeoutSecondsPath, which aws-local-stepfunctions 3.0.0 would resolve against the
 * Parameters' output, where AWS resolves it against the state's input.
 */
function callbackStates(states: AslStates): Map<string, CallbackState> {
  const found = new Map<string, CallbackState>();
  const visit = (level: AslStates | undefined) => {
    for (const [name, state] of Object.entries(level ?? {})) {
      if (state.Type === "Task" && state.Resource === WAIT_FOR_TASK_TOKEN) {
        found.set(name, { ...state });
        state.TimeoutSeconds = MAX_RUN_TIMEOUT_SECONDS;
        delete state.TimeoutSecondsPath;
      }
      visit(state.ItemProcessor?.States ?? state.Iterator?.States);
    }
  };
  visit(states);
  return found;
}

/**
 * Where a callback Task's TimeoutSecondsPath (a path into the state's input) lands in the input its
 * handler gets (the Parameters' output): through the Parameters field that copies that part of the
 * state's input, e.g. `$.job.waitSeconds` through `"Payload": {"job.$": "$.job"}` is
 * `Payload.job.waitSeconds`. A definition whose Parameters copy no such part cannot run here.
 */
function parametersPathOf(state: string, definition: CallbackState): readonly string[] {
  const path = definition.TimeoutSecondsPath;
  if (path === undefined) {
    throw new CallbackTaskUnsupportedError(`${state}: a callback Task needs a TimeoutSecondsPath`);
  }
  const search = (template: unknown, at: readonly string[]): readonly string[] | undefined => {
    if (template === null || typeof template !== "object") return undefined;
    for (const [key, value] of Object.entries(template)) {
      if (
        key.endsWith(".$") &&
        typeof value === "string" &&
        (path === value || path.startsWith(`${value}.`))
      ) {
        return [
          ...at,
          key.slice(0, -2),
          ...path
            .slice(value.length + 1)
            .split(".")
            .filter(Boolean),
        ];
      }
      const inner = search(value, [...at, key]);
      if (inner) return inner;
    }
    return undefined;
  };
  const found = search(definition.Parameters, []);
  if (!found) {
    throw new CallbackTaskUnsupportedError(
      `${state}: its TimeoutSecondsPath (${path}) reads a part of the state's input that its Parameters do not pass on`,
    );
  }
  return found;
}

function readPath(value: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>(
    (at, key) => (at !== null && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined),
    value,
  );
}

/** The payload with a task token wherever `$$.Task.Token` put the context's placeholder. */
function replaceTokenPlaceholder(value: unknown, token: string): unknown {
  if (value === TASK_TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((item) => replaceTokenPlaceholder(item, token));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, replaceTokenPlaceholder(item, token)]),
    );
  }
  return value;
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
