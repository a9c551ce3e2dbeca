import { type ToolName, ToolUnavailableError } from "../errors";
import type { Logger } from "../logging";
import type { StartedJob } from "./types";

export interface TriggerPlan {
  /** Sends the trigger. "conflict" means the tool refused because a job is already running (Airbyte's 409). */
  trigger(): Promise<StartedJob | "conflict">;
  /** A job to adopt instead of starting one: in flight now, or created by a trigger sent at `triggeredAt`. */
  findExisting(triggeredAt: number): Promise<StartedJob | undefined>;
}

/**
 * Starts a job without ever starting two. A trigger is not retried blindly: after a conflict or an
 * ambiguous failure (timeout, dropped connection or 5xx after the request was sent) the job is
 * looked up first, and only when there is none is the trigger sent again, at most `maxTriggers` times.
 */
export async function startWithoutDuplicates(
  tool: ToolName,
  plan: TriggerPlan,
  options: { maxTriggers: number; now: () => number; logger: Logger },
): Promise<StartedJob> {
  let lastProblem: ToolUnavailableError | undefined;
  for (let attempt = 1; attempt <= options.maxTriggers; attempt++) {
    const triggeredAt = options.now();
    try {
      const started = await plan.trigger();
      if (started !== "conflict") return started;
      lastProblem = new ToolUnavailableError(
        tool,
        `${tool} kept refusing the trigger as a conflict, yet no running job could be found to attach to`,
        { ambiguous: false, status: 409 },
      );
    } catch (error) {
      if (!(error instanceof ToolUnavailableError && error.detail.ambiguous)) throw error;
      lastProblem = error;
    }
    const existing = await plan.findExisting(triggeredAt);
    if (existing) return existing;
    options.logger.warn(`${tool} trigger: no job found after an unclear answer; triggering again`, {
      tool,
      attempt,
      problem: lastProblem.message,
    });
  }
  throw lastProblem ?? new ToolUnavailableError(tool, `${tool} trigger gave up`, { ambiguous: false });
}
