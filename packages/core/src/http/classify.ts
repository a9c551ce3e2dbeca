import {
  ToolAuthError,
  type ToolError,
  type ToolName,
  ToolRequestError,
  ToolResponseError,
  ToolUnavailableError,
} from "../errors";
import { redact } from "../logging";
import { parseRetryAfter, type RetryPolicy } from "./backoff";

/** What one attempt of a request came to: the tool's answer, or no answer at all. */
export type AttemptOutcome =
  | {
      readonly kind: "answer";
      readonly status: number;
      readonly text: string;
      /** the Retry-After header as sent, if any */
      readonly retryAfter: string | null;
    }
  | {
      readonly kind: "no-answer";
      /**
       * refused: the connection was never made, so the tool never saw the request;
       * timeout / network: it may have seen it (a dropped connection, an attempt cut short)
       */
      readonly failure: "timeout" | "refused" | "network";
      /** e.g. "ECONNRESET" */
      readonly detail: string;
    };

/** Everything the decision depends on besides the outcome; all of it plain data. */
export interface AttemptContext {
  readonly tool: ToolName;
  /** e.g. "airbyte trigger sync (POST /jobs)" */
  readonly label: string;
  /** safe to send twice: GET, PUT, DELETE, and calls marked idempotent */
  readonly idempotent: boolean;
  /** statuses handed back to the caller instead of thrown */
  readonly accept: readonly number[];
  /** the number of this attempt, from 1 */
  readonly attempt: number;
  readonly policy: RetryPolicy;
  /** this attempt's timeout, and whether it was cut short to the time left before the deadline */
  readonly timeoutMs: number;
  readonly cutByDeadline: boolean;
  /** now, in ms since the epoch (an HTTP-date Retry-After is relative to it) */
  readonly now: number;
  /** ms left before the request's deadline (Infinity without one) */
  readonly timeLeftMs: number;
  /** the full-jitter wait before the next attempt, drawn for this attempt */
  readonly backoffMs: number;
  /** what the user fixes when credentials are refused, e.g. `the secret "DBT_CLOUD_TOKEN"` */
  readonly credentialsHint: string;
  /** credentials were renewed once already during this request */
  readonly credentialsRenewed: boolean;
  /** values that never leave the client: every message is redacted of them */
  readonly secrets: readonly string[];
}

export type AttemptDecision =
  /** the answer is the caller's: its body parsed as JSON (undefined when empty) */
  | { readonly action: "return"; readonly status: number; readonly body: unknown }
  /** wait, then send the request again */
  | { readonly action: "retry"; readonly delayMs: number; readonly reason: string }
  /** credentials were refused: renew them and send again once, if the provider can; else fail with `otherwise` */
  | { readonly action: "renew-credentials"; readonly otherwise: ToolAuthError }
  | { readonly action: "fail"; readonly error: ToolError };

/**
 * An attempt with less time than this before the deadline is not started: a round trip to a SaaS
 * API (TLS handshake included) takes a few hundred ms, and a request cut short is worse than one
 * never sent (a cut trigger is ambiguous; one never sent is a clean, retryable failure).
 */
export const DEFAULT_MIN_ATTEMPT_MS = 1_000;

const EXCERPT_CHARS = 300;

/**
 * Decides what to do after one attempt, as a pure function of what happened and where the
 * request stands: hand the answer back, retry after a wait, renew credentials, or fail with a
 * named error. The rules (ADR 0002):
 * - 2xx and accepted statuses are answers; 401/403 renew credentials once, then ToolAuthError;
 *   other 4xx are ToolRequestError; a 2xx body that is not JSON is ToolResponseError.
 * - 429 and a refused connection are retried for every call (the tool did nothing); 408, 5xx,
 *   timeouts and dropped connections only for idempotent calls. A non-idempotent call that failed
 *   after it may have been received fails at once with `ambiguous: true`.
 * - The wait is the answer's Retry-After, else the full-jitter backoff. A Retry-After longer than
 *   the policy allows, a wait that would leave less than one attempt's minimum before the
 *   deadline, or the last attempt, ends the request now with ToolUnavailableError.
 */
