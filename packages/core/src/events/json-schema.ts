import * as z from "zod";
import {
  ALERT_DETAIL_TYPES,
  DETAIL_TYPES,
  type DetailType,
  EVENT_CATALOG,
  eventSchema,
  eventSourceOf,
} from "./catalog";

/**
 * The event catalog as JSON Schema (draft 2020-12), for consumers that do not run our zod code:
 * one schema per detail-type and version, generated from the catalog (never written by hand) into
 * docs/events/ by `npm run events:schemas`; a test fails when the committed files drift.
 *
 * The schemas describe what a consumer may rely on, so they are generated in zod's "input" mode:
 * objects allow properties they do not name, because adding a field is a minor change within a
 * version (see catalog.ts) and must not break a consumer validating with the older file.
 */

/** What each event means, and the data fields worth knowing first (the README's table). */
export const EVENT_DOCS: Record<
  DetailType,
  { readonly summary: string; readonly keyFields: readonly string[] }
> = {
  PipelineRunStarted: {
    summary:
      "A run of a pipeline began (scheduled, manual, or a retry of a run that failed: its earlier stages marked skipped) and took the pipeline's run lock.",
    keyFields: ["runId", "trigger", "stages"],
  },
  StepStarted: {
    summary: "A step's external job was started, or one already in flight was adopted (attached).",
    keyFields: ["stage", "step", "tool", "externalId", "url", "attached", "deadline"],
  },
  StepSucceeded: {
    summary:
      "A step's external job succeeded and passed its guards (a warning marks a success with reservations).",
    keyFields: ["stage", "step", "tool", "rows", "bytes", "durationMs", "toolStatus", "warning"],
  },
  StepFailed: {
    summary:
      "A step failed: the tool said so, its status was unknown, it moved fewer rows than required, it timed out, or it could not be started.",
    keyFields: ["stage", "step", "tool", "reason", "error", "externalId", "toolStatus"],
  },
  PipelineRunSucceeded: {
    summary: "Every step of every stage succeeded; the run lock was released.",
    keyFields: ["runId", "durationMs", "rows"],
  },
  PipelineRunFailed: {
    summary:
      "A step failed (later stages did not run), the run itself failed, or its execution ended outside the state machine's paths (aborted, timed out, history limit) and was reconciled; the run lock was released.",
    keyFields: ["runId", "reason", "failedSteps", "error", "durationMs"],
  },
  PipelineRunSkipped: {
    summary:
      "A run was not started: another run of the pipeline still held the run lock (overlap: skip), or it waited its turn longer than a run can take (queue-timeout).",
    keyFields: ["runId", "trigger", "reason", "activeRunId"],
  },
  PipelineRunQueued: {
    summary:
      "A run of a pipeline whose overlap policy is queue waits for the run ahead of it; queued runs start in the order they were asked for.",
    keyFields: ["runId", "trigger", "requestedAt", "waitingFor"],
  },
  PipelineRunCancelRequested: {
    summary: "Someone asked to cancel a run; its execution is being stopped and its jobs cancelled.",
    keyFields: ["runId", "requestedAt", "note"],
  },
  PipelineRunCancelled: {
    summary: "A run was cancelled on request: its execution stopped, its jobs cancelled, its lock released.",
    keyFields: ["runId", "cancelledSteps", "error", "durationMs"],
  },
  ProvisioningStarted: {
    summary:
      "A provisioning run began (POST /provisioning, the embedded control plane or the CLI): the warehouse bootstrap, then the tools' objects.",
    keyFields: ["runId", "trigger", "steps"],
  },
  WarehouseBootstrapped: {
    summary:
      "The warehouse bootstrap ran: the statements applied now and those found applied before (a re-run applies only new ones), and each service user's key pair.",
    keyFields: ["account", "applied", "skipped", "keys"],
  },
  ToolConfigured: {
    summary:
      "Provisioning ensured one object of a tool by its name: an Airbyte workspace, destination, source or connection, or a Grouparoo config file, created, updated, left unchanged or deleted.",
    keyFields: ["tool", "kind", "name", "id", "action", "changes"],
  },
  ProvisioningSucceeded: {
    summary:
      "Every step of a provisioning run succeeded; the tools' objects are as the config declares them.",
    keyFields: ["runId", "durationMs", "objects"],
  },
  ProvisioningFailed: {
    summary:
      "A provisioning run stopped at a step (the warehouse statement that failed, an Airbyte object that could not be ensured ...); the steps after it did not run, and a re-run resumes.",
    keyFields: ["runId", "step", "errorName", "error", "statement"],
  },
  StackDeployStarted: {
    summary:
      "Provisioning began deploying a self-hosted tool's stack: created, updated, or (a stack that never came up) deleted and created again.",
    keyFields: ["runId", "tool", "stackName", "action"],
  },
  StackDeployed: {
    summary:
      "A self-hosted tool's stack is deployed: its outputs (Url, LoadBalancerDnsName ...), the resources this deploy created and updated, or no changes.",
    keyFields: [
      "tool",
      "stackName",
      "outputs",
      "resourcesCreated",
      "resourcesUpdated",
      "noChanges",
      "httpOnly",
    ],
  },
  StackDeployFailed: {
    summary:
      "A self-hosted tool's stack failed to deploy (or was still deploying at its deadline): the first resource that failed and its reason, and the stack's status.",
    keyFields: ["tool", "stackName", "resource", "reason", "status"],
  },
  StackDeleted: {
    summary: "Deprovisioning deleted a self-hosted tool's stack.",
    keyFields: ["tool", "stackName"],
  },
  DeprovisioningStarted: {
    summary:
      "A deprovisioning run began (DELETE /provisioning): the tool stacks are deleted in reverse order of their deploy.",
    keyFields: ["runId", "stacks", "purge"],
  },
  DeprovisioningSucceeded: {
    summary:
      "The tool stacks are deleted; what remains on purpose (retained buckets, the final database snapshot, parameters, the Snowflake objects) is listed with how to remove it.",
    keyFields: ["runId", "remains", "purged"],
  },
  DeprovisioningFailed: {
    summary:
      "A deprovisioning run stopped: the stack that could not be deleted and why; a re-run carries on.",
    keyFields: ["runId", "step", "errorName", "error"],
  },
  ThresholdBreached: {
    summary:
      "A pipeline crossed one of its alert thresholds (a failed run, a run too long, a step below its minRows, no success for too long, rows far below their history): an incident opens, notified once; correlationId is the incident's id.",
    keyFields: ["incidentId", "pipeline", "step", "rule", "figure", "threshold", "unit", "runId", "summary"],
  },
  ThresholdRecovered: {
    summary:
      "A threshold that was breached is met again (the incident of the same incidentId is resolved, notified once as resolved).",
    keyFields: ["incidentId", "pipeline", "step", "rule", "figure", "threshold", "openedAt", "resolvedAt"],
  },
};

