import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  ConnectorRegistry,
  DEFAULT_PIPELINE_SETTINGS,
  definitionTimeoutSeconds,
  type Logger,
  type PipelineDeps,
  type PipelineSettings,
  type PipelineSpec,
  type RunTrigger,
  SecretReadError,
  type SecretReader,
  silentLogger,
  type TapestryConfig,
  TapestryError,
  type TapestryEvent,
  type ToolName,
} from "@tapestry/core";
import { ALERT_DETAIL_TYPES, EVENT_SOURCES } from "@tapestry/core/events";
import { type PipelineRunFunction, type ReconcileResult, startScheduledRun } from "@tapestry/core/pipeline";
import { nextFireTime } from "@tapestry/core/schedule";
import {
  PipelineNotFoundError,
  recordingPublisher,
  retryRun,
  type TriggerAccepted,
  triggerManualRun,
  withStatusReadCache,
} from "@tapestry/core/status";
import type { TaskTokenStore, ToolWebhookRegistration } from "@tapestry/core/webhooks";
import { createStatusApiHandler } from "@tapestry/functions/api";
import { type ApiServer, startApiServer } from "../api-server";
import { type DeadLetter, LocalEventBus } from "../bus";
import { dashboardAssets } from "../dashboard-assets";
import { SqliteProvisioningStore, SqliteRunLedger, SqliteToolStackRecords } from "../ledger";
import { type LocalExecution, LocalStepFunctions, type TaskHandler } from "../runner/local-step-functions";
import { type SandboxSet, type Scenario, startSandboxes } from "../sandboxes";
import { LocalScheduler } from "../scheduler";
import { createWarehouseRunners, kickstartBindings, Warehouse } from "../warehouse";
import { type Alerts, type NotificationReport, startAlerts } from "./alerts";
import { LocalRuns } from "./local-runs";
import {
  deferredRunners,
  describeProvisioningOutcome,
  embeddedBootstrapper,
  embeddedProvisioning,
  hasProvisioning,
  memoryKeyStore,
  provisioningSecrets,
} from "./provisioning";
import { generateSandboxCredentials, sandboxedTools, withSandboxAuth } from "./sandboxed-tools";
import {
  type FunctionTimeoutOverrides,
  type PowertoolsLogLevel,
  pipelineTaskHandlers,
} from "./task-handlers";
import { startWebhookCompletion, withWebhookRoutes } from "./webhooks";

/** Another control plane (most likely another `tapestry local`) holds the state folder: its warehouse is locked. */
export class StateFolderInUseError extends TapestryError {
  override readonly name = "StateFolderInUseError";
  constructor(
    readonly stateDir: string,
    options?: ErrorOptions,
  ) {
    super(
      `the state folder ${stateDir} is in use (its warehouse is locked, most likely by another \`tapestry local\`): stop that one, or give this one --state-dir <another folder>`,
      options,
    );
  }
}

/** The status API's server could not start listening (its port is in use, or the address refused). */
export class ApiServerStartError extends TapestryError {
  override readonly name = "ApiServerStartError";
}

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
  /**
   * steps on sandboxed tools that wait for their webhook poll after at most this long without one
   * (default 2 s: a dropped webhook or an unknown status is seen at once)
   */
  readonly sandboxFallbackPollSeconds?: number;
  /** arm the schedules (default true) */
  readonly schedule?: boolean;
  readonly settings?: Partial<PipelineSettings>;
  readonly now?: () => Date;
  readonly onEvent?: (event: TapestryEvent) => void;
  /** an event the ledger (or the console) could not take after every retry */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
  /** how long a job's cancel may take when a run is stopped or reconciled (default 20 s) */
  readonly cancelTimeoutMs?: number;
  readonly logger?: Logger;
  readonly powertoolsLogLevel?: PowertoolsLogLevel;
  /** tests: Wait states in milliseconds, Retry pauses in milliseconds */
  readonly waitTimeOverrides?: Readonly<Record<string, number>>;
  readonly retryIntervalOverrides?: Readonly<Record<string, number>>;
  /** tests: task functions' timeouts in milliseconds (their handlers' deadlines follow) */
  readonly functionTimeoutOverrides?: FunctionTimeoutOverrides;
  /** run provisioning before the first pipeline run (default true, when the config declares any) */
  readonly provision?: boolean;
  /** a Slack incoming webhook for alerts (TAPESTRY_SLACK_WEBHOOK_URL); else the config's secret, if it names one */
  readonly slackWebhookUrl?: string;
  /** each alert notification sent (or not) */
  readonly onNotification?: (report: NotificationReport) => void;
  /** tests: the freshness check's period (0: only when asked) and Slack's retry pauses */
  readonly alerts?: Pick<Parameters<typeof startAlerts>[0], "freshnessIntervalMs" | "slack">;
  /** tests: wraps a task function's handler (e.g. to hold a registration back) */
  readonly taskHandlerWraps?: Readonly<
    Partial<Record<PipelineRunFunction, (handler: TaskHandler) => TaskHandler>>
  >;
}

