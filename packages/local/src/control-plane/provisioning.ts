import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import type { TapestryConfig, ToolsConfig } from "@tapestry/core/config";
import { airbyteHttpClient, type ConnectionIdResolver, type SecretReader } from "@tapestry/core/connectors";
import type { Logger as CoreLogger } from "@tapestry/core/logging";
import {
  ConnectionNotProvisionedError,
  type DeprovisionFunction,
  endedOutside,
  PROVISION_FUNCTION_TIMEOUT_SECONDS,
  type ProvisionFunction,
  type ProvisioningDeps,
  type ProvisioningFunction,
  ProvisioningInputError,
  type ProvisioningStarter,
  type ProvisioningTrigger,
  provisioningSteps,
  requestProvisioning,
} from "@tapestry/core/provisioning";
import {
  type CloudFormationStacks,
  type DeprovisionInput,
  type Leftovers,
  listToolStacks,
  requestDeprovisioning,
  type StackTemplate,
  type StackTool,
  selfHostedTools,
  TOOL_STACK_WAIT_STATES,
  type ToolStackRecords,
  type ToolStackTaskDeps,
} from "@tapestry/core/provisioning/stacks";
import type { PrivateKeyStore, WarehouseBootstrapper } from "@tapestry/core/provisioning/warehouse";
import {
  createBootstrapWarehouseHandler,
  createDeprovisioningRunHandler,
  createEnsureAirbyteHandler,
  createProvisioningRunHandler,
  createToolHealthHandler,
  createToolStackHandler,
  createWriteGrouparooConfigHandler,
} from "@tapestry/functions/provisioning";
import type { Context } from "aws-lambda";
import type { LocalEventBus } from "../bus";
import { localLambdaContext } from "../lambda-context";
import type { SqliteProvisioningStore } from "../ledger";
import {
  type ExecutionOutcome,
  type LocalExecution,
  LocalStepFunctions,
  type TaskHandler,
} from "../runner/local-step-functions";
import { type JobRunner, timedJobRunner } from "../sandboxes";
import { bootstrapEmbeddedWarehouse, type Warehouse } from "../warehouse";
import { directoryGrouparooSink } from "./grouparoo-sink";
import { localToolStacks } from "./local-tool-stacks";
import type { PowertoolsLogLevel } from "./task-handlers";

/**
 * Provisioning, embedded: the same state-machines/provision.asl.json AWS runs, on the local runner,
 * its tasks bound to the handlers Lambda runs, against the sandboxes (or the tools run with
 * --real). The ids go to the provisioning store in ledger.sqlite, Grouparoo's files to
 * `<state dir>/grouparoo/`, the events onto the local bus. The control plane runs it before the
 * first pipeline run; the status API's POST /provisioning runs it again.
 */

export interface EmbeddedProvisioningOptions {
  readonly config: TapestryConfig;
  /** the tools as the connectors see them (pointed at the sandboxes unless run with --real) */
  readonly tools: ToolsConfig;
  /** the secrets the provisioned objects name (a sandboxed Airbyte takes stand-ins: see standInSecrets) */
  readonly secrets: SecretReader;
  readonly store: SqliteProvisioningStore;
  readonly bus: LocalEventBus;
  readonly repoRoot: string;
  readonly stateDir: string;
  /** the warehouse section's bootstrapper */
  readonly bootstrapper: () => WarehouseBootstrapper;
  readonly now: () => Date;
  readonly logger: CoreLogger;
  readonly powertoolsLogLevel?: PowertoolsLogLevel;
  /** tests: Retry pauses in milliseconds */
  readonly retryIntervalOverrides?: Readonly<Record<string, number>>;
  /** tests: Wait states' pauses in milliseconds (default: the tool-stack Waits at 0, the sandboxes answer at once) */
  readonly waitTimeOverrides?: Readonly<Record<string, number>>;
  /**
   * The self-hosted tools' stacks: by default the local deployer (each tool's sandbox is its stack,
   * `tools.<tool>.baseUrl` its Url); tests give CloudFormation's adapter on a mocked client.
   */
  readonly toolStacks?: {
    readonly cfn: CloudFormationStacks;
    readonly templates: Partial<Readonly<Record<StackTool, StackTemplate>>>;
  };
  /** the tool stacks' records (GET /stacks): a table of ledger.sqlite */
  readonly stackRecords: ToolStackRecords;
  /** what deprovisioning reports as left (and purges): by default the ids in the provisioning store */
  readonly leftovers?: Leftovers;
}

