import type { z } from "zod";
import { type ToolName, ToolResponseError } from "../errors";
import { issuesText } from "../zod-messages";

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