export interface StartedRun {
  readonly runId: string;
  /** absent when the run was not started (a duplicate fire of a scheduled time) */
  readonly execution?: LocalExecution;
  /** manual runs: accepted, or queued behind the run ahead (overlap: queue) */
  readonly status?: TriggerAccepted["status"];
}

export interface ControlPlane {
  readonly apiUrl: string;
  readonly ledger: SqliteRunLedger;
  readonly sandboxes: SandboxSet;
  readonly executions: LocalStepFunctions;
  readonly runs: LocalRuns;
  /** thresholds, incidents and notifications */
  readonly alerts: Alerts;
  /** where steps' task tokens wait for their webhooks */
  readonly tokens: TaskTokenStore;
  /** what registering the sandboxed tools' webhooks at start did */
  readonly webhookRegistrations: readonly ToolWebhookRegistration[];
  /**
   * Starts a run as the status API or the scheduler does, through core's paths: a manual run is
   * refused with RunActiveError while a run of a `skip` pipeline holds its lock; a scheduled fire
   * derives its run id from the scheduled time, and a duplicate fire starts nothing.
   */
  startRun(pipeline: string, trigger: RunTrigger): Promise<StartedRun>;
  /** what start-up found left unfinished by a control plane that is gone, and ended */
  readonly leftovers: readonly ReconcileResult[];
  nextFire(pipeline: string): Date | undefined;
  /** events the bus could not deliver after every retry */
  deadLetters(): readonly DeadLetter[];
  /** resolves once every run started so far has ended, been reconciled, and its events are in the ledger */
  idle(): Promise<void>;
  /**
   * Stops the control plane: no schedule fires, every run in flight is stopped (no new state, no
   * new job), its jobs cancelled and its outcome recorded; then the API, the bus, the sandboxes
   * and the ledger close. Answers what became of the stopped runs.
   */
  stop(cause?: string): Promise<readonly ReconcileResult[]>;
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
    // every write of this process goes through this object, so the status API's reads are kept until the next one
    const ledger = withStatusReadCache(SqliteRunLedger.open(join(options.stateDir, "ledger.sqlite")));
    stops.push(() => ledger.close());
    const provisioningStore = SqliteProvisioningStore.open(join(options.stateDir, "ledger.sqlite"), { now });
    stops.push(() => provisioningStore.close());

    const warehouse = await Warehouse.open(join(options.stateDir, "warehouse.duckdb")).catch(
      (error: unknown) => {
        throw new StateFolderInUseError(options.stateDir, { cause: error });
      },
    );
    stops.push(() => warehouse.close());
    // bound to the kickstart's data once provisioning has recorded its connections' ids (below)
    const runners = deferredRunners();
    const credentials = generateSandboxCredentials();
    const sandboxes = await startSandboxes(withSandboxAuth(options.scenario ?? {}, credentials), {
      runner: runners.runners,
    });
    stops.push(() => sandboxes.close());

    const bus = new LocalEventBus({ logger, onDeadLetter: options.onDeadLetter });
    stops.push(() => bus.drain());
    // alerts share the bus but are no run's facts: the run ledger takes every other event
    bus.subscribe(
      "ledger-projector",
      { source: ["tapestry.pipeline"], "detail-type": [{ "anything-but": [...ALERT_DETAIL_TYPES] }] },
      (event) => ledger.record(event),
    );
    if (options.onEvent) {
      const onEvent = options.onEvent;
      bus.subscribe("console", { source: [...EVENT_SOURCES] }, async (event) => onEvent(event));
    }

