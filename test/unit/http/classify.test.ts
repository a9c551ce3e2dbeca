import { REDACTED, ToolUnavailableError } from "@tapestry/core";
import {
  type AttemptContext,
  type AttemptDecision,
  type AttemptOutcome,
  classifyAttempt,
} from "@tapestry/core/http";
import { describe, expect, it } from "vitest";

const NOW = Date.parse("2026-11-21T10:00:00Z");

const base: AttemptContext = {
  tool: "airbyte",
  label: "airbyte trigger sync (POST /jobs)",
  idempotent: true,
  accept: [],
  attempt: 1,
  policy: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 60_000, minAttemptMs: 1000 },
  timeoutMs: 30_000,
  cutByDeadline: false,
  now: NOW,
  timeLeftMs: Number.POSITIVE_INFINITY,
  backoffMs: 50,
  credentialsHint: 'the secret "AIRBYTE_TOKEN"',
  credentialsRenewed: false,
  secrets: [],
};

const answer = (status: number, text = "{}", retryAfter: string | null = null): AttemptOutcome => ({
  kind: "answer",
  status,
  text,
  retryAfter,
});
const noAnswer = (failure: "timeout" | "refused" | "network", detail = "ECONNRESET"): AttemptOutcome => ({
  kind: "no-answer",
  failure,
  detail,
});

/** A decision in a few words: "return", "retry 50", "renew", "ToolUnavailableError ambiguous". */
function summary(decision: AttemptDecision): string {
  switch (decision.action) {
    case "return":
      return "return";
    case "retry":
      return `retry ${decision.delayMs}`;
    case "renew-credentials":
      return "renew";
    case "fail": {
      const ambiguous = decision.error instanceof ToolUnavailableError && decision.error.detail.ambiguous;
      return `${decision.error.name}${ambiguous ? " ambiguous" : ""}`;
    }
  }
}

const classify = (outcome: AttemptOutcome, context: Partial<AttemptContext> = {}) =>
  classifyAttempt(outcome, { ...base, ...context });

describe("classifyAttempt: each outcome for an idempotent call and for a trigger (POST)", () => {
  const table: [string, AttemptOutcome, Partial<AttemptContext>, string, string][] = [
    ["200", answer(200, '{"jobId":1}'), {}, "return", "return"],
    ["204, empty body", answer(204, ""), {}, "return", "return"],
    ["409 the caller accepts", answer(409), { accept: [409] }, "return", "return"],
    ["409 not accepted", answer(409), {}, "ToolRequestError", "ToolRequestError"],
    ["400", answer(400), {}, "ToolRequestError", "ToolRequestError"],
    ["404", answer(404), {}, "ToolRequestError", "ToolRequestError"],
    ["422", answer(422), {}, "ToolRequestError", "ToolRequestError"],
    ["401", answer(401), {}, "renew", "renew"],
    ["403", answer(403), {}, "renew", "renew"],
    ["408", answer(408), {}, "retry 50", "ToolUnavailableError ambiguous"],
    ["429", answer(429), {}, "retry 50", "retry 50"],
    ["429, Retry-After 2", answer(429, "{}", "2"), {}, "retry 2000", "retry 2000"],
    [
      "429, Retry-After 600 (over the 60 s it waits)",
      answer(429, "{}", "600"),
      {},
      "ToolUnavailableError",
      "ToolUnavailableError",
    ],
    ["500", answer(500), {}, "retry 50", "ToolUnavailableError ambiguous"],
    ["502", answer(502), {}, "retry 50", "ToolUnavailableError ambiguous"],
    ["503, Retry-After 1", answer(503, "{}", "1"), {}, "retry 1000", "ToolUnavailableError ambiguous"],
    [
      "200 with a body that is not JSON",
      answer(200, "<html>login</html>"),
      {},
      "ToolResponseError",
      "ToolResponseError",
    ],
    ["timed out", noAnswer("timeout", "TimeoutError"), {}, "retry 50", "ToolUnavailableError ambiguous"],
    ["connection dropped", noAnswer("network"), {}, "retry 50", "ToolUnavailableError ambiguous"],
    ["connection refused", noAnswer("refused", "ECONNREFUSED"), {}, "retry 50", "retry 50"],
  ];
  it.each(table)("%s", (_name, outcome, context, idempotent, trigger) => {
    expect(summary(classify(outcome, { ...context, idempotent: true }))).toBe(idempotent);
    expect(summary(classify(outcome, { ...context, idempotent: false }))).toBe(trigger);
  });
});

