import { InvalidCursorError, LedgerInputError } from "./errors";

/** Where a page of runs ended: the last run's sort key, and the pipeline whose runs were listed. */
export interface RunCursor {
  readonly pipeline: string;
  readonly firstEventAt: string;
  readonly runId: string;
}

/**
 * base64url of the last run's sort key, with its pipeline so a cursor cannot wander to another
 * listing. Every adapter hands out this same cursor, so the status API's contract does not
 * depend on where the ledger lives.
 */
export function encodeRunCursor(cursor: RunCursor): string {
  return Buffer.from(JSON.stringify([cursor.pipeline, cursor.firstEventAt, cursor.runId])).toString(
    "base64url",
  );
}

export function decodeRunCursor(cursor: string, pipeline: string): RunCursor {
  const bytes = Buffer.from(cursor, "base64url");
  // Node's decoder skips characters outside the alphabet: only a faithful round trip is ours
  if (cursor.length === 0 || bytes.toString("base64url") !== cursor) throw new InvalidCursorError();
  let key: unknown;
  try {
    key = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new InvalidCursorError(undefined, { cause: error });
  }
  if (!Array.isArray(key) || key.length !== 3) throw new InvalidCursorError();
  const [from, firstEventAt, runId]: unknown[] = key;
  if (
    typeof from !== "string" ||
    typeof firstEventAt !== "string" ||
    typeof runId !== "string" ||
    Number.isNaN(Date.parse(firstEventAt))
  ) {
    throw new InvalidCursorError();
  }
  if (from !== pipeline) {
    throw new InvalidCursorError(
      `the cursor belongs to the runs of ${from}, not of ${pipeline}: list again without it`,
    );
  }
  return { pipeline, firstEventAt, runId };
}

/** A time as the ledgers store it: UTC ISO 8601 with milliseconds, whose text order is its time order. */
export function ledgerInstant(value: string, field: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new LedgerInputError(`${field} is not an ISO 8601 time: ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

/** A page limit: a whole number of at least 1. */
export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new LedgerInputError(`a page limit is a whole number of at least 1, not ${limit}`);
  }
}