    const { tools, secrets, storeSecret } = sandboxedTools(
      options.config.tools,
      sandboxes,
      credentials,
      realTools,
      options.realSecrets ??
        (async (name) =>
          Promise.reject(
            new SecretReadError(
              name,
              `secret ${name} is needed by a tool run with --real, and no secret reader was given`,
            ),
          )),
    );
    const stackRecords = SqliteToolStackRecords.open(join(options.stateDir, "ledger.sqlite"));
    stops.push(() => stackRecords.close());
    const keys = memoryKeyStore();
    const provisioning = hasProvisioning(options.config)
      ? embeddedProvisioning({
          config: options.config,
          tools,
          secrets: provisioningSecrets(keys, secrets, !realTools.has("airbyte")),
          store: provisioningStore,
          stackRecords,
          bus,
          repoRoot: options.repoRoot,
          stateDir: options.stateDir,
          bootstrapper: embeddedBootstrapper(options, warehouse, keys, logger),
          now,
          logger,
          powertoolsLogLevel: options.powertoolsLogLevel,
          retryIntervalOverrides: options.retryIntervalOverrides,
        })
      : undefined;
    if (provisioning) stops.push(() => provisioning.stop());
    const connectors = new ConnectorRegistry(tools, {
      secrets,
      logger,
      connectionIds: provisioning?.connectionIds,
    });
    const pipelines = new Map(options.config.pipelines.map((p) => [p.name, p]));
    const sandboxPoll = options.sandboxPollSeconds ?? 1;
    const sandboxFallback = options.sandboxFallbackPollSeconds ?? 2;
    const runInput = (pipeline: PipelineSpec): PipelineSpec => ({
      ...pipeline,
      stages: pipeline.stages.map((stage) => ({
        ...stage,
        steps: stage.steps.map((step) => {
          // a real tool's webhook cannot reach this loopback API: its steps poll
          if (realTools.has(step.tool))
            return step.completion === "webhook" ? { ...step, completion: "poll" } : step;
          const polled = { ...step, pollIntervalSeconds: Math.min(step.pollIntervalSeconds, sandboxPoll) };
          return polled.completion === "webhook"
            ? { ...polled, fallbackPollSeconds: Math.min(polled.fallbackPollSeconds, sandboxFallback) }
            : polled;
        }),
      })),
    });

    let apiUrl: string | undefined;
    const alerts = await startAlerts({
      config: options.config,
      bus,
      ledger,
      stateDir: options.stateDir,
      now,
      logger,
      statusApiUrl: () => apiUrl,
      ...(options.slackWebhookUrl !== undefined ? { slackWebhookUrl: options.slackWebhookUrl } : {}),
      ...(options.realSecrets ? { secrets: options.realSecrets } : {}),
      ...(options.onNotification ? { onNotification: options.onNotification } : {}),
      ...options.alerts,
    });
    stops.push(() => alerts.stop());

    // this process's session: the owner of every lock it takes (see LocalRuns)
    const session = `local:${process.pid}:${randomUUID()}`;
    const core: PipelineDeps = {
      connectors,
      publisher: bus,
      ledger,
      now,
      logger,
      settings: { ...DEFAULT_PIPELINE_SETTINGS, ...options.settings },
      owner: session,
    };
    const webhooks = startWebhookCompletion({
      ledgerPath: join(options.stateDir, "ledger.sqlite"),
      config: options.config,
      tools,
      pipelines: options.config.pipelines.map(runInput),
      sandboxes,
      secrets,
      storeSecret,
      core,
      // the runner is built next, with the handlers that need this
      tasks: { sendTaskSuccess: async (token, output) => executions.sendTaskSuccess(token, output) },
      logger,
    });
    stops.push(() => webhooks.close());
    const handlers = pipelineTaskHandlers(
      core,
      {
        tokens: webhooks.tokens,
        tasks: { sendTaskSuccess: async (t, o) => executions.sendTaskSuccess(t, o) },
      },
      options.powertoolsLogLevel,
      options.functionTimeoutOverrides,
    );
    for (const [fn, wrap] of Object.entries(options.taskHandlerWraps ?? {})) {
      const name = fn as PipelineRunFunction;
      if (wrap) handlers[name] = wrap(handlers[name]);
    }
    const executions: LocalStepFunctions = new LocalStepFunctions({
      definitionPath: join(options.repoRoot, "state-machines", "pipeline-run.asl.json"),
      handlers,
      runTimeoutSeconds: definitionTimeoutSeconds(options.config.pipelines, core.settings),
      waitTimeOverrides: options.waitTimeOverrides,
      retryIntervalOverrides: options.retryIntervalOverrides,
    });
    const runs = new LocalRuns({
      session,
      executions,
      ledger,
      bus,
      runInput,
      logger,
      reconcile: {
        connectors,
        pipeline: (name) => pipelines.get(name),
        now,
        jobs: options.config.reconcile.jobs,
        cancelTimeoutMs: options.cancelTimeoutMs,
      },
    });
    // a step's start still in flight when its run was stopped: its job is cancelled when it is announced
    bus.subscribe("late-steps", { source: ["tapestry.pipeline"], "detail-type": ["StepStarted"] }, (event) =>
      runs.closeLateStep(event),
    );
    // Before anything starts: what a control plane that is gone left unfinished is ended now.
    const leftovers = await runs.reconcileLeftovers();
    let stopCause = "the embedded control plane was stopped while the run was going";
    let stoppedRuns: readonly ReconcileResult[] = [];
    stops.push(async () => {
      stoppedRuns = await runs.stopAll(stopCause);
    });

