import { ProblemError, TapestryError } from "../errors";
import { invalidRequestAnswer } from "../problem-details";

/**
 * A `listRuns` cursor this ledger did not hand out: garbled, truncated, or taken from another
 * pipeline's listing. The status API answers 400 naming the `cursor` field; the fix is to list
 * again without a cursor.
 */
export class InvalidCursorError extends ProblemError {
  override readonly name = "InvalidCursorError";
  constructor(
    message = "the cursor is not one this ledger handed out: list again without it",
    options?: { cause?: unknown },
  ) {
    super(
      message,
      invalidRequestAnswer([
        {
          field: "cursor",
          message: "not a cursor this API handed out (or it has expired): start again without it",
        },
      ]),
      options,
    );
  }
}

/**
 * What the ledger holds is not what its adapter wrote (an attribute or a column of the wrong
 * type): edited by hand, or written by another release. Not transient: no task retries it, and
 * the status API answers it as the opaque 500 (the message, in the log, names the item).
 */
export class LedgerDamagedError extends TapestryError {
  override readonly name = "LedgerDamagedError";
  constructor(
    readonly store: "DynamoDB" | "SQLite",
    problem: string,
  ) {
    super(`the ${store} ledger is damaged: ${problem}`);
  }
}

/**
 * A ledger call got an argument it cannot use: an event of another run, an event whose pipeline
 * is neither in its metadata nor in its run id, a page limit below 1, a time that is not ISO 8601.
 */
export class LedgerInputError extends TapestryError {
  override readonly name = "LedgerInputError";
}

/**
 * The run lock kept changing hands while a run asked for it (each refusal named a holder that
 * was gone by the time it was read). Transient: the state machine retries the lock task.
 */
export class RunLockContendedError extends TapestryError {
  override readonly name = "RunLockContendedError";
}
