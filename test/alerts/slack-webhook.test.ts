import { postToSlack, SlackDeliveryError, type SlackMessage } from "@tapestry/core/alerts";
import { afterEach, describe, expect, it } from "vitest";
import { drop, hang, type StubAnswer, startStubServer, text } from "../support/stub-server";

/**
 * Slack delivery over real HTTP against a receiver on 127.0.0.1: retries on 429 after Retry-After
 * and on 5xx with backoff, no retry on a refusal, and the webhook's URL in no error.
 */

const SECRET = "/services/T0TAPESTRY/B0ALERTS/aVeryS3cretWebhookToken";
const MESSAGE: SlackMessage = { text: "🔴 Run failed: rain-shield-audience", blocks: [{ type: "divider" }] };

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function receiver(answers: StubAnswer[]) {
  const server = await startStubServer(answers);
  servers.push(server);
  return { ...server, webhook: `${server.url}${SECRET}` };
}

/** Waits recorded instead of slept, so the test takes no time and sees each wait. */
function recordedSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

const slackAnswer =
  (status: number, body: string, headers: Record<string, string> = {}): StubAnswer =>
  (_call, res) => {
    res.writeHead(status, { "content-type": "text/plain", ...headers });
    res.end(body);
  };

describe("postToSlack", () => {
  it("posts the message as JSON to the webhook once when Slack answers ok", async () => {
    const slack = await receiver([text(200, "ok")]);
    expect(await postToSlack(slack.webhook, MESSAGE)).toEqual({ attempts: 1 });
    expect(slack.calls).toHaveLength(1);
    expect(slack.calls[0]).toMatchObject({
      method: "POST",
      url: SECRET,
      headers: { "content-type": "application/json" },
    });
    expect(JSON.parse(slack.calls[0]?.body ?? "")).toEqual(MESSAGE);
  });

  it("waits as long as Slack's Retry-After says after a 429, then posts again", async () => {
    const slack = await receiver([slackAnswer(429, "rate_limited", { "retry-after": "3" }), text(200, "ok")]);
    const { waits, sleep } = recordedSleep();
    expect(await postToSlack(slack.webhook, MESSAGE, { sleep })).toEqual({ attempts: 2 });
    expect(waits).toEqual([3_000]);
    expect(slack.calls).toHaveLength(2);
  });

  it("retries 5xx and dropped connections with full-jitter backoff, within its attempts", async () => {
    const slack = await receiver([
      text(500, "internal_error"),
      drop,
      text(503, "service_unavailable"),
      text(200, "ok"),
    ]);
    const { waits, sleep } = recordedSleep();
    const result = await postToSlack(slack.webhook, MESSAGE, {
      sleep,
      random: () => 0.5,
      baseDelayMs: 1_000,
    });
    expect(result).toEqual({ attempts: 4 });
    // half of min(cap, base * 2^(n-1)): 500, 1000, 2000
    expect(waits).toEqual([500, 1_000, 2_000]);
  });

  it("gives up after its attempts with SlackDeliveryError, retryable, naming Slack's answer but never the URL", async () => {
    const slack = await receiver([text(502, "bad_gateway")]);
    const { sleep } = recordedSleep();
    const error = await postToSlack(slack.webhook, MESSAGE, { sleep, maxAttempts: 3 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SlackDeliveryError);
    expect(error).toMatchObject({
      name: "SlackDeliveryError",
      message:
        "the Slack webhook could not take the message after 3 attempts: Slack answered 502 (bad_gateway)",
      detail: { status: 502, attempts: 3, retryable: true },
    });
    expect(slack.calls).toHaveLength(3);
    expectNoUrl(error, slack.webhook);
  });

  it("does not retry a refusal (the webhook is gone, or the message malformed): one attempt, the code and the fix", async () => {
    for (const [status, code] of [
      [404, "no_service"],
      [400, "invalid_blocks"],
      [403, "action_prohibited"],
    ] as const) {
      const slack = await receiver([text(status, code)]);
      const error = await postToSlack(slack.webhook, MESSAGE).catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: "SlackDeliveryError",
        detail: { status, attempts: 1, retryable: false },
      });
      expect((error as Error).message).toContain(`${status} ${code}`);
      expect(slack.calls).toHaveLength(1);
      expectNoUrl(error, slack.webhook);
    }
  });

  it("hands a Retry-After longer than it may wait back to its caller at once (the Lambda's retries, then its dead-letter queue)", async () => {
    const slack = await receiver([slackAnswer(429, "rate_limited", { "retry-after": "600" })]);
    const { waits, sleep } = recordedSleep();
    const error = await postToSlack(slack.webhook, MESSAGE, { sleep }).catch((e: unknown) => e);
    expect(error).toMatchObject({ detail: { status: 429, attempts: 1, retryable: true } });
    expect(waits).toEqual([]);
  });

  it("stops at its deadline: a request that hangs is cut, and no wait runs past it", async () => {
    const slack = await receiver([hang]);
    const started = Date.now();
    const error = await postToSlack(slack.webhook, MESSAGE, {
      deadline: started + 300,
      timeoutMs: 5_000,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: "SlackDeliveryError",
      message: expect.stringContaining("timed out"),
    });
    expectNoUrl(error, slack.webhook);
  });

  it("refuses a webhook that is not an http(s) URL without repeating it", async () => {
    for (const bad of [
      "hooks.slack.com/services/T/B/tokenvalue123",
      "ftp://hooks.slack.com/services/T/B/tokenvalue123",
    ]) {
      const error = await postToSlack(bad, MESSAGE).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "SlackDeliveryError", detail: { attempts: 0, retryable: false } });
      expect(JSON.stringify({ message: (error as Error).message, error })).not.toContain("tokenvalue123");
    }
  });
});

/** The URL (or its secret path) in no part of the error: message, properties, cause, stack. */
function expectNoUrl(error: unknown, url: string): void {
  const seen = [
    (error as Error).message,
    (error as Error).stack ?? "",
    JSON.stringify(error),
    String((error as { cause?: unknown }).cause ?? ""),
  ].join("\n");
  expect(seen).not.toContain(url);
  expect(seen).not.toContain(SECRET);
  expect(seen).not.toContain("aVeryS3cretWebhookToken");
}
