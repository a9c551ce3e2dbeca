import { TOOL_NAMES } from "@tapestry/core/names";
import { type AirbyteSandbox, type AirbyteSandboxOptions, startAirbyteSandbox } from "./airbyte";
import { type DbtCloudSandbox, type DbtCloudSandboxOptions, startDbtCloudSandbox } from "./dbt-cloud";
import { type GrouparooSandbox, type GrouparooSandboxOptions, startGrouparooSandbox } from "./grouparoo";
import type { JobRunner } from "./lifecycle";
import { parseScenario, type Scenario } from "./scenario";
import type { SandboxLogger } from "./server";
import type { SandboxTool } from "./traffic";

export {
  AIRBYTE_DEFAULTS,
  type AirbyteJob,
  type AirbyteSandbox,
  type AirbyteSandboxOptions,
  airbyteProblem,
  startAirbyteSandbox,
} from "./airbyte";
export {
  type AirbyteConfigurationState,
  MASKED_SECRET,
  type SandboxActor,
  type SandboxConnection,
  type SandboxWorkspace,
} from "./airbyte-config";
export {
  DBT_CLOUD_DEFAULTS,
  type DbtCloudRun,
  type DbtCloudSandbox,
  type DbtCloudSandboxOptions,
  dbtCloudEnvelope,
  startDbtCloudSandbox,
} from "./dbt-cloud";
export {
  GROUPAROO_DEFAULTS,
  type GrouparooRun,
  type GrouparooSandbox,
  type GrouparooSandboxOptions,
  grouparooError,
  startGrouparooSandbox,
} from "./grouparoo";
export {
  type Execution,
  type ExecutionPlan,
  type JobRunContext,
  type JobRunner,
  type JobRunResult,
  type Outcome,
  type Phase,
  timedJobRunner,
} from "./lifecycle";
export {
  AIRBYTE_OPERATIONS,
  type AirbyteAuth,
  type AirbyteScenario,
  DBT_CLOUD_OPERATIONS,
  type DbtCloudAuth,
  type DbtCloudScenario,
  GROUPAROO_OPERATIONS,
  type GrouparooAuth,
  type GrouparooScenario,
  loadScenarioFile,
  parseScenario,
  type Scenario,
  ScenarioError,
  type ScenarioRule,
  scenarioSchema,
} from "./scenario";
export type { CommonSandboxOptions, SandboxHandle, SandboxLogEvent, SandboxLogger } from "./server";
export type { RecordedExchange, SandboxCounters, SandboxTool } from "./traffic";

export type AnySandbox = AirbyteSandbox | DbtCloudSandbox | GrouparooSandbox;

/** Property names of the sandboxes in a SandboxSet: "dbt-cloud" becomes `dbtCloud`. */
export type SandboxKey<T extends SandboxTool> = T extends "dbt-cloud" ? "dbtCloud" : T;
export type SandboxOf<T extends SandboxTool> = T extends "airbyte"
  ? AirbyteSandbox
  : T extends "dbt-cloud"
    ? DbtCloudSandbox
    : GrouparooSandbox;

export type SandboxSet<T extends SandboxTool = SandboxTool> = { [K in T as SandboxKey<K>]: SandboxOf<K> } & {
  /** the started sandboxes, in the order airbyte, dbt-cloud, grouparoo */
  all: AnySandbox[];
  /** closes every sandbox of the set */
  close(): Promise<void>;
};

export interface StartSandboxesOptions<T extends SandboxTool = SandboxTool> {
  /** which sandboxes to start; default all three */
  tools?: readonly T[];
  host?: string;
  /** one runner for all three tools, or one per tool */
  runner?: JobRunner | Partial<Record<SandboxTool, JobRunner>>;
  logger?: SandboxLogger;
  /** per-tool options (port, auth override, ids...); scenario sections come from the scenario */
  airbyte?: Omit<AirbyteSandboxOptions, "scenario">;
  dbtCloud?: Omit<DbtCloudSandboxOptions, "scenario">;
  grouparoo?: Omit<GrouparooSandboxOptions, "scenario">;
}

/**
 * Starts the sandboxes of a scenario together (all three unless `tools` says otherwise). The
 * scenario may be a parsed Scenario or a plain object (it is validated here); `close()` stops them all.
 */
export async function startSandboxes<T extends SandboxTool = SandboxTool>(
  scenario?: Scenario | unknown,
  options: StartSandboxesOptions<T> = {},
): Promise<SandboxSet<T>> {
  const parsed = parseScenario(scenario ?? {});
  const tools: readonly SandboxTool[] = options.tools ?? TOOL_NAMES;
  const runnerFor = (tool: SandboxTool): JobRunner | undefined =>
    typeof options.runner === "function" ? options.runner : options.runner?.[tool];
  const common = (tool: SandboxTool) => ({
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(runnerFor(tool) !== undefined ? { runner: runnerFor(tool) } : {}),
  });

  const started: AnySandbox[] = [];
  const closeAll = async () => {
    await Promise.all(started.map((sandbox) => sandbox.close()));
  };
  const set: Record<string, unknown> = {};
  try {
    if (tools.includes("airbyte")) {
      const sandbox = await startAirbyteSandbox({
        ...common("airbyte"),
        ...options.airbyte,
        scenario: parsed.airbyte,
      });
      started.push(sandbox);
      set.airbyte = sandbox;
    }
    if (tools.includes("dbt-cloud")) {
      const sandbox = await startDbtCloudSandbox({
        ...common("dbt-cloud"),
        ...options.dbtCloud,
        scenario: parsed["dbt-cloud"],
      });
      started.push(sandbox);
      set.dbtCloud = sandbox;
    }
    if (tools.includes("grouparoo")) {
      const sandbox = await startGrouparooSandbox({
        ...common("grouparoo"),
        ...options.grouparoo,
        scenario: parsed.grouparoo,
      });
      started.push(sandbox);
      set.grouparoo = sandbox;
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  set.all = started;
  set.close = closeAll;
  return set as SandboxSet<T>;
}