export interface EmbeddedProvisioning {
  /** the POST /provisioning side: claims a run and starts its execution */
  readonly starter: ProvisioningStarter;
  /** the DELETE /provisioning side: claims a deprovisioning run and starts its execution */
  readonly deprovisionStarter: { start(input: DeprovisionInput): Promise<void> };
  /** claims and starts a deprovisioning run; answers its id and execution */
  deprovision(
    trigger: ProvisioningTrigger,
    purge?: boolean,
  ): Promise<{ readonly runId: string; readonly execution: LocalExecution }>;
  /** GET /stacks */
  stacks(): ReturnType<typeof listToolStacks>;
  /** a self-hosted tool's stack name (embedded: `tapestry-local-<tool>`) */
  stackNameOf(tool: StackTool): string;
  /** claims and starts a run; answers its id and execution */
  run(trigger: ProvisioningTrigger): Promise<{ readonly runId: string; readonly execution: LocalExecution }>;
  /** a step's connection name -> the id provisioning recorded (ConnectionNotProvisionedError when none) */
  readonly connectionIds: ConnectionIdResolver;
  /** the recorded ids of the connections the config declares, for the sandboxes' data bindings */
  connectionIdsByName(): Promise<Readonly<Record<string, string>>>;
  /** stops every provision execution in flight */
  stop(): Promise<void>;
  /**
   * At start: a run a control plane that is gone left going (one process holds a state folder, so
   * any is) is recorded failed, and its lock freed at once rather than at its expiry.
   */
  reconcileLeftovers(): Promise<string | undefined>;
}

/** Whether the config gives provisioning anything to do. */
export function hasProvisioning(config: TapestryConfig): boolean {
  return provisioningSteps(config).length > 2;
}

