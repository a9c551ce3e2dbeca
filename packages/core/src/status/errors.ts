import { ProblemError } from "../errors";
import { type FieldError, invalidRequestAnswer } from "../problem-details";

export type { FieldError } from "../problem-details";

/**
 * The status API's refusals. Each is answered with its own problem (ProblemError's `toProblem`),
 * as docs/status-api.openapi.yaml documents it.
 */

/** The request is malformed: a bad query parameter, path parameter or body. Answered with 400. */
export class InvalidRequestError extends ProblemError {
  override readonly name = "InvalidRequestError";
  constructor(readonly errors: readonly FieldError[]) {
    const answer = invalidRequestAnswer(errors);
    super(`the request is invalid: ${answer.detail}`, answer);
  }
}

/** The request has no Content-Type, or one the operation does not accept. Answered with 415. */
export class UnsupportedMediaTypeError extends ProblemError {
  override readonly name = "UnsupportedMediaTypeError";
  constructor(readonly contentType: string | undefined) {
    super(
      contentType === undefined
        ? "the request has no Content-Type: send the header Content-Type: application/json (even with no body)"
        : `a request of type "${contentType}" is not accepted: send Content-Type: application/json`,
      { status: 415 },
    );
  }
}

/** No pipeline of the config has this name. Answered with 404. */
export class PipelineNotFoundError extends ProblemError {
  override readonly name = "PipelineNotFoundError";
  constructor(readonly pipeline: string) {
    super(`there is no pipeline named "${pipeline}"`, {
      status: 404,
      type: "pipeline-not-found",
      title: "Unknown pipeline",
    });
  }
}

/** The ledger has no run with this id. Answered with 404. */
export class RunNotFoundError extends ProblemError {
  override readonly name = "RunNotFoundError";
  constructor(readonly runId: string) {
    super(`there is no run "${runId}"`, { status: 404, type: "run-not-found", title: "Unknown run" });
  }
}

/** A manual run was refused: a run of the pipeline is going and its overlap policy is `skip`. Answered with 409. */
export class RunActiveError extends ProblemError {
  override readonly name = "RunActiveError";
  constructor(
    readonly pipeline: string,
    readonly activeRunId: string,
  ) {
    super(
      `run "${activeRunId}" of pipeline "${pipeline}" is still going and the pipeline's overlap policy is "skip": try again when it has finished`,
      {
        status: 409,
        type: "run-active",
        title: "A run of this pipeline is still going",
        extras: { activeRunId },
      },
    );
  }
}

/** A cancel of a run that has ended already. Answered with 409. */
export class RunEndedError extends ProblemError {
  override readonly name = "RunEndedError";
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(`run "${runId}" has ended (${status}): there is nothing to cancel`, {
      status: 409,
      type: "run-ended",
      title: "This run has ended",
    });
  }
}

/** A retry of a run that is still queued or running. Answered with 409. */
export class RunNotEndedError extends ProblemError {
  override readonly name = "RunNotEndedError";
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(`run "${runId}" has not ended (${status}): retry it once it has, or cancel it first`, {
      status: 409,
      type: "run-not-ended",
      title: "This run has not ended",
    });
  }
}

/** A retry of a run that succeeded, or whose every stage succeeded: there is nothing to run again. Answered with 422. */
export class NothingToRetryError extends ProblemError {
  override readonly name = "NothingToRetryError";
  constructor(
    readonly runId: string,
    why: string,
  ) {
    super(`run "${runId}" ${why}: there is nothing to retry (start a new run instead)`, {
      status: 422,
      type: "nothing-to-retry",
      title: "Nothing to retry",
    });
  }
}
