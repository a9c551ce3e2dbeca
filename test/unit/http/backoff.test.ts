import { fullJitterDelay, parseRetryAfter, type RetryPolicy } from "@tapestry/core/http";
import { describe, expect, it } from "vitest";

const policy: RetryPolicy = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };

describe("full-jitter backoff", () => {
  it("draws from 0 up to an exponentially growing ceiling, capped", () => {
    const ceilings = [1, 2, 3, 4, 5, 6].map((attempt) => fullJitterDelay(policy, attempt, () => 0.999999));
    expect(ceilings).toEqual([99, 199, 399, 799, 999, 999]);
    expect(fullJitterDelay(policy, 3, () => 0)).toBe(0);
    expect(fullJitterDelay(policy, 3, () => 0.5)).toBe(200);
  });
});

describe("Retry-After", () => {
  const now = Date.parse("2026-11-21T10:00:00Z");
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Sat, 21 Nov 2026 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Sat, 21 Nov 2026 09:00:00 GMT", now)).toBe(0);
  });
  it("ignores absent or unreadable values", () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
  });
});
