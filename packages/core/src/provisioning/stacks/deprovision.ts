import * as z from "zod";
import type { TapestryConfig } from "../../config";
import type { EventData } from "../../events";
import { describeTaskError } from "../../pipeline/task-error";
import { taskErrorSchema } from "../../pipeline/task-io";
import { InvalidRequestError } from "../../status/errors";
import { ProvisioningBusyError, ProvisioningRunMissingError } from "../errors";
import { newRunRecord, type ProvisioningRunRecord } from "../run-record";
import type { ProvisioningRuns } from "../store";
import { provisionTimeoutSeconds } from "../task-errors";
import {
  PROVISIONING_TRIGGERS,
  type ProvisioningDeps,
  type ProvisioningTrigger,
  provisioningRunId,
  publishProvisioningEvent as publish,
} from "../tasks";
import { warehouseNames } from "../warehouse/names";
import type { StackTool } from "./cloudformation";
import { selfHostedTools } from "./hosting";
import type { ToolStackRecords } from "./records";

/**
 * The deprovision state machine's own tasks (state-machines/deprovision.asl.json): begin (the same
 * lock as provisioning: the two never run at once), then - after the stacks are deleted in reverse
 * order by the tool-stack tasks - the report of what remains on purpose, and the failure path.
 * A deprovisioning run is recorded beside provisioning's runs (`kind: "deprovision"`; its stack
 * deletes are its deploy-tool-stacks step), so GET /provisioning answers it as the last run.
 */

export const deprovisionInputSchema = z.object({
  runId: z.string().regex(/^provision-[0-9A-HJKMNP-TV-Z]{26}$/),
  trigger: z.enum(PROVISIONING_TRIGGERS),
  /** also delete the parameters Tapestry wrote: the recorded Airbyte ids (never a secret) */
  purge: z.boolean().default(false),
});
export type DeprovisionInput = z.output<typeof deprovisionInputSchema>;

/** The deletes in order: the reverse of the deploys (Grouparoo's stack reads from Airbyte's warehouse loads). */
export function deprovisionOrder(config: TapestryConfig): StackTool[] {
  return selfHostedTools(config).reverse();
}

export interface DeprovisionPlan {
  readonly deleteGrouparooStack: boolean;
  readonly deleteAirbyteStack: boolean;
  readonly purge: boolean;
}

async function claim(
  input: DeprovisionInput,
  deps: Pick<ProvisioningDeps, "runs" | "now">,
): Promise<ProvisioningRunRecord> {
  const existing = await deps.runs.getRun(input.runId);
  const record: ProvisioningRunRecord = existing ?? {
    ...newRunRecord(input.runId, input.trigger, deps.now().toISOString(), [
      "validate",
      "deploy-tool-stacks",
      "record-outputs",
    ]),
    kind: "deprovision",
  };
  const expiresAt = new Date(Date.parse(record.startedAt) + provisionTimeoutSeconds() * 1000).toISOString();
  const outcome = await deps.runs.begin(record, expiresAt);
  if (!outcome.begun) throw new ProvisioningBusyError(outcome.activeRunId);
  return record;
}

/** DELETE /provisioning's query: `purge=true` also deletes the parameters Tapestry wrote. */
export function parseDeprovisionQuery(params: Readonly<Record<string, string | undefined>> | undefined): {
  readonly purge: boolean;
} {
  const purge = params?.purge;
  if (purge === undefined || purge === "false") return { purge: false };
  if (purge === "true") return { purge: true };
  throw new InvalidRequestError([
    {
      field: "purge",
      message: 'expected "true" (also delete the parameters Tapestry wrote) or "false" (the default)',
    },
  ]);
}

/** DELETE /provisioning (and the CLI): claims the lock for a deprovisioning run and starts it. */
export async function requestDeprovisioning(
  ctx: {
    readonly runs: ProvisioningRuns;
    readonly starter: { start(input: DeprovisionInput): Promise<void> };
    now(): Date;
  },
  options: { readonly trigger?: ProvisioningTrigger; readonly purge?: boolean } = {},
): Promise<{ readonly runId: string; readonly status: "accepted"; readonly purge: boolean }> {
  const input: DeprovisionInput = {
    runId: provisioningRunId(ctx.now()),
    trigger: options.trigger ?? "api",
    purge: options.purge ?? false,
  };
  const record = await claim(input, ctx);
  try {
    await ctx.starter.start(input);
  } catch (error) {
    await ctx.runs.save({
      ...record,
      status: "failed",
      endedAt: ctx.now().toISOString(),
      failure: {
        step: "validate",
        errorName: error instanceof Error ? error.name : "Error",
        error: `the deprovision execution could not start: ${error instanceof Error ? error.message : String(error)}`,
      },
    });
    await ctx.runs.release(input.runId);
    throw error;
  }
  return { runId: input.runId, status: "accepted", purge: input.purge };
}

/** What the deprovisioning run's own tasks need. */
export interface DeprovisioningDeps extends ProvisioningDeps {
  readonly stackNameOf: (tool: StackTool) => string;
  readonly records: ToolStackRecords;
  readonly leftovers: Leftovers;
}

