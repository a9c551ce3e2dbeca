import {
  REDACTED,
  ToolAuthError,
  ToolRequestError,
  ToolResponseError,
  ToolUnavailableError,
} from "@tapestry/core";
import { type AuthProvider, HttpClient, type RetryPolicy, staticHeaderAuth } from "@tapestry/core/http";
import type { Logger } from "@tapestry/core/logging";
import { afterEach, describe, expect, it } from "vitest";
import { drop, hang, json, type StubAnswer, startStubServer, text } from "../../support/stub-server";

const SECRET = "canary-token-7f3a9c1e";
const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

interface Harness {
  client: HttpClient;
  calls: Awaited<ReturnType<typeof startStubServer>>["calls"];
  sleeps: number[];
  logs: string[];
}

async function harness(
  answers: StubAnswer[],
  options: { auth?: AuthProvider; timeoutMs?: number; clock?: Clock; retry?: RetryPolicy } = {},
): Promise<Harness> {
  const server = await startStubServer(answers);
  stop = server.close;
  const sleeps: number[] = [];
  const logs: string[] = [];
  const record = (level: string) => (message: string, attributes?: Record<string, unknown>) =>
    logs.push(`${level} ${message} ${JSON.stringify(attributes ?? {})}`);
  const logger: Logger = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  };
  const client = new HttpClient({
    tool: "airbyte",
    baseUrl: `${server.url}/api/public/v1`,
    timeoutMs: options.timeoutMs ?? 2000,
    auth: options.auth ?? staticHeaderAuth("authorization", "Bearer", SECRET, "AIRBYTE_TOKEN"),
    retry: options.retry ?? policy,
    logger,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      options.clock?.advance(ms);
    },
    now: options.clock?.now,
  });
  return { client, calls: server.calls, sleeps, logs };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the request to fail");
}

