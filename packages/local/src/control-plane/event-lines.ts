import type { ProvisioningEvent, TapestryEvent } from "@tapestry/core/events";
import { createColors } from "picocolors";

type Colors = ReturnType<typeof createColors>;

import type { DeadLetter } from "../bus";
import type { NotificationReport } from "./alerts";

const seconds = (ms: number | undefined) => (ms === undefined ? "" : `${(ms / 1000).toFixed(1)} s`);
const count = (n: number | undefined, unit: string) =>
  n === undefined ? "" : `${n.toLocaleString("en-US")} ${unit}${n === 1 ? "" : "s"}`;

/** One readable line per event, as `tapestry local` prints them; failures in red with their reason. */
export function formatEvent(event: TapestryEvent, options: { color: boolean }): string {
  const c = createColors(options.color);
  const time = c.dim(event.detail.metadata.occurredAt.slice(11, 19));
  const pipeline = c.bold(event.detail.metadata.pipeline ?? "");
  const line = (text: string) => `${time} ${pipeline} ${text}`;
  switch (event["detail-type"]) {
    case "PipelineRunStarted": {
      const { runId, trigger, stages } = event.detail.data;
      const skipped = stages.filter((stage) => stage.skipped).map((stage) => stage.name);
      const why =
        trigger.kind === "schedule"
          ? `scheduled for ${trigger.scheduledTime}`
          : trigger.kind === "startup"
            ? "at start-up"
            : trigger.kind === "retry"
              ? `retry of ${trigger.retryOf} from stage ${trigger.fromStage}${
                  skipped.length > 0 ? `; skipped ${skipped.join(", ")}: succeeded in ${trigger.retryOf}` : ""
                }`
              : "manual";
      return line(`${c.cyan("▶")} run ${runId} started (${why})`);
    }
    case "StepStarted": {
      const d = event.detail.data;
      const how = d.attached ? "attached to running job" : "started job";
      return line(`  ${d.stage}/${d.step} ${c.dim(d.tool)} ${how} ${d.externalId}`);
    }
    case "StepSucceeded": {
      const d = event.detail.data;
      const figures = [count(d.rows, "row"), seconds(d.durationMs)].filter(Boolean).join(", ");
      const warning = d.warning ? c.yellow(` (warning: ${d.warning})`) : "";
      return line(`  ${c.green("✓")} ${d.stage}/${d.step} ${c.dim(d.tool)} ${figures}${warning}`);
    }
    case "StepFailed": {
      const d = event.detail.data;
      return line(c.red(`  ✗ ${d.stage}/${d.step} ${d.tool} failed (${d.reason}): ${d.error}`));
    }
    case "PipelineRunSucceeded": {
      const d = event.detail.data;
      return line(c.green(`✔ run ${d.runId} succeeded: ${count(d.rows, "row")} in ${seconds(d.durationMs)}`));
    }
    case "PipelineRunFailed": {
      const d = event.detail.data;
      return line(c.red(`✘ run ${d.runId} failed: ${d.error}`));
    }
    case "PipelineRunSkipped": {
      const d = event.detail.data;
      const why =
        d.reason === "queue-timeout"
          ? `it waited longer than a run can take for run ${d.activeRunId} (overlap: queue)`
          : `run ${d.activeRunId} is still going (overlap: skip)`;
      return line(c.yellow(`↷ run ${d.runId} skipped: ${why}`));
    }
    case "PipelineRunQueued": {
      const d = event.detail.data;
      return line(c.yellow(`… run ${d.runId} queued behind run ${d.waitingFor} (overlap: queue)`));
    }
    case "PipelineRunCancelRequested": {
      const d = event.detail.data;
      return line(c.yellow(`■ run ${d.runId}: cancel requested${d.note ? ` (${d.note})` : ""}`));
    }
    case "PipelineRunCancelled": {
      const d = event.detail.data;
      const steps = d.cancelledSteps.length > 0 ? `; jobs cancelled: ${d.cancelledSteps.join(", ")}` : "";
      return line(c.yellow(`■ run ${d.runId} cancelled${steps}${d.error ? `; ${d.error}` : ""}`));
    }
    case "ThresholdBreached": {
      const d = event.detail.data;
      return line(c.red(`⚠ alert ${d.rule}${where(d)}: ${d.summary} (incident ${d.incidentId})`));
    }
    case "ThresholdRecovered": {
      const d = event.detail.data;
      return line(c.green(`✓ resolved ${d.rule}${where(d)}: ${d.summary} (incident ${d.incidentId})`));
    }
    default:
      return formatProvisioningEvent(event, c, time);
  }
}

