import {
  ToolAuthError,
  type ToolName,
  ToolRequestError,
  ToolResponseError,
  ToolUnavailableError,
} from "../errors";
import { type Logger, redact, silentLogger } from "../logging";
import type { AuthProvider } from "./auth";
import { DEFAULT_RETRY_POLICY, fullJitterDelay, parseRetryAfter, type RetryPolicy } from "./backoff";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";
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
  /** Safe to send twice. Default: true for GET, PUT and DELETE, false for POST. */
  readonly idempotent?: boolean;
  /** statuses handed back to the caller instead of thrown, e.g. 409 on a trigger */
  readonly accept?: readonly number[];
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

const EXCERPT_CHARS = 300;

/**
 * The one HTTP client every connector uses. It puts a timeout on every attempt, retries
 * 429 for any call (the tool refused it, so nothing happened) and 408/5xx/network failures for
 * idempotent calls only, with full-jitter exponential backoff that honours Retry-After, and it
 * redacts every secret from what it logs and throws. A non-idempotent call that fails after it
 * may have been received throws ToolUnavailableError with `ambiguous: true`, so that the
 * connector looks the job up before it triggers again.
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
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  get tool(): ToolName {
    return this.options.tool;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const { tool, auth, timeoutMs } = this.options;
    const idempotent = req.idempotent ?? req.method !== "POST";
    const label = `${tool} ${req.operation} (${req.method} ${req.path})`;
    let credentialsRenewed = false;

    for (let attempt = 1; ; attempt++) {
      const started = this.now();
      const headers: Record<string, string> = { accept: "application/json", ...(await auth.authorize()) };
      if (req.body !== undefined) headers["content-type"] = "application/json";
      let status: number;
      let text: string;
      let retryAfterHeader: string | null;
      try {
        const response = await fetch(this.url(req), {
          method: req.method,
          headers,
          body: req.body === undefined ? undefined : JSON.stringify(req.body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = response.status;
        retryAfterHeader = response.headers.get("retry-after");
        text = await response.text();
      } catch (error) {
        const failure = describeNetworkFailure(error, timeoutMs);
        // A refused connection never reached the tool; anything else may have.
        const ambiguous = !failure.refused;
        if ((idempotent || !ambiguous) && attempt < this.retry.maxAttempts) {
          await this.backOff(req, attempt, fullJitterDelay(this.retry, attempt, this.random), failure.text);
          continue;
        }
        throw new ToolUnavailableError(
          tool,
          this.clean(
            `${label} ${failure.text} (attempt ${attempt} of ${this.retry.maxAttempts})${ambiguous && !idempotent ? "; the request may have taken effect" : ""}`,
          ),
          { ambiguous: ambiguous && !idempotent },
        );
      }

      this.logger.debug(`${tool} ${req.operation}`, {
        tool,
        operation: req.operation,
        method: req.method,
        path: this.clean(req.path),
        status,
        attempt,
        durationMs: this.now() - started,
      });

      if ((status >= 200 && status < 300) || req.accept?.includes(status)) {
        return { status, body: this.parseBody(label, status, text), attempts: attempt };
      }

      if (status === 401 || status === 403) {
        if (!credentialsRenewed && auth.invalidate()) {
          credentialsRenewed = true;
          attempt--;
          continue;
        }
        throw new ToolAuthError(
          tool,
          this.clean(
            `${label} was refused with HTTP ${status}: check ${auth.credentialsHint}. ${excerpt(text)}`,
          ),
          status,
        );
      }

      const transient = status === 429 || status === 408 || status >= 500;
      if (!transient) {
        throw new ToolRequestError(
          tool,
          this.clean(`${label} was rejected with HTTP ${status}: ${excerpt(text)}`),
          status,
        );
      }

      const retryable = status === 429 || idempotent;
      const retryAfterMs = parseRetryAfter(retryAfterHeader, this.now());
      const waitTooLong = retryAfterMs !== undefined && retryAfterMs > this.retry.maxRetryAfterMs;
      if (retryable && attempt < this.retry.maxAttempts && !waitTooLong) {
        const delay = retryAfterMs ?? fullJitterDelay(this.retry, attempt, this.random);
        await this.backOff(req, attempt, delay, `HTTP ${status}`);
        continue;
      }
      const why = waitTooLong
        ? `asked to wait ${Math.ceil((retryAfterMs ?? 0) / 1000)} s (Retry-After), longer than the ${this.retry.maxRetryAfterMs / 1000} s this client waits`
        : `failed with HTTP ${status} (attempt ${attempt} of ${this.retry.maxAttempts})`;
      const ambiguous = status !== 429 && !idempotent;
      throw new ToolUnavailableError(
        tool,
        this.clean(
          `${label} ${why}${ambiguous ? "; the request may have taken effect" : ""}: ${excerpt(text)}`,
        ),
        { status, ambiguous },
      );
    }
  }

  private url(req: HttpRequest): string {
    const url = new URL(this.options.baseUrl + req.path);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.append(key, String(value));
    }
    return url.toString();
  }

  private parseBody(label: string, status: number, text: string): unknown {
    if (text.trim() === "") return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new ToolResponseError(
        this.options.tool,
        this.clean(`${label} answered HTTP ${status} with a body that is not JSON: ${excerpt(text)}`),
      );
    }
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

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat === "") return "(empty body)";
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}...` : flat;
}

function describeNetworkFailure(error: unknown, timeoutMs: number): { text: string; refused: boolean } {
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError" || name === "AbortError")
    return { text: `timed out after ${timeoutMs} ms`, refused: false };
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  return {
    text: `could not be completed: ${code ?? (error instanceof Error ? error.message : "network error")}`,
    refused: code === "ECONNREFUSED" || code === "ENOTFOUND",
  };
}