export function classifyAttempt(outcome: AttemptOutcome, context: AttemptContext): AttemptDecision {
  const clean = (text: string) => redact(text, context.secrets);
  const { tool, label, idempotent, attempt, policy } = context;
  const tries = `(attempt ${attempt} of ${policy.maxAttempts})`;

  if (outcome.kind === "no-answer") {
    const what =
      outcome.failure === "timeout"
        ? `timed out after ${context.timeoutMs} ms${context.cutByDeadline ? " (cut short to the time left before the deadline)" : ""}`
        : `could not be completed: ${outcome.detail}`;
    // A refused connection never reached the tool; anything else may have.
    const ambiguous = outcome.failure !== "refused" && !idempotent;
    if (!ambiguous) {
      const wait = plannedWait(context, context.backoffMs, "backoff");
      if (wait.ok) return { action: "retry", delayMs: context.backoffMs, reason: what };
      return unavailable(`${label} ${what} ${tries}${wait.why}`, { ambiguous: false });
    }
    return unavailable(`${label} ${what} ${tries}; the request may have taken effect`, { ambiguous: true });
  }

  const { status, text } = outcome;
  if ((status >= 200 && status < 300) || context.accept.includes(status)) {
    if (text.trim() === "") return { action: "return", status, body: undefined };
    try {
      return { action: "return", status, body: JSON.parse(text) };
    } catch {
      return {
        action: "fail",
        error: new ToolResponseError(
          tool,
          clean(`${label} answered HTTP ${status} with a body that is not JSON: ${excerpt(text)}`),
        ),
      };
    }
  }

  if (status === 401 || status === 403) {
    const refused = new ToolAuthError(
      tool,
      clean(`${label} was refused with HTTP ${status}: check ${context.credentialsHint}. ${excerpt(text)}`),
      status,
    );
    return context.credentialsRenewed
      ? { action: "fail", error: refused }
      : { action: "renew-credentials", otherwise: refused };
  }

  const transient = status === 429 || status === 408 || status >= 500;
  if (!transient) {
    return {
      action: "fail",
      error: new ToolRequestError(
        tool,
        clean(`${label} was rejected with HTTP ${status}: ${excerpt(text)}`),
        status,
      ),
    };
  }

  // 429: the tool refused the call, so nothing happened; the others may have taken effect.
  const ambiguous = status !== 429 && !idempotent;
  if (ambiguous) {
    return unavailable(
      `${label} failed with HTTP ${status} ${tries}; the request may have taken effect: ${excerpt(text)}`,
      { status, ambiguous: true },
    );
  }
  const retryAfterMs = parseRetryAfter(outcome.retryAfter, context.now);
  if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) {
    return unavailable(
      `${label} asked to wait ${seconds(retryAfterMs)} s (Retry-After), longer than the ${policy.maxRetryAfterMs / 1000} s this client waits: ${excerpt(text)}`,
      { status, ambiguous: false },
    );
  }
  const delayMs = retryAfterMs ?? context.backoffMs;
  const wait = plannedWait(context, delayMs, retryAfterMs === undefined ? "backoff" : "Retry-After");
  if (wait.ok) return { action: "retry", delayMs, reason: `HTTP ${status}` };
  return unavailable(`${label} failed with HTTP ${status} ${tries}${wait.why}: ${excerpt(text)}`, {
    status,
    ambiguous: false,
  });

  function unavailable(message: string, detail: { status?: number; ambiguous: boolean }): AttemptDecision {
    return { action: "fail", error: new ToolUnavailableError(tool, clean(message), detail) };
  }
}

/** Whether another attempt may follow a wait of `delayMs`; if not, why not (as a message suffix). */
function plannedWait(
  context: AttemptContext,
  delayMs: number,
  source: "backoff" | "Retry-After",
): { ok: true } | { ok: false; why: string } {
  if (context.attempt >= context.policy.maxAttempts) return { ok: false, why: "" };
  const minAttemptMs = context.policy.minAttemptMs ?? DEFAULT_MIN_ATTEMPT_MS;
  if (delayMs + minAttemptMs > context.timeLeftMs) {
    const left = Math.max(0, Math.floor(context.timeLeftMs));
    return {
      ok: false,
      why: `; not retried: a wait of ${delayMs} ms (${source}) and another attempt do not fit in the ${left} ms left before the deadline`,
    };
  }
  return { ok: true };
}

function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat === "") return "(empty body)";
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}...` : flat;
}
