import type { ToolName } from "./names";
import { type Problem, type ProblemAnswer, type ProblemSource, problemOf } from "./problem-details";

/**
 * Every error that crosses a boundary is a named subclass of TapestryError, so that ASL
 * `Retry`/`Catch` clauses (which match on the error's name) and callers can tell them apart.
 * Messages never carry credentials: they are built from redacted text only.
 */
export class TapestryError extends Error {
  override readonly name: string = "TapestryError";
}

/**
 * An error that the status API answers with a problem of its own (RFC 9457), decided here, with
 * the error, by its subclass: `problemFromError` asks any thrown value for `toProblem` and knows no
 * error by name. The answer is kept in a private field, so logs and JSON of the error do not repeat it.
 */
export abstract class ProblemError extends TapestryError implements ProblemSource {
  readonly #answer: ProblemAnswer;

  constructor(message: string, answer: ProblemAnswer, options?: { cause?: unknown }) {
    super(message, options);
    this.#answer = answer;
  }

  /** The problem about `instance` (the request's path); its detail is the message unless the answer says otherwise. */
  toProblem(instance: string): Problem {
    const { detail = this.message, extras, ...kind } = this.#answer;
    return problemOf(kind, detail, instance, extras);
  }
}

/** One problem in a configuration: where it is and what to do about it. */
export interface ConfigIssue {
  /** e.g. `pipelines[0].stages[1].steps[0].jobId` ("(root)" for the whole document) */
  readonly path: string;
  readonly message: string;
}

export class ConfigError extends TapestryError {
  override readonly name = "ConfigError";
  constructor(
    readonly issues: readonly ConfigIssue[],
    source = "tapestry config",
  ) {
    super(
      `${source} is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n${issues
        .map((i) => `  - ${i.path}: ${i.message}`)
        .join("\n")}`,
    );
  }
}

/** The tools' names live with the other naming rules (names.ts); errors name a tool by it. */
export type { ToolName } from "./names";

/** Base of every failure talking to a tool; `tool` names which one. */
export class ToolError extends TapestryError {
  override readonly name: string = "ToolError";
  constructor(
    readonly tool: ToolName,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The tool could not be reached or kept failing (network error, request timeout, 429 or 5xx
 * after the retries ran out). Worth retrying later: the ASL retries it by this name.
 */
export class ToolUnavailableError extends ToolError {
  override readonly name = "ToolUnavailableError";
  constructor(
    tool: ToolName,
    message: string,
    readonly detail: {
      readonly status?: number;
      /** true when the request may have reached the tool and taken effect (a sent POST that timed out or got a 5xx) */
      readonly ambiguous: boolean;
    },
    options?: { cause?: unknown },
  ) {
    super(tool, message, options);
  }
}

/**
 * A trigger may have reached the tool (it timed out, the connection dropped, or the tool answered
 * 5xx after the request was sent) and there was no time left in this invocation to look the job
 * up. The state machine must not simply retry the start (that could start a second job): it
 * catches this name and starts the step again in "adopt" mode, which looks the job up first.
 */
export class ToolTriggerUncertainError extends ToolError {
  override readonly name = "ToolTriggerUncertainError";
}

/** The tool rejected our credentials (401/403): retrying will not help; the fix is a secret. */
export class ToolAuthError extends ToolError {
  override readonly name = "ToolAuthError";
  constructor(
    tool: ToolName,
    message: string,
    readonly status: number,
  ) {
    super(tool, message);
  }
}

/** The tool answered with a 4xx other than auth and rate limits: the request or the target is wrong. */
export class ToolRequestError extends ToolError {
  override readonly name = "ToolRequestError";
  constructor(
    tool: ToolName,
    message: string,
    readonly status: number,
  ) {
    super(tool, message);
  }
}

/** The tool answered 2xx with a body we cannot understand (fail closed instead of guessing). */
export class ToolResponseError extends ToolError {
  override readonly name = "ToolResponseError";
}

/**
 * A secret the config names has no value in the stage's secret store (no SSM parameter
 * `/tapestry/<stage>/<NAME>` on AWS). Retrying will not help; the fix is to set it, and the
 * message says how. It names the secret, never a value.
 */
export class SecretNotSetError extends TapestryError {
  override readonly name = "SecretNotSetError";
  constructor(
    readonly secret: string,
    readonly stage: string,
    options?: { cause?: unknown },
  ) {
    super(
      `secret ${secret} is not set for stage ${stage}: run \`tapestry secrets set ${secret} --stage ${stage}\``,
      options,
    );
  }
}

/**
 * A secret is set but could not be read, for a reason a retry will not cure: the store refused
 * the read (IAM, the KMS key), it holds no text, or there is no one to ask for it. The message
 * names the secret and the fix, never a value.
 */
export class SecretReadError extends TapestryError {
  override readonly name: string = "SecretReadError";
  constructor(
    readonly secret: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A secret could not be read for now: the store throttled the read, timed out, or failed on its
 * side, after the SDK's own retries. Worth retrying later: a tool task retries it by this name
 * (the tool retry class, pipeline/task-errors.ts), so a passing SSM hiccup does not fail a step.
 */
export class SecretUnavailableError extends SecretReadError {
  override readonly name = "SecretUnavailableError";
  /** `why`: where the read went and what the store answered */
  constructor(secret: string, why: string, options?: ErrorOptions) {
    super(secret, `secret ${secret} could not be read for now: ${why}: try again`, options);
  }
}

/**
 * Events could not be put on the event bus, even after retrying the entries that failed. The
 * message names the bus, the error codes and the events' types and ids, never their detail.
 */
export class EventPublishError extends TapestryError {
  override readonly name = "EventPublishError";
  constructor(
    message: string,
    readonly failures: readonly {
      readonly id: string;
      readonly detailType: string;
      readonly errorCode: string;
    }[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A run id was started before: run ids are execution names, and the service refuses a second
 * execution with the same name. For a scheduled run that is a duplicate delivery of the same fire.
 */
export class RunAlreadyStartedError extends ProblemError {
  override readonly name = "RunAlreadyStartedError";
  constructor(
    readonly runId: string,
    options?: { cause?: unknown },
  ) {
    super(
      `run "${runId}" was already started: a run id starts one run only`,
      {
        status: 409,
        type: "run-already-started",
        title: "This run was already started",
        detail: `run "${runId}" was already started; no second run was started: try again to start a new run`,
      },
      options,
    );
  }
}

/** The engine that runs pipeline runs (Step Functions, the embedded runner) refused to start or stop one. */
export class RunControlError extends TapestryError {
  override readonly name = "RunControlError";
}

/**
 * The run ledger could not be read or written for a reason that may pass (throttling, a service
 * error, a timeout). Worth retrying: the state machine retries it by this name.
 */
export class LedgerUnavailableError extends TapestryError {
  override readonly name = "LedgerUnavailableError";
}
