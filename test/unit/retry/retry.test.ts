import { fullJitterDelay, retry, retryAfterOf } from "@tapestry/core";
import { describe, expect, it } from "vitest";

class Flaky extends Error {
  constructor(readonly retryAfterMs?: number) {
    super("flaky");
  }
}

/** An operation that fails `failures` times with the given errors (the last one repeated), then answers "done". */
function failing(...errors: Error[]) {
  const calls: number[] = [];
  const operation = async (attempt: number) => {
    calls.push(attempt);
    const error = errors[Math.min(calls.length - 1, errors.length - 1)];
    if (calls.length <= errors.length && error) throw error;
    return "done";
  };
  return { operation, calls };
}

/** A clock that only moves when the helper sleeps: the deadline arithmetic is exact, nothing waits. */
function fakeTime(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
  };
}

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.5 };
const always = () => true;

describe("retry", () => {
  it("returns the first success, waiting a full-jitter backoff between attempts", async () => {
    const time = fakeTime();
    const { operation, calls } = failing(new Flaky(), new Flaky());
    await expect(retry(operation, { ...policy, retryable: always, ...time })).resolves.toBe("done");
    expect(calls).toEqual([1, 2, 3]);
    // random() = 0.5 of 100 ms, then of 200 ms
    expect(time.sleeps).toEqual([50, 100]);
  });

  it("throws a failure that is not retryable at once, as it is", async () => {
    const time = fakeTime();
    const fatal = new Error("refused");
    const { operation, calls } = failing(fatal);
    await expect(retry(operation, { ...policy, retryable: (e) => e instanceof Flaky, ...time })).rejects.toBe(
      fatal,
    );
    expect(calls).toEqual([1]);
    expect(time.sleeps).toEqual([]);
  });

  it("throws the last failure when the attempts run out", async () => {
    const time = fakeTime();
    const last = new Flaky();
    const { operation, calls } = failing(new Flaky(), new Flaky(), new Flaky(), last);
    await expect(retry(operation, { ...policy, retryable: always, ...time })).rejects.toBe(last);
    expect(calls).toEqual([1, 2, 3, 4]);
    expect(time.sleeps).toHaveLength(3);
  });

  it("honours a Retry-After the error carries instead of the backoff", async () => {
    const time = fakeTime();
    const { operation } = failing(new Flaky(2_000));
    await retry(operation, { ...policy, retryable: always, ...time });
    expect(time.sleeps).toEqual([2_000]);
  });

  it("gives up at once when the error asks for a longer wait than it may take", async () => {
    const time = fakeTime();
    const slow = new Flaky(120_000);
    const { operation, calls } = failing(slow);
    await expect(
      retry(operation, { ...policy, retryable: always, maxRetryAfterMs: 60_000, ...time }),
    ).rejects.toBe(slow);
    expect(calls).toEqual([1]);
  });

  it("never starts a wait that would end past the deadline", async () => {
    const time = fakeTime();
    // waits of 50 then 100 ms: the second would end at +150, past a deadline at +120
    const deadline = time.now() + 120;
    const last = new Flaky();
    const { operation, calls } = failing(new Flaky(), last);
    await expect(retry(operation, { ...policy, retryable: always, deadline, ...time })).rejects.toBe(last);
    expect(calls).toEqual([1, 2]);
    expect(time.sleeps).toEqual([50]);
    expect(time.now()).toBeLessThan(deadline);
  });

  it("does not wait out a Retry-After past the deadline either", async () => {
    const time = fakeTime();
    const asked = new Flaky(5_000);
    const { operation, calls } = failing(asked);
    await expect(
      retry(operation, { ...policy, retryable: always, deadline: time.now() + 1_000, ...time }),
    ).rejects.toBe(asked);
    expect(calls).toEqual([1]);
    expect(time.sleeps).toEqual([]);
  });

  it("tells onRetry about every wait", async () => {
    const time = fakeTime();
    const seen: string[] = [];
    const { operation } = failing(new Flaky());
    await retry(operation, {
      ...policy,
      retryable: always,
      ...time,
      onRetry: ({ attempt, delayMs, error }) =>
        seen.push(`${attempt} ${delayMs} ${(error as Error).message}`),
    });
    expect(seen).toEqual(["1 50 flaky"]);
  });
});

describe("fullJitterDelay", () => {
  it("draws from 0 up to an exponentially growing ceiling, capped", () => {
    const backoff = { baseDelayMs: 100, maxDelayMs: 1000 };
    const ceilings = [1, 2, 3, 4, 5, 6].map((attempt) => fullJitterDelay(backoff, attempt, () => 0.999999));
    expect(ceilings).toEqual([99, 199, 399, 799, 999, 999]);
    expect(fullJitterDelay(backoff, 3, () => 0)).toBe(0);
  });
});

describe("retryAfterOf", () => {
  it("reads a non-negative retryAfterMs from an error, and nothing else", () => {
    expect(retryAfterOf(new Flaky(300))).toBe(300);
    expect(retryAfterOf(new Flaky())).toBeUndefined();
    expect(retryAfterOf({ retryAfterMs: -1 })).toBeUndefined();
    expect(retryAfterOf({ retryAfterMs: "30" })).toBeUndefined();
    expect(retryAfterOf(null)).toBeUndefined();
  });
});
