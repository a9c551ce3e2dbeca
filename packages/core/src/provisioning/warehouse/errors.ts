import { TapestryError } from "../../errors";

/** The statement a failure happened at: its place in the plan and what it does (never its SQL). */
export interface FailedStatement {
  /** 1-based position in the plan */
  readonly number: number;
  readonly version: string;
  readonly summary: string;
}

export interface WarehouseFailure {
  /** undefined when the failure came before any statement (signing in, reading the history) */
  readonly statement?: FailedStatement;
  /** Snowflake's error code, e.g. "003001", when Snowflake answered */
  readonly code?: string;
  readonly sqlState?: string;
  /** Snowflake's own message (redacted of every secret the bootstrapper handled) */
  readonly snowflakeMessage?: string;
}

/**
 * The warehouse bootstrap stopped: a statement failed (its number, version, Snowflake's code and
 * message), or the session could not be opened. Statements after it did not run; those applied
 * before it are recorded and are not run again. Not worth retrying as it is: the fix is in the
 * account or the config. Its message names no secret and carries no SQL.
 */
export class WarehouseBootstrapError extends TapestryError {
  override readonly name: string = "WarehouseBootstrapError";
  readonly statement?: FailedStatement;
  readonly code?: string;
  readonly sqlState?: string;
  readonly snowflakeMessage?: string;

  constructor(message: string, failure: WarehouseFailure = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.statement = failure.statement;
    this.code = failure.code;
    this.sqlState = failure.sqlState;
    this.snowflakeMessage = failure.snowflakeMessage;
  }
}

/**
 * Snowflake could not be reached or did not answer in time: the sign-in or a statement timed out,
 * or the connection dropped. Worth retrying: every statement is re-runnable and the history says
 * what is done, so a retry resumes. The state machine retries it by this name.
 */
export class WarehouseUnavailableError extends WarehouseBootstrapError {
  override readonly name = "WarehouseUnavailableError";
}

/**
 * A statement recorded as applied reads differently now (its checksum changed): Tapestry never
 * re-runs or rewrites an applied statement. Nothing ran. The message names the version(s) and
 * the way out (restore the config that produced it, or add a new statement).
 */
export class WarehouseHistoryChangedError extends WarehouseBootstrapError {
  override readonly name = "WarehouseHistoryChangedError";
  constructor(
    message: string,
    readonly versions: readonly string[],
  ) {
    super(message);
  }
}