/** A clock that moves only when told to (by a stub answer, or by the client's sleep). */
interface Clock {
  now: () => number;
  advance: (ms: number) => void;
}
function clock(start = Date.parse("2026-11-21T10:00:00Z")): Clock {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** An answer that takes `ms` of the injected clock's time before it gives `then`. */
const taking =
  (time: Clock, ms: number, then: StubAnswer): StubAnswer =>
  (call, res) => {
    time.advance(ms);
    then(call, res);
  };

const getJob = { operation: "read job", method: "GET", path: "/jobs/7" } as const;
const trigger = {
  operation: "trigger sync",
  method: "POST",
  path: "/jobs",
  body: { jobType: "sync" },
} as const;

describe("the shared HTTP client", () => {
  it("sends JSON with the credentials, the query string and an accept header", async () => {
    const h = await harness([json(200, { ok: true })]);
    const response = await h.client.request({ ...trigger, query: { limit: 5, skip: undefined } });
    expect(response).toEqual({ status: 200, body: { ok: true }, attempts: 1 });
    expect(h.calls[0]?.url).toBe("/api/public/v1/jobs?limit=5");
    expect(h.calls[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(h.calls[0]?.headers["content-type"]).toBe("application/json");
    expect(h.calls[0]?.headers.accept).toBe("application/json");
    expect(JSON.parse(h.calls[0]?.body ?? "")).toEqual({ jobType: "sync" });
  });

  it("waits out a 429's Retry-After, even for a trigger (the tool refused it, nothing happened)", async () => {
    const h = await harness([
      json(429, { title: "slow down" }, { "retry-after": "2" }),
      json(200, { jobId: 1 }),
    ]);
    const response = await h.client.request(trigger);
    expect(response.attempts).toBe(2);
    expect(h.sleeps).toEqual([2000]);
    expect(h.calls).toHaveLength(2);
  });

  it("backs off with full jitter on a 429 without Retry-After", async () => {
    const h = await harness([json(429, {}), json(429, {}), json(200, {})]);
    await h.client.request(getJob);
    // random() = 0.5: half of 100 ms, then half of 200 ms
    expect(h.sleeps).toEqual([50, 100]);
  });

  it("gives up at once when Retry-After asks for longer than it waits", async () => {
    const h = await harness([json(429, {}, { "retry-after": "600" })]);
    const error = await failure(h.client.request(getJob));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect(error.message).toContain(
      "asked to wait 600 s (Retry-After), longer than the 5 s this client waits",
    );
    expect((error as ToolUnavailableError).detail).toEqual({ status: 429, ambiguous: false });
    expect(h.calls).toHaveLength(1);
  });

  it("retries a read through 5xx answers", async () => {
    const h = await harness([json(502, {}), json(503, {}), json(200, { jobId: 7 })]);
    const response = await h.client.request(getJob);
    expect(response.body).toEqual({ jobId: 7 });
    expect(h.calls).toHaveLength(3);
  });

  it("never retries a trigger on a 5xx, and says the request may have taken effect", async () => {
    const h = await harness([json(500, { message: "boom" }), json(200, {})]);
    const error = await failure(h.client.request(trigger));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect((error as ToolUnavailableError).detail).toEqual({ status: 500, ambiguous: true });
    expect(error.message).toContain(
      "airbyte trigger sync (POST /jobs) failed with HTTP 500 (attempt 1 of 3)",
    );
    expect(error.message).toContain("the request may have taken effect");
    expect(h.calls).toHaveLength(1);
  });

  it("reports a read that keeps failing after its last attempt", async () => {
    const h = await harness([json(500, { message: "database is down" })]);
    const error = await failure(h.client.request(getJob));
    expect(error.name).toBe("ToolUnavailableError");
    expect(error.message).toContain("failed with HTTP 500 (attempt 3 of 3)");
    expect(error.message).toContain("database is down");
    expect(h.calls).toHaveLength(3);
  });

  it("retries a read over a dropped connection but not a trigger", async () => {
    const read = await harness([drop, json(200, { jobId: 7 })]);
    expect((await read.client.request(getJob)).attempts).toBe(2);
    await stop?.();

    const write = await harness([drop, json(200, {})]);
    const error = await failure(write.client.request(trigger));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect((error as ToolUnavailableError).detail.ambiguous).toBe(true);
    expect(write.calls).toHaveLength(1);
  });

  it("times out a request that never answers", async () => {
    const h = await harness([hang], { timeoutMs: 150 });
    const error = await failure(h.client.request(getJob));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect(error.message).toContain("timed out after 150 ms (attempt 3 of 3)");
    expect(h.calls).toHaveLength(3);
  });

  it("retries even a trigger when the connection was refused (it never reached the tool)", async () => {
    const h = await harness([json(200, {})]);
    await stop?.();
    stop = undefined;
    const error = await failure(h.client.request(trigger));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect((error as ToolUnavailableError).detail.ambiguous).toBe(false);
    expect(error.message).toContain("ECONNREFUSED (attempt 3 of 3)");
  });

  it("does not retry a 4xx and shows what the tool said", async () => {
    const h = await harness([json(422, { detail: "connectionId is not a UUID" })]);
    const error = await failure(h.client.request(trigger));
    expect(error).toBeInstanceOf(ToolRequestError);
    expect((error as ToolRequestError).status).toBe(422);
    expect(error.message).toContain("rejected with HTTP 422");
    expect(error.message).toContain("connectionId is not a UUID");
    expect(h.calls).toHaveLength(1);
  });

  it("hands back statuses the caller accepts", async () => {
    const h = await harness([json(409, { detail: "a sync is running" })]);
    const response = await h.client.request({ ...trigger, accept: [409] });
    expect(response.status).toBe(409);
  });

  it("names the secret to fix when static credentials are refused", async () => {
    const h = await harness([json(401, { message: "bad token" })]);
    const error = await failure(h.client.request(getJob));
    expect(error).toBeInstanceOf(ToolAuthError);
    expect(error.message).toContain('check the secret "AIRBYTE_TOKEN"');
    expect(h.calls).toHaveLength(1);
  });

  it("renews renewable credentials once after a 401", async () => {
    let version = 0;
    const renewable: AuthProvider = {
      authorize: async () => ({ authorization: `Bearer token-${version}` }),
      invalidate: () => {
        version++;
        return true;
      },
      secrets: () => [],
      credentialsHint: "the client credentials",
    };
    const h = await harness([json(401, {}), json(200, { ok: 1 }), json(401, {})], { auth: renewable });
    await h.client.request(getJob);
    expect(h.calls.map((c) => c.headers.authorization)).toEqual(["Bearer token-0", "Bearer token-1"]);

    const refusedTwice = await failure(h.client.request({ ...getJob, path: "/jobs/8" }));
    expect(refusedTwice).toBeInstanceOf(ToolAuthError);
  });

  it("fails closed on a 2xx body that is not JSON", async () => {
    const h = await harness([text(200, "<html>proxy login</html>")]);
    const error = await failure(h.client.request(getJob));
    expect(error).toBeInstanceOf(ToolResponseError);
    expect(error.message).toContain("not JSON: <html>proxy login</html>");
  });

  it("redacts credentials a tool echoes back, from errors and from log lines", async () => {
    const echo: StubAnswer = (call, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          message: `bad header ${call.headers.authorization}`,
          q: encodeURIComponent(SECRET),
        }),
      );
    };
    const h = await harness([echo]);
    const error = await failure(h.client.request(getJob));
    expect(error.message).toContain(REDACTED);
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(SECRET);
    expect(h.logs.length).toBeGreaterThan(0);
    expect(h.logs.join("\n")).not.toContain(SECRET);
  });
});

