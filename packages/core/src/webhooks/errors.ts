import { ProblemError, TapestryError } from "../errors";

/**
 * The webhook routes' refusals (answered as problem+json). Their details are fixed: an
 * unauthenticated caller learns nothing from them (not whether a secret was close, not whether a
 * job exists), and none repeats a path, a header or a body.
 */

/** The webhook's URL secret (Airbyte) or signature (dbt Cloud) does not match. Answered with 401. */
export class WebhookUnauthorizedError extends ProblemError {
  override readonly name = "WebhookUnauthorizedError";
  constructor() {
    super("the webhook could not be authenticated", {
      status: 401,
      type: "webhook-unauthorized",
      title: "Unauthenticated webhook",
    });
  }
}

/** The webhook's body is larger than the routes take. Answered with 413. */
export class WebhookTooLargeError extends ProblemError {
  override readonly name = "WebhookTooLargeError";
  constructor(readonly limitBytes: number) {
    super(`a webhook's body may be at most ${limitBytes} bytes`, { status: 413 });
  }
}

/** An authenticated webhook whose body is not JSON. Answered with 400. */
export class WebhookBodyError extends ProblemError {
  override readonly name = "WebhookBodyError";
  constructor() {
    super("the webhook's body is not JSON", { status: 400 });
  }
}

/**
 * The webhook could not be recorded for now (its secret or the store could not be read): answered
 * with 503, so that the tool delivers it again later.
 */
export class WebhookUnavailableError extends ProblemError {
  override readonly name = "WebhookUnavailableError";
  constructor(options?: { cause?: unknown }) {
    super("the webhook could not be recorded for now: deliver it again later", { status: 503 }, options);
  }
}

/** Step Functions (or the embedded runner) could not take a task's result for now (throttled, failing). */
export class TaskTokenSendError extends TapestryError {
  override readonly name = "TaskTokenSendError";
}

/** A stored record of the task-token store does not parse: written by something else, or damaged. */
export class TokenRecordDamagedError extends TapestryError {
  override readonly name = "TokenRecordDamagedError";
}
