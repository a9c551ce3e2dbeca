import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  ConnectorRegistry,
  DEFAULT_PIPELINE_SETTINGS,
  definitionTimeoutSeconds,
  type Logger,
  manualRunId,
  type PipelineDeps,
  type PipelineSettings,
  type PipelineSpec,
  type RunTrigger,
  type SecretReader,
  scheduledRunId,
  silentLogger,
  type TapestryConfig,
  TapestryError,
  type TapestryEvent,
  type ToolName,
} from "@tapestry/core";
import { createEvent } from "@tapestry/core/events";
import { nextFireTime } from "@tapestry/core/schedule";
import { createStatusApiHandler } from "@tapestry/functions/api";
import { type ApiServer, startApiServer } from "../api-server";
import { LocalEventBus } from "../bus";
import { SqliteRunLedger } from "../ledger";
import {
  ExecutionAlreadyExistsError,
  type LocalExecution,
  LocalStepFunctions,
} from "../runner/local-step-functions";
import { type SandboxSet, type Scenario, startSandboxes } from "../sandboxes";
import { LocalScheduler } from "../scheduler";
import { createWarehouseRunners, kickstartBindings, Warehouse } from "../warehouse";
import { generateSandboxCredentials, sandboxedTools, withSandboxAuth } from "./sandboxed-tools";
import {
  type FunctionTimeoutOverrides,
  type PowertoolsLogLevel,
  pipelineTaskHandlers,
} from "./task-handlers";

export interface ControlPlaneOptions {
  readonly config: TapestryConfig;
  readonly repoRoot: string;
  /** where the ledger, the warehouse and the exports live (`.tapestry/`) */
  readonly stateDir: string;
  /** the status API's port (4000; 0 picks a free one) */
  readonly port: number;
  readonly host?: string;
  /** scripts the sandboxes (TAPESTRY_SANDBOX_SCENARIO) */
  readonly scenario?: Scenario;
  /** tools driven at their configured endpoints instead of a sandbox */
  readonly realTools?: ReadonlySet<ToolName>;
  /** secrets of the real tools */
  readonly realSecrets?: SecretReader;
  /** sandbox jobs take seconds: poll steps on sandboxed tools at most this often (default 1 s) */
  readonly sandboxPollSeconds?: number;
  /** arm the schedules (default true) */
  readonly schedule?: boolean;
  readonly settings?: Partial<PipelineSettings>;
  readonly now?: () => Date;
  readonly onEvent?: (event: TapestryEvent) => void;
  readonly logger?: Logger;
  readonly powertoolsLogLevel?: PowertoolsLogLevel;
  /** tests: Wait states in milliseconds, Retry pauses in milliseconds */
  readonly waitTimeOverrides?: Readonly<Record<string, number>>;
  readonly retryIntervalOverrides?: Readonly<Record<string, number>>;
  /** tests: task functions' timeouts in milliseconds (their handlers' deadlines follow) */
  readonly functionTimeoutOverrides?: FunctionTimeoutOverrides;
}

export interface StartedRun {
  readonly runId: string;
  /** absent when the run id had been started before (a duplicate fire) */
  readonly execution?: LocalExecution;
}

