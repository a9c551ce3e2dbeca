import { TapestryError } from "@tapestry/core/errors";

/**
 * The errors of the commands that ask the status API (`status`, `runs`, `logs`, `run`, `cancel`),
 * in a module of their own: the commands map them to exit codes without loading the AWS SDK.
 */

/** The status API could not be reached at all (nothing listens, DNS, TLS): exit 1. */
export class StatusApiUnreachableError extends TapestryError {
  override readonly name = "StatusApiUnreachableError";
}

/**
 * The status API answered a problem (4xx, 5xx). `usage` when the request itself was wrong (a bad
 * argument: 400, 404, 415), which exits 2; a refusal of a sound request (409: a run is going, a run
 * has ended; 403: not allowed) or a failure of the API exits 1.
 */
export class StatusApiRefusedError extends TapestryError {
  override readonly name = "StatusApiRefusedError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  get usage(): boolean {
    return this.status === 400 || this.status === 404 || this.status === 415;
  }
}

/** The API answered something that is not what docs/status-api.openapi.yaml documents: exit 1. */
export class StatusApiAnswerError extends TapestryError {
  override readonly name = "StatusApiAnswerError";
}

/** No AWS credentials could be found for a signed request: a set-up problem, exit 2, with the fix. */
export class AwsCredentialsError extends TapestryError {
  override readonly name = "AwsCredentialsError";
}

/** CloudFormation could not tell the stage's status API URL (not deployed, no access): exit 1, or 2 when the stage does not exist. */
export class StatusApiLookupError extends TapestryError {
  override readonly name = "StatusApiLookupError";
  constructor(
    message: string,
    readonly usage: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
