import { monotonicFactory } from "ulid";
import * as z from "zod";
import type { TapestryConfig } from "../config";
import type { ConnectorDependencies, SecretReader } from "../connectors/types";
import {
  createEvent,
  type EventData,
  type EventPublisher,
  PROVISIONING_STEPS,
  type ProvisioningDetailType,
  type ProvisioningEvent,
  type ProvisioningStep,
} from "../events";
import type { HttpClient } from "../http";
import type { Logger } from "../logging";
import { describeTaskError } from "../pipeline/task-error";
import { taskErrorSchema } from "../pipeline/task-io";
import { AirbyteConfigClient } from "./airbyte/client";
import { desiredAirbyteState } from "./airbyte/desired";
import { ensureAirbyteObjects } from "./airbyte/ensure";
import { NothingToProvisionError, ProvisioningBusyError, ProvisioningRunMissingError } from "./errors";
import { grouparooConfigBundle } from "./grouparoo/files";
import { type GrouparooConfigSink, writeGrouparooConfig } from "./grouparoo/write";
import { applyProvisioningEvent, completeStep, newRunRecord, type ProvisioningRunRecord } from "./run-record";
import { selfHostedTools } from "./stacks/hosting";
import type { ProvisionedObjects, ProvisioningRuns } from "./store";
import { provisionTimeoutSeconds } from "./task-errors";
import type { WarehouseBootstrapper } from "./warehouse/contract";
import { WarehouseBootstrapError } from "./warehouse/errors";

/**
 * The tasks of the `provision` state machine (state-machines/provision.asl.json): each does one
 * step, publishes its events and records them in the run's record as it goes, so that
 * GET /provisioning shows a run as far as it got. A re-run after a failure resumes: the warehouse
 * bootstrap skips what its history says is applied, and every tool object is looked up by name
 * before anything is written.
 */

export const PROVISIONING_TRIGGERS = ["api", "embedded", "cli"] as const;
export type ProvisioningTrigger = (typeof PROVISIONING_TRIGGERS)[number];

const nextId = monotonicFactory();

/** A provisioning run's id (and the execution's name): `provision-<ULID>`. */
export function provisioningRunId(now: Date): string {
  return `provision-${nextId(now.getTime())}`;
}

export const provisionInputSchema = z.object({
  runId: z.string().regex(/^provision-[0-9A-HJKMNP-TV-Z]{26}$/),
  trigger: z.enum(PROVISIONING_TRIGGERS),
});
export type ProvisionInput = z.output<typeof provisionInputSchema>;

/** What a provisioning run's tasks need; each adapter is built only by the tasks that use it. */
export interface ProvisioningDeps {
  readonly config: TapestryConfig;
  readonly runs: ProvisioningRuns;
  readonly publisher: EventPublisher;
  readonly now: () => Date;
  readonly logger: Logger;
}

export interface BootstrapDeps extends ProvisioningDeps {
  /** the warehouse section's bootstrapper (prov-warehouse's createWarehouseBootstrapper, or a stand-in) */
  readonly bootstrapper: () => WarehouseBootstrapper;
}

export interface EnsureAirbyteTaskDeps extends ProvisioningDeps {
  readonly objects: ProvisionedObjects;
  /** the secrets the objects' settings name */
  readonly secrets: SecretReader;
  /** Airbyte's public API with the config's auth (connectors/airbyte airbyteHttpClient) */
  readonly airbyte: (deps: Pick<ConnectorDependencies, "secrets">) => Promise<HttpClient>;
}

export interface GrouparooTaskDeps extends ProvisioningDeps {
  readonly sink: GrouparooConfigSink;
}

/** Which steps a config gives a run: a step with nothing configured for it is skipped. */
export function provisioningSteps(config: TapestryConfig): ProvisioningStep[] {
  return [
    "validate",
    ...(config.warehouse ? (["bootstrap-warehouse"] as const) : []),
    ...(selfHostedTools(config).length > 0 ? (["deploy-tool-stacks"] as const) : []),
    ...(config.airbyte ? (["ensure-airbyte"] as const) : []),
    ...(config.grouparoo ? (["write-grouparoo-config"] as const) : []),
    "record-outputs",
  ];
}

/**
 * Takes the stage's provisioning lock for a new run and stores its first record (POST /provisioning
 * does this before it starts the execution, so a second request is refused at once; the
 * execution's first task does it again, which changes nothing for the same run).
 */