export interface ControlPlane {
  readonly apiUrl: string;
  readonly ledger: SqliteRunLedger;
  readonly sandboxes: SandboxSet;
  readonly executions: LocalStepFunctions;
  /** starts a run now (manual) or for a scheduled time (as the scheduler does) */
  startRun(pipeline: string, trigger: RunTrigger, runId?: string): Promise<StartedRun>;
  nextFire(pipeline: string): Date | undefined;
  /** resolves once every run started so far has ended and its events are in the ledger */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The embedded control plane: the same ASL and handlers as on AWS, with a SQLite ledger, a
 * local event bus, a scheduler with EventBridge Scheduler's semantics, the status API on
 * loopback, and sandboxes of the tools that move real rows through DuckDB.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const now = options.now ?? (() => new Date());
  const logger = options.logger ?? silentLogger;
  const realTools = options.realTools ?? new Set<ToolName>();
  const stops: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };

  try {
    mkdirSync(options.stateDir, { recursive: true });
    const ledger = SqliteRunLedger.open(join(options.stateDir, "ledger.sqlite"));
    stops.push(() => ledger.close());

    const warehouse = await Warehouse.open(join(options.stateDir, "warehouse.duckdb")).catch(
      (error: unknown) => {
        throw new TapestryError(
          `the state folder ${options.stateDir} is in use (its warehouse is locked, most likely by another \`tapestry local\`): stop that one, or give this one --state-dir <another folder>`,
          { cause: error },
        );
      },
    );
    stops.push(() => warehouse.close());
    const runners = createWarehouseRunners({
      warehouse,
      // A config other than the kickstart has no sample data: its sandbox jobs only take time.
      bindings: await kickstartBindings(options.repoRoot, { config: options.config }).catch(
        (error: unknown) => {
          logger.info("no kickstart data bound to the sandboxes; their jobs move no rows", {
            reason: error instanceof Error ? error.message : String(error),
          });
          return { airbyte: {}, "dbt-cloud": {}, grouparoo: {} };
        },
      ),
      exportDir: join(options.stateDir, "exports"),
    });
    const credentials = generateSandboxCredentials();
    const sandboxes = await startSandboxes(withSandboxAuth(options.scenario ?? {}, credentials), {
      runner: runners,
    });
    stops.push(() => sandboxes.close());

    const bus = new LocalEventBus();
    stops.push(() => bus.drain());
    bus.subscribe("ledger-projector", { source: ["tapestry.pipeline"] }, (event) => ledger.record(event));
    if (options.onEvent) {
      const onEvent = options.onEvent;
      bus.subscribe("console", { source: ["tapestry.pipeline"] }, async (event) => onEvent(event));
    }

    const { tools, secrets } = sandboxedTools(
      options.config.tools,
      sandboxes,
      credentials,
      realTools,
      options.realSecrets ?? (async (name) => Promise.reject(new Error(`no local secret named ${name}`))),
    );
    const core: PipelineDeps = {
      connectors: new ConnectorRegistry(tools, { secrets, logger }),
      publisher: {
        publish: async (events) => {
          await bus.put(events);
        },
      },
      ledger,
      now,
      logger,
      settings: { ...DEFAULT_PIPELINE_SETTINGS, ...options.settings },
    };
    const executions = new LocalStepFunctions({
      definitionPath: join(options.repoRoot, "state-machines", "pipeline-run.asl.json"),
      handlers: pipelineTaskHandlers(core, options.powertoolsLogLevel, options.functionTimeoutOverrides),
      runTimeoutSeconds: definitionTimeoutSeconds(options.config.pipelines, core.settings),
      waitTimeOverrides: options.waitTimeOverrides,
      retryIntervalOverrides: options.retryIntervalOverrides,
    });
    stops.push(() => abortRunning(executions, core, ledger));

    const pipelines = new Map(options.config.pipelines.map((p) => [p.name, p]));
    const sandboxPoll = options.sandboxPollSeconds ?? 1;
    const runInput = (pipeline: PipelineSpec): PipelineSpec => ({
      ...pipeline,
      stages: pipeline.stages.map((stage) => ({
        ...stage,
        steps: stage.steps.map((step) =>
          realTools.has(step.tool)
            ? step
            : { ...step, pollIntervalSeconds: Math.min(step.pollIntervalSeconds, sandboxPoll) },
        ),
      })),
    });

    const startRun = async (name: string, trigger: RunTrigger, runId?: string): Promise<StartedRun> => {
      const pipeline = pipelines.get(name);
      if (!pipeline) throw new Error(`no pipeline named ${name}`);
      const id =
        runId ??
        (trigger.kind === "schedule" && trigger.scheduledTime
          ? scheduledRunId(name, new Date(trigger.scheduledTime))
          : manualRunId(name, now()));
      // A duplicate fire of the same scheduled time: the id is taken, here or in the ledger of an earlier session.
      if (await ledger.getRun(id)) return { runId: id };
      try {
        return {
          runId: id,
          execution: executions.startExecution(id, { runId: id, trigger, pipeline: runInput(pipeline) }),
        };
      } catch (error) {
        if (error instanceof ExecutionAlreadyExistsError) return { runId: id };
        throw error;
      }
    };

    const scheduler = new LocalScheduler({
      pipelines: options.config.pipelines,
      onFire: async (pipeline, scheduledTime) => {
        await startRun(pipeline.name, { kind: "schedule", scheduledTime: scheduledTime.toISOString() });
      },
      logger,
    });
    if (options.schedule !== false) scheduler.start();
    stops.push(() => scheduler.stop());

    const api: ApiServer = await startApiServer({
      host: options.host ?? "127.0.0.1",
      port: options.port,
      handler: createStatusApiHandler({
        config: options.config,
        ledger,
        runs: {
          start: async (pipeline, runId, trigger) => {
            await startRun(pipeline.name, trigger, runId);
          },
        },
        now,
        nextFireTime: (schedule, after) => nextFireTime(schedule, after),
        logger,
      }),
    }).catch((error: unknown) => {
      const inUse = (error as { code?: string }).code === "EADDRINUSE";
      throw new TapestryError(
        inUse
          ? `port ${options.port} is in use: stop what listens there, or pick another with --port <port> (or TAPESTRY_PORT)`
          : `the status API could not start: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    });
    stops.push(() => api.close());

    return {
      apiUrl: api.url,
      ledger,
      sandboxes,
      executions,
      startRun,
      nextFire: (name) => scheduler.nextFire(name),
      idle: async () => {
        await executions.idle();
        await bus.drain();
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * Ctrl-C while runs are going: abort them, and close each one properly so a restart is not
 * blocked by a lock nobody holds: a PipelineRunFailed event, then the lock released.
 */
async function abortRunning(executions: LocalStepFunctions, core: PipelineDeps, ledger: SqliteRunLedger) {
  const running = executions.executions().filter((e) => e.isRunning());
  for (const execution of running) execution.abort();
  for (const execution of running) {
    await execution.outcome;
    const input = execution.input as { runId: string; pipeline: PipelineSpec };
    const run = await ledger.getRun(input.runId);
    if (run?.status !== "running") continue;
    const now = core.now();
    await core.publisher.publish([
      createEvent(
        "PipelineRunFailed",
        {
          runId: input.runId,
          startedAt: run.startedAt,
          endedAt: now.toISOString(),
          failedSteps: run.steps.filter((s) => s.status === "running").map((s) => s.step),
          error: "aborted: the embedded control plane was stopped while the run was going",
        },
        { pipeline: input.pipeline.name, now },
      ),
    ]);
    await ledger.releaseRunLock({ pipeline: input.pipeline.name, runId: input.runId });
  }
}