describe("the shared HTTP client against a deadline (injected clock)", () => {
  const tight: RetryPolicy = { ...policy, maxAttempts: 5, minAttemptMs: 100 };

  it("sends nothing when the deadline leaves no time for an attempt", async () => {
    const time = clock();
    const h = await harness([json(200, {})], { clock: time, retry: tight });
    const error = await failure(h.client.request({ ...trigger, deadline: time.now() + 99 }));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect((error as ToolUnavailableError).detail.ambiguous).toBe(false);
    expect(error.message).toContain("was not sent: 99 ms left before the deadline");
    expect(h.calls).toHaveLength(0);
  });

  it("cuts an attempt's timeout to the time left; a trigger cut so is ambiguous", async () => {
    const time = clock();
    const h = await harness([hang], { clock: time, retry: tight, timeoutMs: 60_000 });
    const error = await failure(h.client.request({ ...trigger, deadline: time.now() + 150 }));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect((error as ToolUnavailableError).detail.ambiguous).toBe(true);
    expect(error.message).toContain(
      "timed out after 150 ms (cut short to the time left before the deadline)",
    );
    expect(h.calls).toHaveLength(1);
  });

  it("a read cut by the deadline is not retried past it, and is not ambiguous", async () => {
    const time = clock();
    const h = await harness([taking(time, 150, hang)], { clock: time, retry: tight, timeoutMs: 60_000 });
    const error = await failure(h.client.request({ ...getJob, deadline: time.now() + 150 }));
    expect((error as ToolUnavailableError).detail.ambiguous).toBe(false);
    expect(h.calls).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
  });

  it("never starts a backoff that would leave no time for the attempt after it", async () => {
    const time = clock();
    const deadline = time.now() + 1000;
    // each answer takes 400 ms: after the first, 600 ms are left (a wait of 50 fits);
    // after the second, 150 ms are left: a wait of 100 and an attempt of 100 do not
    const h = await harness([taking(time, 400, json(503, {}))], { clock: time, retry: tight });
    const error = await failure(h.client.request({ ...getJob, deadline }));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect(error.message).toContain(
      "failed with HTTP 503 (attempt 2 of 5); not retried: a wait of 100 ms (backoff) and another attempt do not fit in the 150 ms left before the deadline",
    );
    expect(h.calls).toHaveLength(2);
    expect(h.sleeps).toEqual([50]);
    expect(time.now()).toBeLessThanOrEqual(deadline);
  });

  it("does not wait out a Retry-After that ends past the deadline", async () => {
    const time = clock();
    const h = await harness([json(429, {}, { "retry-after": "2" }), json(200, {})], {
      clock: time,
      retry: tight,
    });
    const error = await failure(h.client.request({ ...trigger, deadline: time.now() + 1000 }));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect((error as ToolUnavailableError).detail).toEqual({ status: 429, ambiguous: false });
    expect(error.message).toContain("a wait of 2000 ms (Retry-After)");
    expect(h.calls).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
  });

  it("gives the credentials provider the request's deadline (a token request stays within it)", async () => {
    const time = clock();
    const seen: (number | undefined)[] = [];
    const auth: AuthProvider = {
      authorize: async (options) => {
        seen.push(options?.deadline);
        return { authorization: "Bearer t" };
      },
      invalidate: () => false,
      secrets: () => [],
      credentialsHint: "the token",
    };
    const h = await harness([json(200, {})], { clock: time, auth });
    const deadline = time.now() + 5000;
    await h.client.request({ ...getJob, deadline });
    expect(seen).toEqual([deadline]);
  });
});
