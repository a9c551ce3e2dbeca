import type { BackoffPolicy } from "../retry";

export { fullJitterDelay } from "../retry";

export interface RetryPolicy extends BackoffPolicy {
  /** attempts in all, the first one included */
  readonly maxAttempts: number;
  /** a Retry-After longer than this is not waited out here: the call fails and the caller retries later */
  readonly maxRetryAfterMs: number;
  /** no attempt starts with less time than this before the request's deadline (default 1 s; see classify.ts) */
  readonly minAttemptMs?: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
};

/** Retry-After as seconds or as an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