export async function claimProvisioningRun(
  input: ProvisionInput,
  deps: Pick<ProvisioningDeps, "config" | "runs" | "now">,
): Promise<ProvisioningRunRecord> {
  const steps = provisioningSteps(deps.config);
  if (steps.length === 2) throw new NothingToProvisionError();
  const now = deps.now();
  const existing = await deps.runs.getRun(input.runId);
  const record = existing ?? newRunRecord(input.runId, input.trigger, now.toISOString(), steps);
  const expiresAt = new Date(Date.parse(record.startedAt) + provisionTimeoutSeconds() * 1000).toISOString();
  const outcome = await deps.runs.begin(record, expiresAt);
  if (!outcome.begun) throw new ProvisioningBusyError(outcome.activeRunId);
  return record;
}

export interface BeginOutput {
  readonly startedAt: string;
  readonly bootstrapWarehouse: boolean;
  readonly ensureAirbyte: boolean;
  readonly writeGrouparooConfig: boolean;
  /** the self-hosted tools' stacks (provisioning.hosting) */
  readonly deployAirbyteStack: boolean;
  readonly deployGrouparooStack: boolean;
}

/** Task BeginProvisioning (the "validate" step): the lock, ProvisioningStarted, which steps run. */
export async function beginProvisioning(input: ProvisionInput, deps: ProvisioningDeps): Promise<BeginOutput> {
  const record = await claimProvisioningRun(input, deps);
  const steps = record.steps.filter((s) => s.status !== "skipped").map((s) => s.name);
  await publish(deps, "ProvisioningStarted", { runId: input.runId, trigger: input.trigger, steps });
  await deps.runs.save(
    completeStep(record, "validate", "the config declares what to provision", deps.now().toISOString()),
  );
  return {
    startedAt: record.startedAt,
    bootstrapWarehouse: steps.includes("bootstrap-warehouse"),
    ensureAirbyte: steps.includes("ensure-airbyte"),
    writeGrouparooConfig: steps.includes("write-grouparoo-config"),
    deployAirbyteStack: selfHostedTools(deps.config).includes("airbyte"),
    deployGrouparooStack: selfHostedTools(deps.config).includes("grouparoo"),
  };
}

/** Task BootstrapWarehouse: the warehouse's statements, then WarehouseBootstrapped. */
export async function bootstrapWarehouse(
  input: ProvisionInput,
  deps: BootstrapDeps,
  invocation: { readonly deadline: number },
): Promise<{ readonly applied: number; readonly skipped: number }> {
  let result: Awaited<ReturnType<WarehouseBootstrapper>>;
  try {
    // no statement starts that could not end before the invocation does: a retry resumes
    result = await deps.bootstrapper()({ deadline: invocation.deadline });
  } catch (error) {
    // the statement a failure happened at goes into the record, for ProvisioningFailed to name
    if (error instanceof WarehouseBootstrapError && error.statement) {
      const record = await deps.runs.getRun(input.runId);
      if (record) {
        await deps.runs.save({
          ...record,
          failure: {
            step: "bootstrap-warehouse",
            errorName: error.name,
            error: error.message,
            statement: error.statement,
          },
        });
      }
    }
    throw error;
  }
  await publish(deps, "WarehouseBootstrapped", {
    runId: input.runId,
    account: result.account,
    applied: result.counts.applied,
    skipped: result.counts.skipped,
    keys: result.keys.map((key) => ({
      tool: key.tool,
      state: key.state,
      ...(key.fingerprint ? { fingerprint: key.fingerprint } : {}),
    })),
  });
  return { applied: result.counts.applied, skipped: result.counts.skipped };
}

/** Task EnsureAirbyteObjects: the workspace, destination, sources and connections by name. */
export async function ensureAirbyte(
  input: ProvisionInput,
  deps: EnsureAirbyteTaskDeps,
  invocation: { readonly deadline: number },
): Promise<{ readonly objects: number }> {
  const desired = await desiredAirbyteState(deps.config, deps.secrets);
  const client = new AirbyteConfigClient(
    await deps.airbyte({ secrets: deps.secrets }),
    () => invocation.deadline,
    desired.secretValues,
  );
  const ensured = await ensureAirbyteObjects(desired, {
    client,
    objects: deps.objects,
    now: deps.now,
    onObject: (object) =>
      publish(deps, "ToolConfigured", {
        runId: input.runId,
        tool: "airbyte",
        kind: object.kind,
        name: object.name,
        id: object.id,
        action: object.action,
        ...(object.changes ? { changes: [...object.changes] } : {}),
      }),
  });
  await saveStep(deps, input.runId, "ensure-airbyte", `${ensured.length} Airbyte objects ensured`);
  return { objects: ensured.length };
}