/** The file name of a detail-type's schema: `<DetailType>.v<version>.json`. */
export function eventSchemaFileName(type: DetailType): string {
  return `${type}.v${EVENT_CATALOG[type].version}.json`;
}

/** The `$id` of a detail-type's schema. */
export function eventSchemaId(type: DetailType): string {
  return `urn:tapestry:event:${type}:v${EVENT_CATALOG[type].version}`;
}

/** One JSON Schema per detail-type, keyed by its file name (`<DetailType>.v<version>.json`). */
export function eventJsonSchemas(): Record<string, object> {
  const schemas: Record<string, object> = {};
  for (const type of DETAIL_TYPES) {
    const { $schema, ...body } = z.toJSONSchema(eventSchema(type), {
      target: "draft-2020-12",
      io: "input",
      unrepresentable: "throw",
    });
    schemas[eventSchemaFileName(type)] = {
      $schema,
      $id: eventSchemaId(type),
      title: `${type} v${EVENT_CATALOG[type].version}`,
      description: `${EVENT_DOCS[type].summary} Source: ${eventSourceOf(type)}; detail = { metadata, data }, metadata.correlationId = data.${(ALERT_DETAIL_TYPES as readonly string[]).includes(type) ? "incidentId" : "runId"}.`,
      ...body,
    };
  }
  return schemas;
}

/** An event schema as the EventBridge schema registry takes it. */
export interface RegistryEventSchema {
  /** `<source>@<DetailType>`, the form of the registry's discovered schemas */
  readonly name: string;
  readonly detailType: DetailType;
  readonly version: number;
  /** JSON Schema draft 4: the only JSON Schema draft the registry accepts (`JSONSchemaDraft4`) */
  readonly content: string;
}

export function eventRegistrySchemas(): readonly RegistryEventSchema[] {
  return DETAIL_TYPES.map((type) => {
    const schema = z.toJSONSchema(eventSchema(type), {
      target: "draft-04",
      io: "input",
      unrepresentable: "throw",
    });
    return {
      name: `${eventSourceOf(type)}@${type}`,
      detailType: type,
      version: EVENT_CATALOG[type].version,
      content: JSON.stringify({
        ...schema,
        title: `${type} v${EVENT_CATALOG[type].version}`,
        description: EVENT_DOCS[type].summary,
      }),
    };
  });
}
