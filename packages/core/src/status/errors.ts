import { TapestryError } from "../errors";

/** One problem with a request: which field (`limit`, `note`, `runId`, `(body)`) and what is wrong with it. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** The request is malformed: a bad query parameter, path parameter or body. Answered with 400. */
export class InvalidRequestError extends TapestryError {
  override readonly name = "InvalidRequestError";
  constructor(
    readonly errors: readonly FieldError[],
    message = `the request is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join("; ")}`,
  ) {
    super(message);
  }
}

/** The request has no Content-Type, or one the operation does not accept. Answered with 415. */
export class UnsupportedMediaTypeError extends TapestryError {
  override readonly name = "UnsupportedMediaTypeError";
  constructor(readonly contentType: string | undefined) {
    super(
      contentType === undefined
        ? "the request has no Content-Type: send the header Content-Type: application/json (even with no body)"
        : `a request of type "${contentType}" is not accepted: send Content-Type: application/json`,
    );
  }
}

export class PipelineNotFoundError extends TapestryError {
  override readonly name = "PipelineNotFoundError";
  constructor(readonly pipeline: string) {
    super(`there is no pipeline named "${pipeline}"`);
  }
}

export class RunNotFoundError extends TapestryError {
  override readonly name = "RunNotFoundError";
  constructor(readonly runId: string) {
    super(`there is no run "${runId}"`);
  }
}

/** A manual run was refused: a run of the pipeline is going and its overlap policy is `skip`. Answered with 409. */
export class RunActiveError extends TapestryError {
  override readonly name = "RunActiveError";
  constructor(
    readonly pipeline: string,
    readonly activeRunId: string,
  ) {
    super(
      `run "${activeRunId}" of pipeline "${pipeline}" is still going and the pipeline's overlap policy is "skip": try again when it has finished`,
    );
  }
}

/** A cancel of a run that has ended already. Answered with 409. */
export class RunEndedError extends TapestryError {
  override readonly name = "RunEndedError";
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(`run "${runId}" has ended (${status}): there is nothing to cancel`);
  }
}