/** Task WriteGrouparooConfig: Grouparoo's config files, written where it reads them. */
export async function writeGrouparooConfigTask(
  input: ProvisionInput,
  deps: GrouparooTaskDeps,
): Promise<{ readonly files: number }> {
  const written = await writeGrouparooConfig(grouparooConfigBundle(deps.config), deps.sink, (file) =>
    publish(deps, "ToolConfigured", {
      runId: input.runId,
      tool: "grouparoo",
      kind: "file",
      name: file.path,
      action: file.action,
    }),
  );
  await saveStep(
    deps,
    input.runId,
    "write-grouparoo-config",
    `${written.length} Grouparoo config files written`,
  );
  return { files: written.length };
}

/** Task RecordOutputs: ProvisioningSucceeded with what was done to the tools' objects; the lock freed. */
export async function finishProvisioning(
  input: ProvisionInput,
  deps: ProvisioningDeps,
): Promise<{ readonly objects: Readonly<Record<string, number>> }> {
  const record = await deps.runs.getRun(input.runId);
  if (!record) throw new ProvisioningRunMissingError(input.runId);
  const now = deps.now();
  const counts = { created: 0, updated: 0, unchanged: 0, deleted: 0 };
  for (const object of record.objects) counts[object.action] += 1;
  await publish(deps, "ProvisioningSucceeded", {
    runId: input.runId,
    startedAt: record.startedAt,
    endedAt: now.toISOString(),
    durationMs: Math.max(0, now.getTime() - Date.parse(record.startedAt)),
    objects: counts,
  });
  await deps.runs.release(input.runId);
  return { objects: counts };
}

export const failProvisioningInputSchema = provisionInputSchema.extend({
  step: z.enum(PROVISIONING_STEPS),
  failure: taskErrorSchema,
});
export type FailProvisioningInput = z.output<typeof failProvisioningInputSchema>;

/** Task PublishProvisioningFailed: ProvisioningFailed naming the step and the reason; the lock freed. */
export async function failProvisioning(input: FailProvisioningInput, deps: ProvisioningDeps): Promise<void> {
  const record = await deps.runs.getRun(input.runId);
  const now = deps.now();
  const statement = record?.failure?.step === input.step ? record.failure.statement : undefined;
  await publish(deps, "ProvisioningFailed", {
    runId: input.runId,
    step: input.step,
    errorName: input.failure.Error,
    error: describeTaskError(input.failure).slice(0, 2000),
    ...(statement ? { statement } : {}),
    ...(record
      ? { startedAt: record.startedAt, durationMs: Math.max(0, now.getTime() - Date.parse(record.startedAt)) }
      : {}),
    endedAt: now.toISOString(),
  });
  // frees the lock only if this run holds it: a run refused because another holds it leaves it be
  await deps.runs.release(input.runId);
}

/**
 * Publishes one of the run's events (provisioning's or deprovisioning's), then folds it into the run's record (a run refused before it
 * had one, e.g. while another held the lock, has its events and no record).
 */
async function publish<T extends ProvisioningDetailType>(
  deps: Pick<ProvisioningDeps, "publisher" | "runs" | "now">,
  type: T,
  data: EventData<T>,
): Promise<void> {
  const event = createEvent(type, data, { now: deps.now() }) as ProvisioningEvent;
  await deps.publisher.publish([event]);
  const record = await deps.runs.getRun(data.runId);
  if (record) await deps.runs.save(applyProvisioningEvent(record, event));
}

async function saveStep(deps: ProvisioningDeps, runId: string, step: ProvisioningStep, summary: string) {
  const record = await deps.runs.getRun(runId);
  if (record) await deps.runs.save(completeStep(record, step, summary, deps.now().toISOString()));
}

/** The same, for the tool-stack and deprovisioning tasks (stacks/). */
export const publishProvisioningEvent = publish;
