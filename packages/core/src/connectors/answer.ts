import type { z } from "zod";
import { type ToolName, ToolResponseError, ToolUnavailableError } from "../errors";
import { issuesText } from "../zod-messages";
import { endedOnItsOwn } from "./job-status";
import type { JobStatus } from "./types";

/** Parses a tool's answer; a shape we do not know fails closed, naming the field. */
export function parseAnswer<T extends z.ZodType>(
  tool: ToolName,
  what: string,
  schema: T,
  body: unknown,
): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = issuesText(result.error.issues);
  throw new ToolResponseError(tool, `${tool} answered ${what} with an unexpected shape (${problems})`);
}

/** The cause text sent to tools that keep one (dbt Cloud): names pipeline, run and step, within `max` characters. */
export function describeTrigger(pipeline: string, runId: string, step: string, max: number): string {
  const text = `Tapestry pipeline ${pipeline} run ${runId} step ${step}`;
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

export function wasCreatedSince(createdAt: string | null | undefined, sinceMs: number): boolean {
  if (!createdAt) return false;
  const time = Date.parse(createdAt);
  return !Number.isNaN(time) && time >= sinceMs;
}

/** Fail closed: a status the connector does not know fails the step, naming the status. */
export function unknownStatus(toolLabel: string, status: string, job: string) {
  return {
    state: "failed",
    reason: "unknown-status",
    error: `${toolLabel} reported status ${status} for ${job}, which Tapestry does not know; failing the step rather than guessing`,
  } as const;
}

/**
 * Fail closed, and leave nothing running: a job in a status we do not know is cancelled before
 * its step fails, and the failure says both what the tool reported and whether the cancel took.
 * A cancel that finds the job finished after all hands back its own final state. A cancel that
 * fails for a passing reason is thrown (ToolUnavailableError, both stories in its message), so
 * that the state machine polls again and, in the end, cancels the abandoned job itself.
 */
export async function cancelUnknownStatus(
  tool: ToolName,
  status: JobStatus,
  cancel: () => Promise<JobStatus>,
): Promise<JobStatus> {
  if (status.reason !== "unknown-status") return status;
  let after: JobStatus;
  try {
    after = await cancel();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    if (error instanceof ToolUnavailableError) {
      throw new ToolUnavailableError(
        tool,
        `${status.error}; cancelling the job failed: ${why}`,
        { ambiguous: false },
        { cause: error },
      );
    }
    return {
      ...status,
      error: `${status.error}; cancelling the job failed, so it may still be running: ${why}`,
    };
  }
  if (endedOnItsOwn(after)) return after;
  const took =
    after.state === "cancelled"
      ? "the job was cancelled"
      : `a cancel was requested; the job reports ${after.toolStatus} for now`;
  return { ...status, error: `${status.error}; ${took}` };
}
