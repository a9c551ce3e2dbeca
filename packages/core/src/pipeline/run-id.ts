import { decodeTime, monotonicFactory } from "ulid";
import type { RunTrigger } from "../events";
import { PIPELINE_NAME } from "../names";

/**
 * Run ids double as Step Functions execution names (at most 80 of [A-Za-z0-9-_]), so a second
 * start with the same id is refused by the service itself. A scheduled run's id derives from the
 * pipeline and the scheduled time: a duplicate delivery of the same fire cannot start a second
 * run. A manual run's id carries a ULID.
 */
const RUN_ID = new RegExp(
  `^(${PIPELINE_NAME.pattern.source.slice(1, -1)})-(\\d{8}T\\d{6}Z|m[0-9A-HJKMNP-TV-Z]{26})$`,
);

const nextUlid = monotonicFactory();

export function scheduledRunId(pipeline: string, scheduledTime: Date): string {
  const stamp = scheduledTime
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");
  return `${pipeline}-${stamp}`;
}

export function manualRunId(pipeline: string, now: Date): string {
  return `${pipeline}-m${nextUlid(now.getTime())}`;
}

/** The pipeline a run id belongs to, or undefined when it is not a run id. */
export function parseRunId(runId: string): { pipeline: string; kind: "schedule" | "manual" } | undefined {
  const match = RUN_ID.exec(runId);
  if (!match?.[1] || !match[2]) return undefined;
  return { pipeline: match[1], kind: match[2].startsWith("m") ? "manual" : "schedule" };
}

/**
 * When a run was asked for: a scheduled run's fire time, a manual run's request time (the time of
 * the ULID in its id). Queued runs start in this order.
 */
export function runRequestedAt(runId: string, trigger: RunTrigger): Date {
  if (trigger.scheduledTime) return new Date(trigger.scheduledTime);
  const ulid = /-m([0-9A-HJKMNP-TV-Z]{26})$/.exec(runId)?.[1];
  return ulid ? new Date(decodeTime(ulid)) : new Date(0);
}
