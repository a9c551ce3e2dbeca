/**
 * The one retry helper for in-process loops (the EventBridge publisher's failed entries, the
 * DynamoDB ledger's lock contention, the connectors' trigger loop): attempts, full-jitter
 * backoff, a retryable predicate, a Retry-After carried by the error, and an absolute deadline
 * that no wait runs past. The HTTP client keeps its own loop around a pure classification of
 * each attempt (http/classify.ts) but draws its waits from the same `fullJitterDelay`.
 */

export interface BackoffPolicy {
  /** the ceiling of the first wait */
  readonly baseDelayMs: number;
  /** no wait is drawn from a ceiling above this */
  readonly maxDelayMs: number;
}

/**
 * "Full jitter" (AWS Architecture Blog, Exponential Backoff and Jitter): a uniform draw from
 * [0, min(cap, base * 2^(attempt-1))]. It spreads the retries of many clients the most for the
 * least total wait. `attempt` is the number of the attempt that just failed, from 1.
 */
export function fullJitterDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface RetryOptions extends BackoffPolicy {
  /** attempts in all, the first included */
  readonly maxAttempts: number;
  /** whether a failure is worth another attempt; anything else is thrown at once */
  readonly retryable: (error: unknown) => boolean;
  /**
   * A wait the error asks for (`retryAfterMs` on the error) is honoured instead of the backoff,
   * up to this long; a longer one ends the loop at once, for a caller that can wait more cheaply
   * (e.g. the state machine's Retry instead of a running Lambda). Default 60 s.
   */
  readonly maxRetryAfterMs?: number;
  /** an absolute time (ms since the epoch): no wait runs past it, so no attempt starts after it */
  readonly deadline?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** told before each wait, e.g. to log it */
  readonly onRetry?: (retry: { attempt: number; delayMs: number; error: unknown }) => void;
}

const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `operation` until it succeeds, its failure is not retryable, the attempts run out, or the
 * next wait would end past the deadline; then the last failure is thrown as it is, so the caller
 * maps it to its own error.
 */
export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !options.retryable(error)) throw error;
      const asked = retryAfterOf(error);
      if (asked !== undefined && asked > (options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS)) throw error;
      const delayMs = asked ?? fullJitterDelay(options, attempt, random);
      if (options.deadline !== undefined && now() + delayMs >= options.deadline) throw error;
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}

/** The wait an error asks for: a non-negative `retryAfterMs` number on it (e.g. from a Retry-After header). */
export function retryAfterOf(error: unknown): number | undefined {
  if (error === null || typeof error !== "object" || !("retryAfterMs" in error)) return undefined;
  const value = error.retryAfterMs;
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}