    // Before the first pipeline run: the same provision state machine AWS runs, then the sandboxes'
    // data bound to the connections it recorded.
    const abandoned = await provisioning?.reconcileLeftovers();
    if (abandoned)
      logger.warn("a provisioning run a stopped control plane left going was recorded failed", {
        runId: abandoned,
      });
    if (provisioning && options.provision !== false) {
      const { runId, execution } = await provisioning.run("embedded");
      const outcome = await execution.outcome;
      await bus.drain();
      if (outcome.status !== "SUCCEEDED") {
        logger.warn("provisioning did not succeed: steps naming its connections will fail until it does", {
          runId,
          outcome: describeProvisioningOutcome(outcome),
        });
      }
    }
    runners.bind(
      createWarehouseRunners({
        warehouse,
        // A config other than the kickstart has no sample data: its sandbox jobs only take time.
        bindings: await kickstartBindings(options.repoRoot, {
          config: options.config,
          connectionIds: await provisioning?.connectionIdsByName(),
        }).catch((error: unknown) => {
          logger.info("no kickstart data bound to the sandboxes; their jobs move no rows", {
            reason: error instanceof Error ? error.message : String(error),
          });
          return { airbyte: {}, "dbt-cloud": {}, grouparoo: {} };
        }),
        exportDir: join(options.stateDir, "exports"),
      }),
    );

    const scheduler = new LocalScheduler({
      pipelines: options.config.pipelines,
      onFire: async (pipeline, scheduledTime) => {
        await startScheduledRun({ scheduledTime: scheduledTime.toISOString(), pipeline }, { runs, logger });
      },
      logger,
    });
    if (options.schedule !== false) scheduler.start();
    stops.push(() => scheduler.stop());

    const statusContext = {
      config: options.config,
      ledger,
      now,
      // the armed scheduler's next fire; unarmed (--once), the fire it would arm (the same rule)
      nextFireTime: (pipeline: PipelineSpec, after: Date) =>
        scheduler.nextFire(pipeline.name) ?? nextFireTime(pipeline.schedule, after),
      controlPlane: () => ({ deadLetters: bus.deadLetters().length }),
    };
    const requests = { ...statusContext, runs, events: recordingPublisher(ledger, bus) };
    const api: ApiServer = await startApiServer({
      host: options.host ?? "127.0.0.1",
      port: options.port,
      dashboard: dashboardAssets(),
      handler: withWebhookRoutes(
        createStatusApiHandler({
          ...statusContext,
          runs,
          bus,
          logger,
          alerts: alerts.store,
          ...(provisioning
            ? {
                provisioning: {
                  runs: provisioningStore,
                  starter: provisioning.starter,
                  deprovisionStarter: provisioning.deprovisionStarter,
                  stacks: { records: stackRecords, stackNameOf: provisioning.stackNameOf },
                },
              }
            : {}),
        }),
        webhooks.handler,
      ),
    }).catch((error: unknown) => {
      const inUse = (error as { code?: string }).code === "EADDRINUSE";
      throw new ApiServerStartError(
        inUse
          ? `port ${options.port} is in use: stop what listens there, or pick another with --port <port> (or TAPESTRY_PORT)`
          : `the status API could not start: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    });
    stops.push(() => api.close());
    apiUrl = api.url;
    const webhookRegistrations = await webhooks.register(api.url);

    const startRun = async (name: string, trigger: RunTrigger): Promise<StartedRun> => {
      const pipeline = pipelines.get(name);
      if (!pipeline) throw new PipelineNotFoundError(name);
      if (trigger.kind === "schedule" && trigger.scheduledTime) {
        const { runId, started } = await startScheduledRun(
          { scheduledTime: trigger.scheduledTime, pipeline },
          { runs, logger },
        );
        return { runId, ...(started ? { execution: runs.execution(runId) } : {}) };
      }
      const accepted =
        trigger.kind === "retry" && trigger.retryOf !== undefined
          ? await retryRun(requests, trigger.retryOf)
          : await triggerManualRun(requests, name, trigger);
      return { runId: accepted.runId, status: accepted.status, execution: runs.execution(accepted.runId) };
    };

    let stopped: Promise<readonly ReconcileResult[]> | undefined;
    return {
      apiUrl: api.url,
      ledger,
      sandboxes,
      executions,
      runs,
      alerts,
      tokens: webhooks.tokens,
      webhookRegistrations,
      startRun,
      leftovers,
      nextFire: (name) => scheduler.nextFire(name),
      deadLetters: () => bus.deadLetters(),
      idle: async () => {
        await executions.idle();
        await runs.settledReconciliations();
        await bus.drain();
        await alerts.idle();
        await bus.drain();
      },
      stop: (cause) => {
        // in the reverse order of start: the API first (no new run), the scheduler, the runs, then the rest
        stopped ??= (async () => {
          if (cause !== undefined) stopCause = cause;
          await stopAll();
          return stoppedRuns;
        })();
        return stopped;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