/** Provisioning's lines: `provision` where a run's line has its pipeline. */
function formatProvisioningEvent(event: ProvisioningEvent, c: Colors, time: string): string {
  const line = (text: string) => `${time} ${c.bold("provision")} ${text}`;
  switch (event["detail-type"]) {
    case "ProvisioningStarted":
      return line(`${c.cyan("▶")} ${event.detail.data.runId} started (${event.detail.data.trigger})`);
    case "WarehouseBootstrapped": {
      const d = event.detail.data;
      return line(
        `  ${c.green("✓")} warehouse ${d.account}: ${count(d.applied, "statement")} applied, ${d.skipped} already applied`,
      );
    }
    case "ToolConfigured": {
      const d = event.detail.data;
      const mark = d.action === "unchanged" ? c.dim("=") : c.green("✓");
      const changes = d.changes && d.changes.length > 0 ? c.dim(` (${d.changes.join(", ")})`) : "";
      return line(`  ${mark} ${d.tool} ${d.kind} ${d.name} ${d.action}${changes}`);
    }
    case "ProvisioningSucceeded": {
      const d = event.detail.data;
      const { created, updated, unchanged } = d.objects;
      return line(
        c.green(
          `✔ ${d.runId} succeeded: ${created} created, ${updated} updated, ${unchanged} unchanged in ${seconds(d.durationMs)}`,
        ),
      );
    }
    case "ProvisioningFailed": {
      const d = event.detail.data;
      return line(c.red(`✘ ${d.runId} failed at ${d.step}: ${d.error}`));
    }
    case "StackDeployStarted": {
      const d = event.detail.data;
      return line(`  ${c.cyan("…")} ${d.tool} stack ${d.stackName}: ${d.action}`);
    }
    case "StackDeployed": {
      const d = event.detail.data;
      const what = d.noChanges
        ? "no changes"
        : `${d.resourcesCreated} resources created, ${d.resourcesUpdated} updated`;
      const url = d.outputs.Url ? ` at ${d.outputs.Url}` : "";
      const http = d.httpOnly ? c.yellow(" (plain HTTP: no certificateArn)") : "";
      return line(`  ${c.green("✓")} ${d.tool} stack ${d.stackName} deployed${url}: ${what}${http}`);
    }
    case "StackDeployFailed": {
      const d = event.detail.data;
      return line(c.red(`  ✘ ${d.tool} stack ${d.stackName} ${d.status}: ${d.resource}: ${d.reason}`));
    }
    case "StackDeleted": {
      const d = event.detail.data;
      return line(`  ${c.green("✓")} ${d.tool} stack ${d.stackName} deleted`);
    }
    case "DeprovisioningStarted": {
      const d = event.detail.data;
      const stacks = d.stacks.length > 0 ? d.stacks.join(", ") : "no stacks";
      return line(`${c.cyan("▶")} ${d.runId} deprovisioning started (${stacks}${d.purge ? ", purge" : ""})`);
    }
    case "DeprovisioningSucceeded": {
      const d = event.detail.data;
      const remains = d.remains.map((r) => `${r.kind} ${r.name}`).join("; ");
      return line(c.green(`✔ ${d.runId} deprovisioned; remains on purpose: ${remains || "nothing"}`));
    }
    case "DeprovisioningFailed": {
      const d = event.detail.data;
      return line(c.red(`✘ ${d.runId} deprovisioning failed at ${d.step}: ${d.error}`));
    }
  }
}

/** ` ingest/zoom` for an alert about a step, nothing for one about the whole pipeline. */
function where(alert: { readonly stage?: string; readonly step?: string }): string {
  if (alert.step === undefined) return "";
  return alert.stage === undefined ? ` ${alert.step}` : ` ${alert.stage}/${alert.step}`;
}

/** A bus delivery that failed for good: the ledger (or the console) is missing an event. */
export function formatDeadLetter(letter: DeadLetter, options: { color: boolean }): string {
  const c = createColors(options.color);
  const time = c.dim(letter.failedAt.slice(11, 19));
  const { detail } = letter.event;
  return c.red(
    `${time} ✘ ${letter.subscription} could not take ${letter.event["detail-type"]} of run ${detail.metadata.correlationId} after ${letter.attempts} attempts: ${letter.errorMessage} (counted in /status as controlPlane.deadLetters)`,
  );
}

const NOTIFICATION_KINDS: Readonly<Record<NotificationReport["kind"], string>> = {
  breach: "alert",
  resolved: "resolved",
  alarm: "alarm",
  "alarm-resolved": "alarm resolved",
};

/** A notification sent to Slack (or that could not be): one line, as `tapestry local` prints it. */
export function formatNotification(report: NotificationReport, options: { color: boolean }): string {
  const c = createColors(options.color);
  const time = c.dim(report.at.slice(11, 19));
  const pipeline = c.bold(report.pipeline ?? "");
  const what = `${NOTIFICATION_KINDS[report.kind]} ${report.about}`;
  if (report.outcome === "sent") {
    const retried =
      report.attempts !== undefined && report.attempts > 1 ? ` after ${report.attempts} attempts` : "";
    return `${time} ${pipeline} ${c.cyan("✉")} Slack: ${what} sent${retried}`;
  }
  return `${time} ${pipeline} ${c.red(`✉ Slack: ${what} not sent: ${report.error ?? "unknown error"}`)}`;
}