describe("classifyAttempt: where the request stands", () => {
  it("the last attempt fails what it would have retried, and says so", () => {
    const last = { attempt: 5 };
    const error = classify(answer(500, '{"message":"database is down"}'), last);
    expect(summary(error)).toBe("ToolUnavailableError");
    expect(error.action === "fail" && error.error.message).toContain(
      'failed with HTTP 500 (attempt 5 of 5): {"message":"database is down"}',
    );
    expect(summary(classify(noAnswer("refused", "ECONNREFUSED"), { ...last, idempotent: false }))).toBe(
      "ToolUnavailableError",
    );
  });

  it("refused credentials renew once; refused again, they are ToolAuthError naming the secret", () => {
    const decision = classify(answer(401, '{"message":"bad token"}'), { credentialsRenewed: true });
    expect(summary(decision)).toBe("ToolAuthError");
    expect(decision.action === "fail" && decision.error.message).toContain(
      'check the secret "AIRBYTE_TOKEN"',
    );
  });

  it("retries only when the wait and one more attempt fit before the deadline", () => {
    // 50 ms backoff + 1000 ms for the attempt
    expect(summary(classify(answer(503), { timeLeftMs: 1050 }))).toBe("retry 50");
    const late = classify(answer(503), { timeLeftMs: 1049 });
    expect(summary(late)).toBe("ToolUnavailableError");
    expect(late.action === "fail" && late.error.message).toContain(
      "not retried: a wait of 50 ms (backoff) and another attempt do not fit in the 1049 ms left before the deadline",
    );
    expect(summary(classify(noAnswer("timeout", "TimeoutError"), { timeLeftMs: 300 }))).toBe(
      "ToolUnavailableError",
    );
  });

  it("a Retry-After past the deadline ends the request now, without ambiguity (the tool refused it)", () => {
    expect(summary(classify(answer(429, "{}", "2"), { idempotent: false, timeLeftMs: 3000 }))).toBe(
      "retry 2000",
    );
    const refused = classify(answer(429, "{}", "2"), { idempotent: false, timeLeftMs: 2500 });
    expect(summary(refused)).toBe("ToolUnavailableError");
    expect(refused.action === "fail" && refused.error.message).toContain("a wait of 2000 ms (Retry-After)");
  });

  it("a trigger whose attempt was cut short by the deadline is ambiguous, and the message says why", () => {
    const cut = classify(noAnswer("timeout", "TimeoutError"), {
      idempotent: false,
      timeoutMs: 850,
      cutByDeadline: true,
      timeLeftMs: 0,
    });
    expect(summary(cut)).toBe("ToolUnavailableError ambiguous");
    expect(cut.action === "fail" && cut.error.message).toContain(
      "timed out after 850 ms (cut short to the time left before the deadline) (attempt 1 of 5); the request may have taken effect",
    );
  });

  it("reads an HTTP-date Retry-After against the given time", () => {
    const at = new Date(NOW + 3000).toUTCString();
    expect(summary(classify(answer(429, "{}", at)))).toBe("retry 3000");
  });

  it("redacts the secrets it is given from every message", () => {
    const secret = "canary-token-7f3a9c1e";
    const decision = classify(answer(500, `{"message":"bad header Bearer ${secret}"}`), {
      idempotent: false,
      secrets: [secret],
    });
    expect(decision.action === "fail" && decision.error.message).toContain(REDACTED);
    expect(JSON.stringify(decision)).not.toContain(secret);
  });
});
