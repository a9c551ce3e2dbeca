import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEFAULT_PIPELINE_SETTINGS,
  definitionTimeoutSeconds,
  manualRunId,
  PIPELINE_RUN_FUNCTIONS,
  type PipelineDeps,
  type PipelineRunFunction,
  parseConfig,
  silentLogger,
  type TapestryConfig,
  type TapestryEvent,
} from "@tapestry/core";
import type { RunRecord } from "@tapestry/core/ledger";
import { type ControlPlane, type ControlPlaneOptions, REPO_ROOT, startControlPlane } from "@tapestry/local";
import { SqliteRunLedger, SqliteTaskTokenStore } from "@tapestry/local/ledger";
import { type ExecutionOutcome, LocalStepFunctions, type TaskHandler } from "@tapestry/local/runner";
import { parseScenario } from "@tapestry/local/sandboxes";
import { LocalEventBus } from "../../packages/local/src/bus";
import { pipelineTaskHandlers } from "../../packages/local/src/control-plane/task-handlers";
import { PIPELINE_RUN_TASK_STATES } from "../../state-machines/src/pipeline-run";
import kickstart from "../../tapestry.config";

/** Every Task state of the pipeline-run machine: their Retry pauses shrink to 10 ms in tests. */
export const TASK_STATES = Object.keys(PIPELINE_RUN_TASK_STATES);

/** Short, fixed sandbox jobs: a whole kickstart run takes a second or two. */
export const FAST_TOOLS = {
  airbyte: { defaults: { queuedMs: 20, durationMs: 120 } },
  "dbt-cloud": { defaults: { queuedMs: 20, startingMs: 10, durationMs: 120 } },
  grouparoo: { defaults: { queuedMs: 20, durationMs: 120 } },
};

export interface Plane extends ControlPlane {
  readonly events: TapestryEvent[];
  readonly stateDir: string;
  /** the sandboxes' exchanges at start: registering the webhooks with Airbyte and dbt Cloud */
  readonly startupTraffic: number;
}

/** Every exchange of the three sandboxes so far. */
export const sandboxTraffic = (p: ControlPlane) =>
  p.sandboxes.airbyte.traffic.length +
  p.sandboxes.dbtCloud.traffic.length +
  p.sandboxes.grouparoo.traffic.length;

export function kickstartConfig(change?: (config: TapestryConfig) => void): TapestryConfig {
  const config = parseConfig(structuredClone(kickstart));
  change?.(config);
  return config;
}

/**
 * The embedded control plane on the real ASL, handlers, ledger, bus and sandboxes, with Wait
 * states and Retry pauses shortened (the only test-only settings) and a state folder of its own.
 */
export async function startPlane(
  scenario: Record<string, unknown> = {},
  options: {
    config?: TapestryConfig;
    now?: () => Date;
    onDeadLetter?: ControlPlaneOptions["onDeadLetter"];
    /** webhook completion's test settings: the sandboxes' fallback interval, a held-back task, a logger */
    webhooks?: Pick<ControlPlaneOptions, "sandboxFallbackPollSeconds" | "taskHandlerWraps" | "logger">;
  } = {},
): Promise<Plane> {
  const stateDir = mkdtempSync(join(tmpdir(), "tapestry-sm-"));
  const events: TapestryEvent[] = [];
  const merged = Object.fromEntries(
    Object.entries(FAST_TOOLS).map(([tool, section]) => [
      tool,
      { ...section, ...(scenario[tool] as object) },
    ]),
  );
  const plane = await startControlPlane({
    config: options.config ?? kickstartConfig(),
    repoRoot: REPO_ROOT,
    stateDir,
    port: 0,
    scenario: parseScenario(merged),
    schedule: false,
    now: options.now,
    onDeadLetter: options.onDeadLetter,
    ...options.webhooks,
    settings: { queueWaitSeconds: 1 },
    onEvent: (event) => {
      events.push(event);
    },
    waitTimeOverrides: { WaitForJob: 25, WaitForRunLock: 25 },
    retryIntervalOverrides: Object.fromEntries(TASK_STATES.map((state) => [state, 10])),
  });
  return {
    ...plane,
    events,
    stateDir,
    startupTraffic: sandboxTraffic(plane),
    stop: async (cause) => {
      const stopped = await plane.stop(cause);
      rmSync(stateDir, { recursive: true, force: true });
      return stopped;
    },
  };
}

