import {
  type EventData,
  PROVISIONING_STEPS,
  type ProvisioningEvent,
  type ProvisioningStep,
  type ToolObjectAction,
} from "../events";

/**
 * One provisioning run as GET /provisioning answers it: its steps in order, what each did, and its
 * outcome. Built from the run's own events as the tasks publish them (`applyProvisioningEvent`),
 * so the record says exactly what the events say.
 */

export type ProvisioningRunStatus = "running" | "succeeded" | "failed";
export type ProvisioningStepStatus = "pending" | "succeeded" | "failed" | "skipped";

export interface ProvisioningObjectRecord {
  readonly tool: string;
  readonly kind: string;
  readonly name: string;
  readonly id?: string;
  readonly action: ToolObjectAction;
  readonly changes?: readonly string[];
}

export interface ProvisioningStepRecord {
  readonly name: ProvisioningStep;
  readonly status: ProvisioningStepStatus;
  /** one line: what it did (statements applied, objects ensured), or why it failed */
  readonly summary?: string;
  readonly endedAt?: string;
}

export interface ProvisioningRunRecord {
  readonly runId: string;
  /** a deprovisioning run (DELETE /provisioning): its stack deletes are its deploy-tool-stacks step */
  readonly kind?: "deprovision";
  readonly trigger: "api" | "embedded" | "cli";
  readonly status: ProvisioningRunStatus;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  readonly steps: readonly ProvisioningStepRecord[];
  /** every object a tool step ensured, in the order it was done */
  readonly objects: readonly ProvisioningObjectRecord[];
  /** a deprovisioning run that succeeded: what it left on purpose (DeprovisioningSucceeded) */
  readonly remains?: EventData<"DeprovisioningSucceeded">["remains"];
  /** a deprovisioning run with purge: the parameters it deleted */
  readonly purged?: readonly string[];
  /** a failed run: the step, the error's name and message, the warehouse statement */
  readonly failure?: {
    readonly step: ProvisioningStep;
    readonly errorName: string;
    readonly error: string;
    readonly statement?: { readonly number: number; readonly version: string; readonly summary: string };
  };
}

/** A run's first record: every step it goes through pending, the others skipped. */
export function newRunRecord(
  runId: string,
  trigger: ProvisioningRunRecord["trigger"],
  startedAt: string,
  steps: readonly ProvisioningStep[],
): ProvisioningRunRecord {
  return {
    runId,
    trigger,
    status: "running",
    startedAt,
    steps: PROVISIONING_STEPS.map((name) => ({ name, status: steps.includes(name) ? "pending" : "skipped" })),
    objects: [],
  };
}

const withStep = (
  record: ProvisioningRunRecord,
  name: ProvisioningStep,
  change: Omit<ProvisioningStepRecord, "name">,
): ProvisioningRunRecord => ({
  ...record,
  steps: record.steps.map((step) => (step.name === name ? { name, ...change } : step)),
});