/** Task BeginDeprovisioning: the lock, DeprovisioningStarted, which stacks are deleted. */
export async function beginDeprovisioning(
  input: DeprovisionInput,
  deps: DeprovisioningDeps,
): Promise<DeprovisionPlan> {
  await claim(input, deps);
  const order = deprovisionOrder(deps.config);
  await publish(deps, "DeprovisioningStarted", {
    runId: input.runId,
    trigger: input.trigger,
    stacks: order.map(deps.stackNameOf),
    purge: input.purge,
  });
  return {
    deleteGrouparooStack: order.includes("grouparoo"),
    deleteAirbyteStack: order.includes("airbyte"),
    purge: input.purge,
  };
}

type Remains = EventData<"DeprovisioningSucceeded">["remains"];

/** What deleting a stack leaves behind on purpose, and what `purge` removes. */
export interface Leftovers {
  /** the parameters Tapestry wrote that outlive the stacks (the recorded Airbyte ids; secrets are the user's) */
  parameters(): Promise<readonly { readonly name: string; readonly why: string }[]>;
  /** deletes them; answers the names deleted */
  purge(): Promise<readonly string[]>;
}

/** Task ReportRemains: DeprovisioningSucceeded with what remains and why; the lock freed. */
export async function finishDeprovisioning(
  input: DeprovisionInput,
  deps: DeprovisioningDeps,
): Promise<{ readonly remains: Remains; readonly purged: readonly string[] }> {
  const record = await deps.runs.getRun(input.runId);
  if (!record) throw new ProvisioningRunMissingError(input.runId);
  const purged = input.purge ? [...(await deps.leftovers.purge())] : [];
  const remains: Remains = [
    ...(await stackRemains(deps.config, deps.records)),
    ...(input.purge
      ? []
      : (await deps.leftovers.parameters()).map((p) => ({
          kind: "parameter" as const,
          name: p.name,
          why: p.why,
          remove: "deprovision again with purge (DELETE /provisioning?purge=true)",
        }))),
    ...snowflakeRemains(deps.config),
  ];
  await publish(deps, "DeprovisioningSucceeded", {
    runId: input.runId,
    remains,
    purged,
    endedAt: deps.now().toISOString(),
  });
  await deps.runs.release(input.runId);
  return { remains, purged };
}

/** The retained bucket of Airbyte's stack and the final snapshot of Grouparoo's database. */
async function stackRemains(config: TapestryConfig, records: ToolStackRecords): Promise<Remains> {
  const remains: Remains = [];
  const tools = selfHostedTools(config);
  if (tools.includes("airbyte")) {
    const bucket = (await records.get("airbyte"))?.outputs.BucketName;
    remains.push({
      kind: "bucket",
      name: bucket ?? "the Airbyte stack's bucket (its BucketName output)",
      why: "Airbyte's logs, state and staging files: retained by its stack so a teardown never loses sync state",
      remove: `aws s3 rb s3://${bucket ?? "<BucketName>"} --force`,
    });
  }
  if (tools.includes("grouparoo")) {
    const stackName = (await records.get("grouparoo"))?.stackName ?? "the Grouparoo stack";
    remains.push({
      kind: "snapshot",
      name: `the final snapshot of ${stackName}'s database`,
      why: "Grouparoo's Postgres is snapshotted when its stack is deleted, so its records and history can be restored",
      remove: "aws rds delete-db-snapshot --db-snapshot-identifier <the snapshot's id, in RDS > Snapshots>",
    });
  }
  return remains;
}

/** The warehouse's objects: provisioning never drops data; the SQL to do it by hand. */
function snowflakeRemains(config: TapestryConfig): Remains {
  if (!config.warehouse) return [];
  const names = warehouseNames(config.warehouse);
  const statements = [
    ...Object.values(names.users).map((u) => `DROP USER IF EXISTS ${u.user};`),
    ...Object.values(names.roles).map((role) => `DROP ROLE IF EXISTS ${role};`),
    `DROP DATABASE IF EXISTS ${names.databases.analytics};`,
    `DROP DATABASE IF EXISTS ${names.databases.raw};`,
    `DROP DATABASE IF EXISTS ${names.databases.admin};`,
    `DROP WAREHOUSE IF EXISTS ${names.warehouse};`,
    ...(names.resourceMonitor ? [`DROP RESOURCE MONITOR IF EXISTS ${names.resourceMonitor};`] : []),
    ...(names.networkPolicy ? [`DROP NETWORK POLICY IF EXISTS ${names.networkPolicy};`] : []),
  ];
  return [
    {
      kind: "snowflake",
      name: `${names.account}: ${names.databases.raw}, ${names.databases.analytics}, ${names.databases.admin}, ${names.warehouse}, the roles and service users`,
      why: "the warehouse holds your data: Tapestry never drops it",
      remove: statements.join("\n"),
    },
  ];
}

export const failDeprovisioningInputSchema = deprovisionInputSchema.extend({
  step: z.string(),
  failure: taskErrorSchema,
});

/** Task PublishDeprovisioningFailed: the step (the stack) and the reason; the lock freed. */
export async function failDeprovisioning(
  input: z.output<typeof failDeprovisioningInputSchema>,
  deps: ProvisioningDeps,
): Promise<void> {
  await publish(deps, "DeprovisioningFailed", {
    runId: input.runId,
    step: input.step,
    errorName: input.failure.Error,
    error: describeTaskError(input.failure).slice(0, 2000),
    endedAt: deps.now().toISOString(),
  });
  await deps.runs.release(input.runId);
}