/** A compact view of the events of one run: "StepSucceeded ingest/zoom-webinar-registrants". */
export function eventLines(events: readonly TapestryEvent[], runId: string): string[] {
  return events
    .filter((e) => e.detail.metadata.correlationId === runId)
    .map((e) => {
      const data = e.detail.data as { stage?: string; step?: string };
      return data.step ? `${e["detail-type"]} ${data.stage}/${data.step}` : e["detail-type"];
    });
}

/** A clock that runs `factor` times faster than the wall clock: minute-long step timeouts pass in a blink. */
export function fastClock(factor: number): () => Date {
  const start = Date.now();
  return () => new Date(start + (Date.now() - start) * factor);
}

/** Wraps a task function's real handler, e.g. to make it answer what it never would. */
export type HandlerWrap = (real: TaskHandler) => TaskHandler;

export interface Runner {
  readonly ledger: SqliteRunLedger;
  readonly events: TapestryEvent[];
  /** runs the kickstart pipeline once, to its end, its events in the ledger */
  run(): Promise<{ runId: string; outcome: ExecutionOutcome; run: RunRecord | undefined }>;
  stop(): Promise<void>;
}

/**
 * The real ASL and the real task handlers on aws-local-stepfunctions, with the ledger and the bus
 * of the embedded control plane but no tools (a step task fails the test's run if it is reached),
 * and any task function's handler wrapped: for failures the real handlers cannot produce.
 */
export async function startRunner(wrap: Partial<Record<PipelineRunFunction, HandlerWrap>>): Promise<Runner> {
  const config = kickstartConfig();
  const stateDir = mkdtempSync(join(tmpdir(), "tapestry-runner-"));
  const ledger = SqliteRunLedger.open(join(stateDir, "ledger.sqlite"));
  const events: TapestryEvent[] = [];
  const bus = new LocalEventBus();
  bus.subscribe("ledger-projector", { source: ["tapestry.pipeline"] }, async (event) => {
    events.push(event);
    await ledger.record(event);
  });
  const noTool = () => Promise.reject(new Error("this runner has no tools: no step may start"));
  const core: PipelineDeps = {
    connectors: { start: noTool, poll: noTool, cancel: noTool },
    publisher: { publish: (batch) => bus.put(batch) },
    ledger,
    now: () => new Date(),
    logger: silentLogger,
    settings: DEFAULT_PIPELINE_SETTINGS,
  };
  const tokens = SqliteTaskTokenStore.open(":memory:");
  const real = pipelineTaskHandlers(core, {
    tokens,
    tasks: { sendTaskSuccess: async (token, output) => executions.sendTaskSuccess(token, output) },
  });
  const handlers = Object.fromEntries(
    PIPELINE_RUN_FUNCTIONS.map((fn) => [fn, wrap[fn]?.(real[fn]) ?? real[fn]]),
  ) as Record<PipelineRunFunction, TaskHandler>;
  const executions: LocalStepFunctions = new LocalStepFunctions({
    definitionPath: join(REPO_ROOT, "state-machines", "pipeline-run.asl.json"),
    handlers,
    runTimeoutSeconds: definitionTimeoutSeconds(config.pipelines, DEFAULT_PIPELINE_SETTINGS),
    retryIntervalOverrides: Object.fromEntries(TASK_STATES.map((state) => [state, 10])),
  });
  const pipeline = config.pipelines[0];
  if (!pipeline) throw new Error("the kickstart config has no pipeline");
  return {
    ledger,
    events,
    run: async () => {
      const runId = manualRunId(pipeline.name, new Date());
      const execution = executions.startExecution(runId, { runId, trigger: { kind: "manual" }, pipeline });
      const outcome = await execution.outcome;
      await bus.drain();
      return { runId, outcome, run: await ledger.getRun(runId) };
    },
    stop: async () => {
      await executions.idle();
      await bus.drain();
      ledger.close();
      tokens.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
