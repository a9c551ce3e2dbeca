import { type ToolName, ToolTriggerUncertainError, ToolUnavailableError } from "../errors";
import { DEFAULT_RETRY_POLICY } from "../http";
import type { Logger } from "../logging";
import { type BackoffPolicy, retry } from "../retry";
import type { ConnectorDependencies, StartedJob, StepContext } from "./types";

export interface TriggerPlan {
  /**
   * A job of the step's target already in flight, to attach to instead of triggering (Grouparoo
   * always: a second run would stop the first; dbt Cloud when `attachToInFlightRun`). Optional.
   */
  inFlight?(deadline: number): Promise<StartedJob | undefined>;
  /** Sends the trigger. "conflict" means the tool refused because a job is already running (Airbyte's 409). */
  trigger(deadline: number): Promise<StartedJob | "conflict">;
  /** A job to adopt instead of starting one: in flight now, or created by a trigger sent at `since` or later. */
  findExisting(since: number, deadline: number): Promise<StartedJob | undefined>;
}

export interface TriggerOptions {
  /** triggers sent at most, the first included, while lookups after unclear answers find nothing */
  readonly maxTriggers: number;
  /** the call's deadline (ms since the epoch): no request or wait runs past it */
  readonly deadline: number;
  /** adopt mode: an earlier start may have sent a trigger at this time or later; look for its job first */
  readonly adoptSince?: number;
  /** the wait between triggers after a lookup found nothing (full jitter) */
  readonly backoff?: BackoffPolicy;
  readonly now: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly logger: Logger;
}

/** The trigger options of a connector's `start`, from its dependencies and the call's context. */
export function triggerOptions(
  deps: ConnectorDependencies,
  logger: Logger,
  context: StepContext,
): TriggerOptions {
  const now = deps.now ?? Date.now;
  return {
    maxTriggers: deps.maxTriggers ?? 3,
    deadline: context.deadline,
    adoptSince: context.adopt ? now() - context.adopt.lookBackMs : undefined,
    backoff: deps.retry,
    now,
    sleep: deps.sleep,
    random: deps.random,
    logger,
  };
}

/** A trigger got an unclear answer and the lookup after it found no job: worth one more trigger. */
class NoJobFound extends Error {
  constructor(readonly problem: ToolUnavailableError) {
    super(problem.message);
  }
}

/**
 * Starts a job without ever starting two. A trigger is not retried blindly: after a conflict or an
 * ambiguous failure (timeout, dropped connection or 5xx after the request was sent) the job is
 * looked up first, and only when there is none is the trigger sent again (after a backoff), at
 * most `maxTriggers` times, all within the deadline.
 *
 * Once a trigger may have taken effect unseen, a retryable failure (the lookup failed, the
 * deadline came, the tool went away) is thrown as ToolTriggerUncertainError: the caller must not
 * retry the start as it was, but start again in adopt mode (`adoptSince`), which looks first.
 * Failures a retry cannot fix (refused credentials, a rejected request) are thrown as they are.
 */
export async function startWithoutDuplicates(
  tool: ToolName,
  plan: TriggerPlan,
  options: TriggerOptions,
): Promise<StartedJob> {
  const { deadline, logger } = options;
  /** the problem of a trigger of this call (or of an earlier start, in adopt mode) that may have started a job unseen */
  let unseen: ToolUnavailableError | undefined;
  const uncertain = (error: unknown): unknown =>
    unseen && error instanceof ToolUnavailableError ? triggerUncertain(tool, unseen, error) : error;

  if (options.adoptSince !== undefined) {
    unseen = new ToolUnavailableError(tool, `an earlier start of this step may have triggered a job`, {
      ambiguous: true,
    });
    const adopted = await plan.findExisting(options.adoptSince, deadline).catch((error: unknown) => {
      throw uncertain(error);
    });
    if (adopted) {
      logger.info(`${tool}: adopting the job an earlier start of this step triggered`, {
        externalId: adopted.externalId,
      });
      return adopted;
    }
    // Looked, found nothing: that earlier trigger started no job.
    unseen = undefined;
  } else if (plan.inFlight) {
    const running = await plan.inFlight(deadline);
    if (running) {
      logger.info(`${tool}: attaching to a job of the step's target already in flight`, {
        externalId: running.externalId,
      });
      return running;
    }
  }

  try {
    return await retry(
      async () => {
        const triggeredAt = options.now();
        let problem: ToolUnavailableError;
        try {
          const started = await plan.trigger(deadline);
          if (started !== "conflict") return started;
          problem = new ToolUnavailableError(
            tool,
            `${tool} kept refusing the trigger as a conflict, yet no running job could be found to attach to`,
            { ambiguous: false, status: 409 },
          );
        } catch (error) {
          if (!(error instanceof ToolUnavailableError && error.detail.ambiguous)) throw uncertain(error);
          problem = error;
          unseen = error;
        }
        const existing = await plan.findExisting(triggeredAt, deadline).catch((error: unknown) => {
          throw uncertain(error);
        });
        if (existing) return existing;
        logger.warn(`${tool} trigger: no job found after an unclear answer; triggering again`, {
          tool,
          problem: problem.message,
        });
        throw new NoJobFound(problem);
      },
      {
        ...(options.backoff ?? DEFAULT_RETRY_POLICY),
        maxAttempts: options.maxTriggers,
        retryable: (error) => error instanceof NoJobFound,
        deadline,
        now: options.now,
        sleep: options.sleep,
        random: options.random,
      },
    );
  } catch (error) {
    throw error instanceof NoJobFound ? uncertain(error.problem) : error;
  }
}

function triggerUncertain(
  tool: ToolName,
  trigger: ToolUnavailableError,
  after: ToolUnavailableError,
): ToolTriggerUncertainError {
  const then = after === trigger ? "" : `, and then: ${after.message}`;
  return new ToolTriggerUncertainError(
    tool,
    `${tool} may have started a job that could not be confirmed (${trigger.message}${then}). Not triggering again blindly: the step is to be started again in adopt mode, which looks for that job first`,
    { cause: after },
  );
}
