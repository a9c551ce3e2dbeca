import { TapestryError } from "../errors";
import { retry } from "../retry";
import type { SlackMessage } from "./slack";

/**
 * Posts a message to a Slack incoming webhook. The URL is the secret (whoever has it can post to
 * the channel), so it appears in no error, log line or event: failures name "the Slack webhook"
 * and Slack's own short error code (`invalid_blocks`, `no_service`, ...), never the URL, and the
 * fetch error's cause is not kept. Retries use core's retry helper: Slack's 429 after its
 * Retry-After, 5xx, timeouts and network errors with full-jitter backoff. A post is not
 * idempotent: a 5xx or a timeout after Slack took the message may post it twice, which is better
 * for an alert than posting it never.
 */

/** The message could not be delivered: Slack refused it, or kept failing until the attempts or the time ran out. */
export class SlackDeliveryError extends TapestryError {
  override readonly name = "SlackDeliveryError";
  constructor(
    message: string,
    readonly detail: { readonly status?: number; readonly attempts: number; readonly retryable: boolean },
  ) {
    super(message);
  }
}

/** A failure of one attempt that another attempt may cure; carries Slack's Retry-After. */
class RetryableAttempt extends Error {
  constructor(
    readonly reason: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(reason);
  }
}

export interface SlackWebhookOptions {
  /** attempts in all, the first included (default 5) */
  readonly maxAttempts?: number;
  /** one attempt's timeout (default 10 s) */
  readonly timeoutMs?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** a Retry-After longer than this ends the attempts (default 60 s: the caller's own retries take over) */
  readonly maxRetryAfterMs?: number;
  /** an absolute time (ms since the epoch) no attempt or wait runs past, e.g. the Lambda's deadline */
  readonly deadline?: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
  /** told before each wait: what failed and how long the wait is (never the URL) */
  readonly onRetry?: (retry: { attempt: number; delayMs: number; reason: string }) => void;
}

/** Checks that a webhook URL can be posted to, without ever repeating it. */
export function checkWebhookUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SlackDeliveryError("the Slack webhook URL is not a URL (its value is not repeated)", {
      attempts: 0,
      retryable: false,
    });
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new SlackDeliveryError("the Slack webhook URL is not an http(s) URL (its value is not repeated)", {
      attempts: 0,
      retryable: false,
    });
  }
}

/** Seconds (or an HTTP date) of a Retry-After header, as milliseconds. */
function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Slack's error code from a refusal's body (`invalid_blocks`): short, and never the URL. */
function slackCode(body: string): string {
  const code = body.trim().slice(0, 100);
  return /^[a-z_]+$/.test(code) ? code : "no error code";
}

export async function postToSlack(
  webhookUrl: string,
  message: SlackMessage,
  options: SlackWebhookOptions = {},
): Promise<{ readonly attempts: number }> {
  checkWebhookUrl(webhookUrl);
  const send = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const body = JSON.stringify(message);
  let attempts = 0;
  try {
    await retry(
      async (attempt) => {
        attempts = attempt;
        const left = options.deadline === undefined ? Number.POSITIVE_INFINITY : options.deadline - now();
        const timeout = Math.max(1, Math.min(options.timeoutMs ?? 10_000, left));
        let response: Response;
        try {
          response = await send(webhookUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
            signal: AbortSignal.timeout(timeout),
          });
        } catch (error) {
          // the error's text and cause may carry the host; only its kind is kept
          const kind =
            (error as { name?: string }).name === "TimeoutError" ? "timed out" : "could not connect";
          throw new RetryableAttempt(`the request ${kind}`);
        }
        const text = await response.text().catch(() => "");
        if (response.ok) return;
        if (response.status === 429) {
          throw new RetryableAttempt(
            "Slack answered 429 (rate limited)",
            429,
            retryAfterMs(response.headers.get("retry-after"), now()),
          );
        }
        if (response.status >= 500) {
          throw new RetryableAttempt(
            `Slack answered ${response.status} (${slackCode(text)})`,
            response.status,
          );
        }
        throw new SlackDeliveryError(
          `the Slack webhook refused the message: ${response.status} ${slackCode(text)} (a 404 or 410 means the webhook was removed or its channel archived: set a new webhook URL)`,
          { status: response.status, attempts: attempt, retryable: false },
        );
      },
      {
        maxAttempts: options.maxAttempts ?? 5,
        baseDelayMs: options.baseDelayMs ?? 1_000,
        maxDelayMs: options.maxDelayMs ?? 30_000,
        maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
        ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
        now,
        ...(options.sleep ? { sleep: options.sleep } : {}),
        ...(options.random ? { random: options.random } : {}),
        retryable: (error) => error instanceof RetryableAttempt,
        onRetry: ({ attempt, delayMs, error }) =>
          options.onRetry?.({ attempt, delayMs, reason: (error as RetryableAttempt).reason }),
      },
    );
  } catch (error) {
    if (error instanceof RetryableAttempt) {
      throw new SlackDeliveryError(
        `the Slack webhook could not take the message after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${error.reason}`,
        { ...(error.status !== undefined ? { status: error.status } : {}), attempts, retryable: true },
      );
    }
    throw error;
  }
  return { attempts };
}