export function embeddedProvisioning(options: EmbeddedProvisioningOptions): EmbeddedProvisioning {
  // Embedded there is no CloudWatch to read EMF lines: Powertools' own switch turns them off.
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  const logger = new Logger({
    serviceName: "tapestry-local",
    logLevel: options.powertoolsLogLevel ?? "SILENT",
  });
  const core: ProvisioningDeps = {
    config: options.config,
    runs: options.store,
    publisher: options.bus,
    now: options.now,
    logger: options.logger,
  };
  const bind =
    (
      fn: ProvisioningFunction,
      name: string,
      handler: (event: unknown, context: Context) => Promise<unknown>,
    ): TaskHandler =>
    (input) =>
      handler(
        input,
        localLambdaContext(`tapestry-local-${name}`, PROVISION_FUNCTION_TIMEOUT_SECONDS[fn] * 1000),
      );
  const hosted = selfHostedTools(options.config);
  const stacks =
    options.toolStacks ??
    localToolStacks(
      Object.fromEntries(
        hosted.flatMap((tool) => {
          const url = options.tools[tool]?.baseUrl;
          return url ? [[tool, url]] : [];
        }),
      ),
    );
  const stackNameOf = (tool: StackTool) => stacks.templates[tool]?.stackName ?? `tapestry-local-${tool}`;
  const leftovers: Leftovers = options.leftovers ?? {
    parameters: async () =>
      (await options.store.list()).map((o) => ({
        name: `provisioned ${o.kind} ${o.name} (${o.id})`,
        why: "the id provisioning recorded, kept so a new provisioning run finds the object again",
      })),
    purge: async () => [],
  };
  const waitTimeOverrides = options.waitTimeOverrides ?? {
    ...Object.fromEntries(TOOL_STACK_WAIT_STATES.map((state) => [state, 0])),
  };
  const stackDeps: ToolStackTaskDeps = {
    ...core,
    templates: stacks.templates,
    cfn: stacks.cfn,
    records: options.stackRecords,
  };
  const handlers: Record<ProvisionFunction, TaskHandler> = {
    ProvisioningRunFunctionArn: bind(
      "ProvisioningRunFunctionArn",
      "provisioning-run",
      createProvisioningRunHandler(core, logger),
    ),
    BootstrapWarehouseFunctionArn: bind(
      "BootstrapWarehouseFunctionArn",
      "bootstrap-warehouse",
      createBootstrapWarehouseHandler({ ...core, bootstrapper: options.bootstrapper }, logger),
    ),
    EnsureAirbyteFunctionArn: bind(
      "EnsureAirbyteFunctionArn",
      "ensure-airbyte",
      createEnsureAirbyteHandler(
        {
          ...core,
          objects: options.store,
          secrets: options.secrets,
          airbyte: (deps) => {
            const airbyte = options.tools.airbyte;
            if (!airbyte)
              throw new ProvisioningInputError(
                "the airbyte section needs tools.airbyte: its endpoint and secret names",
              );
            return airbyteHttpClient(airbyte, { ...deps, logger: options.logger });
          },
        },
        logger,
      ),
    ),
    WriteGrouparooConfigFunctionArn: bind(
      "WriteGrouparooConfigFunctionArn",
      "write-grouparoo-config",
      createWriteGrouparooConfigHandler(
        { ...core, sink: directoryGrouparooSink(join(options.stateDir, "grouparoo")) },
        logger,
      ),
    ),
    ToolStackFunctionArn: bind(
      "ToolStackFunctionArn",
      "tool-stack",
      createToolStackHandler(stackDeps, logger),
    ),
    ToolHealthFunctionArn: bind(
      "ToolHealthFunctionArn",
      "tool-health",
      createToolHealthHandler(
        // the tools as this process reaches them (the sandboxes unless --real)
        {
          config: { ...options.config, tools: options.tools },
          secrets: options.secrets,
          now: options.now,
          logger: options.logger,
        },
        logger,
      ),
    ),
  };
  const executions = new LocalStepFunctions({
    definitionPath: join(options.repoRoot, "state-machines", "provision.asl.json"),
    handlers,
    retryIntervalOverrides: options.retryIntervalOverrides,
    waitTimeOverrides,
  });
  const deprovisionHandlers: Record<DeprovisionFunction, TaskHandler> = {
    DeprovisioningRunFunctionArn: bind(
      "DeprovisioningRunFunctionArn",
      "deprovisioning-run",
      createDeprovisioningRunHandler(
        { ...core, stackNameOf, records: options.stackRecords, leftovers },
        logger,
      ),
    ),
    ToolStackFunctionArn: handlers.ToolStackFunctionArn,
  };
  const deprovisions = new LocalStepFunctions({
    definitionPath: join(options.repoRoot, "state-machines", "deprovision.asl.json"),
    handlers: deprovisionHandlers,
    retryIntervalOverrides: options.retryIntervalOverrides,
    waitTimeOverrides,
  });
  const deprovisionStarter = {
    start: async (input: DeprovisionInput) => {
      deprovisions.startExecution(input.runId, input);
    },
  };
  const starter: ProvisioningStarter = {
    start: async (input) => {
      executions.startExecution(input.runId, input);
    },
    going: async (runId) => executions.execution(runId)?.isRunning() ?? false,
  };
  const requests = { config: options.config, runs: options.store, starter, now: options.now };
  const connectionIds: ConnectionIdResolver = async (name) => {
    const recorded = await options.store.get("connection", name);
    if (!recorded) throw new ConnectionNotProvisionedError(name);
    return recorded.id;
  };
  return {
    starter,
    run: async (trigger) => {
      const { runId } = await requestProvisioning(requests, trigger);
      const execution = executions.execution(runId);
      if (!execution) throw new Error(`provision execution ${runId} did not start`);
      return { runId, execution };
    },
    deprovisionStarter,
    deprovision: async (trigger, purge = false) => {
      const { runId } = await requestDeprovisioning(
        { runs: options.store, starter: deprovisionStarter, now: options.now },
        { trigger, purge },
      );
      const execution = deprovisions.execution(runId);
      if (!execution) throw new Error(`deprovision execution ${runId} did not start`);
      return { runId, execution };
    },
    stacks: () => listToolStacks(options.config, options.stackRecords, stackNameOf),
    stackNameOf,
    connectionIds,
    connectionIdsByName: async () => {
      const declared = new Set(options.config.airbyte?.connections.map((c) => c.name) ?? []);
      const recorded = (await options.store.list()).filter(
        (o) => o.kind === "connection" && declared.has(o.name),
      );
      return Object.fromEntries(recorded.map((o) => [o.name, o.id]));
    },
    reconcileLeftovers: async () => {
      const last = await options.store.last();
      if (last?.status !== "running" || executions.execution(last.runId)) return undefined;
      await options.store.save(
        endedOutside(
          last,
          "ProvisioningAborted",
          "the control plane running it stopped before it ended",
          options.now().toISOString(),
        ),
      );
      await options.store.release(last.runId);
      return last.runId;
    },
    stop: async () => {
      const running = [...executions.executions(), ...deprovisions.executions()].filter((e) => e.isRunning());
      for (const execution of running) execution.abort("the embedded control plane was stopped");
      await Promise.all(running.map((e) => e.outcome));
    },
  };
}