/** The record after one of its run's events (ProvisioningStarted begins it: see newRunRecord). */
export function applyProvisioningEvent(
  record: ProvisioningRunRecord,
  event: ProvisioningEvent,
): ProvisioningRunRecord {
  const at = event.detail.metadata.occurredAt;
  switch (event["detail-type"]) {
    case "ProvisioningStarted":
      return record;
    case "WarehouseBootstrapped": {
      const d = event.detail.data;
      return withStep(record, "bootstrap-warehouse", {
        status: "succeeded",
        summary: `${d.applied} statement${d.applied === 1 ? "" : "s"} applied, ${d.skipped} already applied (${d.account})`,
        endedAt: at,
      });
    }
    case "ToolConfigured": {
      const { tool, kind, name, id, action, changes } = event.detail.data;
      const object = { tool, kind, name, action, ...(id ? { id } : {}), ...(changes ? { changes } : {}) };
      const same = (o: ProvisioningObjectRecord) => o.tool === tool && o.kind === kind && o.name === name;
      const earlier = record.objects.find(same);
      // a retried step finds done what its first attempt did: the object counts once, as that attempt says
      if (earlier && earlier.action !== "unchanged" && action === "unchanged") return record;
      return {
        ...record,
        objects: earlier ? record.objects.map((o) => (same(o) ? object : o)) : [...record.objects, object],
      };
    }
    case "StackDeployStarted":
    case "StackDeployFailed":
    case "DeprovisioningStarted":
      return record;
    case "StackDeployed": {
      const d = event.detail.data;
      const action: ToolObjectAction = d.noChanges
        ? "unchanged"
        : d.resourcesCreated > 0 && d.resourcesUpdated === 0
          ? "created"
          : "updated";
      return withObject(record, { tool: d.tool, kind: "stack", name: d.stackName, action });
    }
    case "StackDeleted": {
      const d = event.detail.data;
      return withObject(record, { tool: d.tool, kind: "stack", name: d.stackName, action: "deleted" });
    }
    case "DeprovisioningSucceeded": {
      const d = event.detail.data;
      const durationMs = Math.max(0, Date.parse(d.endedAt) - Date.parse(record.startedAt));
      return {
        ...record,
        status: "succeeded",
        endedAt: d.endedAt,
        durationMs,
        steps: record.steps.map((step) =>
          step.status === "pending"
            ? { ...step, status: "succeeded", endedAt: step.endedAt ?? d.endedAt }
            : step,
        ),
        remains: d.remains,
        purged: d.purged,
      };
    }
    case "DeprovisioningFailed": {
      const d = event.detail.data;
      const step: ProvisioningStep = d.step === "validate" ? "validate" : "deploy-tool-stacks";
      return {
        ...record,
        status: "failed",
        endedAt: d.endedAt,
        failure: { step, errorName: d.errorName, error: d.error },
        steps: record.steps.map((s) =>
          s.name === step
            ? { ...s, status: "failed", summary: d.error, endedAt: d.endedAt }
            : s.name === "validate" && s.status === "pending"
              ? { ...s, status: "succeeded" }
              : s,
        ),
      };
    }
    case "ProvisioningSucceeded": {
      const d = event.detail.data;
      return {
        ...record,
        status: "succeeded",
        endedAt: d.endedAt,
        durationMs: d.durationMs,
        steps: record.steps.map((step) =>
          step.status === "pending"
            ? { ...step, status: "succeeded", endedAt: step.endedAt ?? d.endedAt }
            : step,
        ),
      };
    }
    case "ProvisioningFailed": {
      const d = event.detail.data;
      const failed = PROVISIONING_STEPS.indexOf(d.step);
      return {
        ...record,
        status: "failed",
        endedAt: d.endedAt,
        ...(d.durationMs === undefined ? {} : { durationMs: d.durationMs }),
        failure: {
          step: d.step,
          errorName: d.errorName,
          error: d.error,
          ...(d.statement ? { statement: d.statement } : {}),
        },
        steps: record.steps.map((step, i) => {
          if (step.name === d.step)
            return { ...step, status: "failed", summary: d.error, endedAt: d.endedAt };
          // what came before the failed step and was still pending had finished (its events say what)
          if (i < failed && step.status === "pending") return { ...step, status: "succeeded" };
          return step;
        }),
      };
    }
  }
}

function withObject(record: ProvisioningRunRecord, object: ProvisioningObjectRecord): ProvisioningRunRecord {
  const same = (o: ProvisioningObjectRecord) =>
    o.tool === object.tool && o.kind === object.kind && o.name === object.name;
  return record.objects.some(same)
    ? { ...record, objects: record.objects.map((o) => (same(o) ? object : o)) }
    : { ...record, objects: [...record.objects, object] };
}

/** Marks a step done (a step without an event of its own: validate, ensure-airbyte, ...), with a summary. */
export function completeStep(
  record: ProvisioningRunRecord,
  name: ProvisioningStep,
  summary: string,
  endedAt: string,
): ProvisioningRunRecord {
  return withStep(record, name, { status: "succeeded", summary, endedAt });
}
