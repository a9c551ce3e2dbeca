import { z } from "zod";
import { issuesText } from "../../zod-messages";
import type { HistoryTableNames } from "./names";
import type { SnowflakeBind, SnowflakeRow } from "./session";

/**
 * The history table: one row per application of a statement (version, checksum, summary,
 * applied_at). A versioned statement has one row; a repeatable one a row each time it was applied
 * again, the latest being what is in force.
 */

export interface AppliedStatement {
  readonly version: string;
  readonly checksum: string;
  /** ISO 8601 */
  readonly appliedAt: string;
}

/** Reads every row, oldest first; the time comes back as ISO 8601 text (no driver date types). */
export function readHistorySql(history: HistoryTableNames): string {
  return `SELECT VERSION, CHECKSUM, TO_VARCHAR(APPLIED_AT, 'YYYY-MM-DD"T"HH24:MI:SS.FF3TZH:TZM') AS APPLIED_AT FROM ${history.qualified} ORDER BY APPLIED_AT, VERSION`;
}

/** Records one application; the values are bound, never spliced into the text. */
export function recordSql(
  history: HistoryTableNames,
  applied: {
    readonly version: string;
    readonly checksum: string;
    readonly summary: string;
    readonly appliedAt: string;
  },
): { readonly sql: string; readonly binds: readonly SnowflakeBind[] } {
  return {
    sql: `INSERT INTO ${history.qualified} (VERSION, CHECKSUM, SUMMARY, APPLIED_AT) SELECT ?, ?, ?, TO_TIMESTAMP_TZ(?)`,
    binds: [applied.version, applied.checksum, applied.summary, applied.appliedAt],
  };
}

const historyRow = z.object({
  VERSION: z.string(),
  CHECKSUM: z.string().regex(/^[0-9a-f]{64}$/, { error: "expected a SHA-256 in hex" }),
  APPLIED_AT: z.string(),
});

/** The latest row of each version. A row that is not one of ours is an error naming the table. */
export function latestApplications(
  rows: readonly SnowflakeRow[],
  table: string,
): { readonly latest: ReadonlyMap<string, AppliedStatement> } | { readonly problem: string } {
  const latest = new Map<string, AppliedStatement>();
  for (const [i, row] of rows.entries()) {
    const parsed = historyRow.safeParse(row);
    if (!parsed.success) {
      return {
        problem: `row ${i + 1} of ${table} is not one the bootstrap wrote: ${issuesText(parsed.error.issues)}`,
      };
    }
    const { VERSION: version, CHECKSUM: checksum, APPLIED_AT: appliedAt } = parsed.data;
    latest.set(version, { version, checksum, appliedAt });
  }
  return { latest };
}