/**
 * The values of the secrets provisioning sends to a sandboxed Airbyte (the sources' client secrets,
 * the loader's private key): random per session and never written anywhere, as the sandboxes' own
 * credentials are. A sandbox does nothing with them; a real Airbyte (--real airbyte) gets the real ones.
 */
export function standInSecrets(): SecretReader {
  const values = new Map<string, string>();
  return async (name) => {
    let value = values.get(name);
    if (value === undefined) {
      value = randomBytes(24).toString("base64url");
      values.set(name, value);
    }
    return value;
  };
}

/** What an execution's outcome says, for the console and logs. */
export function describeProvisioningOutcome(outcome: ExecutionOutcome): string {
  switch (outcome.status) {
    case "SUCCEEDED":
      return "succeeded";
    case "FAILED":
      return `failed (${outcome.error})`;
    case "TIMED_OUT":
      return "timed out";
    case "ABORTED":
      return "stopped";
  }
}

/**
 * The sandboxes' job runners, bound once provisioning has said which connection ids the kickstart's
 * syncs are (the sandboxes start before it, and their jobs only run after it). Until then a job
 * runs the plain timed runner.
 */
export function deferredRunners(): {
  readonly runners: Record<"airbyte" | "dbt-cloud" | "grouparoo", JobRunner>;
  bind(runners: Readonly<Record<"airbyte" | "dbt-cloud" | "grouparoo", JobRunner>>): void;
} {
  let bound: Readonly<Record<"airbyte" | "dbt-cloud" | "grouparoo", JobRunner>> | undefined;
  const runner =
    (tool: "airbyte" | "dbt-cloud" | "grouparoo"): JobRunner =>
    (context) =>
      (bound?.[tool] ?? timedJobRunner)(context);
  return {
    runners: { airbyte: runner("airbyte"), "dbt-cloud": runner("dbt-cloud"), grouparoo: runner("grouparoo") },
    bind: (runners) => {
      bound = runners;
    },
  };
}

/**
 * The secrets provisioning reads, embedded: the service users' private keys as the bootstrap made
 * them, then the tools' own (sandbox credentials, or the real ones with --real), then, for a
 * sandboxed Airbyte only, a stand-in for whatever its sources name (standInSecrets).
 */
export function provisioningSecrets(
  keys: PrivateKeyStore,
  tools: SecretReader,
  airbyteSandboxed: boolean,
): SecretReader {
  const standIns = standInSecrets();
  return async (name) => {
    const key = await keys.read(name);
    if (key !== undefined) return key;
    if (!airbyteSandboxed) return tools(name);
    return tools(name).catch(() => standIns(name));
  };
}

/** A key store in memory, for this process: the embedded bootstrap's service users' keys. */
export function memoryKeyStore(): PrivateKeyStore {
  const values = new Map<string, string>();
  return {
    read: async (name) => values.get(name),
    write: async (name, pem) => {
      values.set(name, pem);
    },
  };
}

/**
 * The embedded warehouse bootstrap as the provision state machine's bootstrapper: its part DuckDB
 * can hold on the embedded warehouse, the Snowflake plan on a scripted account kept in
 * `<state dir>/snowflake-account.json` (so a second start finds the plan applied), the service
 * users' keys in `keys` (this process's memory).
 */
export function embeddedBootstrapper(
  options: { readonly config: TapestryConfig; readonly repoRoot: string; readonly stateDir: string },
  warehouse: Warehouse,
  keys: PrivateKeyStore,
  logger: CoreLogger,
): () => WarehouseBootstrapper {
  return () => async (request) => {
    const config = options.config.warehouse;
    if (!config) throw new ProvisioningInputError("the config declares no warehouse section");
    const result = await bootstrapEmbeddedWarehouse({
      config,
      warehouse,
      repoRoot: options.repoRoot,
      accountFile: join(options.stateDir, "snowflake-account.json"),
      keys,
      logger,
      request,
    });
    return result.snowflake;
  };
}
