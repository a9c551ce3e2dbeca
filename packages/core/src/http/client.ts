import { type ToolName, ToolUnavailableError } from "../errors";
import { type Logger, redact, silentLogger } from "../logging";
import { fullJitterDelay, realSleep } from "../retry";
import type { AuthProvider } from "./auth";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./backoff";
import { type AttemptOutcome, classifyAttempt, DEFAULT_MIN_ATTEMPT_MS } from "./classify";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type QueryValue = string | number | boolean | undefined;

export interface HttpRequest {
  /** what the call is for, in logs and errors, e.g. "trigger sync" */
  readonly operation: string;
  readonly method: HttpMethod;
  /** appended to the client's base URL, e.g. "/jobs/42" */
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  /** sent as JSON */
  readonly body?: unknown;
  /** Safe to send twice. Default: true for GET, PUT, PATCH and DELETE, false for POST. */
  readonly idempotent?: boolean;
  /** statuses handed back to the caller instead of thrown, e.g. 409 on a trigger */
  readonly accept?: readonly number[];
  /**
   * An absolute time (ms since the epoch) by which the request must have answered or failed,
   * e.g. the Lambda's end less a margin: no attempt or wait runs past it, and an attempt's
   * timeout is cut to the time left. Without one, only the attempts and their timeouts bound it.
   */
  readonly deadline?: number;
  /** secret values the body carries (a source's client secret): redacted from every message, as the auth's are */
  readonly secrets?: readonly string[];
}

export interface HttpResponse {
  readonly status: number;
  /** parsed JSON, or undefined for an empty body */
  readonly body: unknown;
  readonly attempts: number;
}

export interface HttpClientOptions {
  readonly tool: ToolName;
  readonly baseUrl: string;
  /** per attempt, covering the answer's body too */
  readonly timeoutMs: number;
  readonly auth: AuthProvider;
  readonly retry?: RetryPolicy;
  readonly logger?: Logger;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/**
 * The one HTTP client every connector uses. It puts a timeout on every attempt, never works past
 * the request's deadline, retries what is safe to retry with full-jitter backoff that honours
 * Retry-After (the rules are `classifyAttempt`'s), renews refused credentials once, and redacts
 * every secret from what it logs and throws. A non-idempotent call that fails after it may have
 * been received throws ToolUnavailableError with `ambiguous: true`, so that the connector looks
 * the job up before it triggers again.
 */
export class HttpClient {
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: HttpClientOptions) {
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
  }

  get tool(): ToolName {
    return this.options.tool;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const { tool, auth } = this.options;
    const idempotent = req.idempotent ?? req.method !== "POST";
    const label = `${tool} ${req.operation} (${req.method} ${req.path})`;
    const deadline = req.deadline ?? Number.POSITIVE_INFINITY;
    const minAttemptMs = this.retry.minAttemptMs ?? DEFAULT_MIN_ATTEMPT_MS;
    let credentialsRenewed = false;

    for (let attempt = 1; ; attempt++) {
      this.ensureTimeFor(label, deadline, minAttemptMs);
      const headers: Record<string, string> = {
        accept: "application/json",
        ...(await auth.authorize({ deadline })),
      };
      if (req.body !== undefined) headers["content-type"] = "application/json";
      // Renewing a token took some of the time: what is left is what the attempt may have.
      const timeLeftMs = this.ensureTimeFor(label, deadline, minAttemptMs);
      const timeoutMs = Math.floor(Math.min(this.options.timeoutMs, timeLeftMs));
      const started = this.now();
      const outcome = await this.send(req, headers, timeoutMs);
      this.logger.debug(`${tool} ${req.operation}`, {
        tool,
        operation: req.operation,
        method: req.method,
        path: this.clean(req.path),
        ...(outcome.kind === "answer" ? { status: outcome.status } : { failure: outcome.failure }),
        attempt,
        durationMs: this.now() - started,
      });
      const now = this.now();
      const decision = classifyAttempt(outcome, {
        tool,
        label,
        idempotent,
        accept: req.accept ?? [],
        attempt,
        policy: this.retry,
        timeoutMs,
        cutByDeadline: timeoutMs < this.options.timeoutMs,
        now,
        timeLeftMs: deadline - now,
        backoffMs: fullJitterDelay(this.retry, attempt, this.random),
        credentialsHint: auth.credentialsHint,
        credentialsRenewed,
        secrets: [...auth.secrets(), ...(req.secrets ?? [])],
      });
      switch (decision.action) {
        case "return":
          return { status: decision.status, body: decision.body, attempts: attempt };
        case "renew-credentials":
          if (!auth.invalidate()) throw decision.otherwise;
          credentialsRenewed = true;
          // a renewal is not an attempt: the request gets its full count with the new credentials
          attempt--;
          continue;
        case "retry":
          await this.backOff(req, attempt, decision.delayMs, decision.reason);
          continue;
        case "fail":
          throw decision.error;
      }
    }
  }

  /** Fails (before anything is sent) when less than one attempt's minimum is left; answers the time left. */
  private ensureTimeFor(label: string, deadline: number, minAttemptMs: number): number {
    const left = deadline - this.now();
    if (left >= minAttemptMs) return left;
    throw new ToolUnavailableError(
      this.options.tool,
      this.clean(
        `${label} was not sent: ${Math.max(0, Math.floor(left))} ms left before the deadline of this call, less than the ${minAttemptMs} ms an attempt needs; nothing reached the tool, so it is safe to retry later`,
      ),
      { ambiguous: false },
    );
  }

  /** One attempt: the tool's answer (body read in full), or how it failed to come. */
  private async send(
    req: HttpRequest,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<AttemptOutcome> {
    try {
      const response = await fetch(this.url(req), {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const retryAfter = response.headers.get("retry-after");
      return { kind: "answer", status: response.status, text: await response.text(), retryAfter };
    } catch (error) {
      return describeNetworkFailure(error);
    }
  }

  private url(req: HttpRequest): string {
    const url = new URL(this.options.baseUrl + req.path);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.append(key, String(value));
    }
    return url.toString();
  }

  private async backOff(req: HttpRequest, attempt: number, delayMs: number, reason: string): Promise<void> {
    this.logger.warn(`${this.options.tool} ${req.operation}: retrying after ${reason}`, {
      tool: this.options.tool,
      operation: req.operation,
      method: req.method,
      path: this.clean(req.path),
      attempt,
      reason: this.clean(reason),
      delayMs,
    });
    await this.sleep(delayMs);
  }

  /** Everything that leaves this client as text goes through here. */
  private clean(text: string): string {
    return redact(text, this.options.auth.secrets());
  }
}

/** The fetch error's cause code, never its text as such: it goes through the redactor as part of a message. */
function describeNetworkFailure(error: unknown): AttemptOutcome {
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError" || name === "AbortError")
    return { kind: "no-answer", failure: "timeout", detail: name };
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  return {
    kind: "no-answer",
    failure: code === "ECONNREFUSED" || code === "ENOTFOUND" ? "refused" : "network",
    detail: code ?? (error instanceof Error ? error.message : "network error"),
  };
}
