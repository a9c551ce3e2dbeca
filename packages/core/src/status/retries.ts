import type { RunLedger, RunRecord } from "../ledger/port";
import type { RetryView } from "./views";

/** The outcomes a retry may follow: the run ended without succeeding. */
const RETRIABLE = new Set<RunRecord["status"]>(["failed", "cancelled", "skipped"]);

export function retriable(run: RunRecord): boolean {
  return RETRIABLE.has(run.status);
}

/** How many of a pipeline's newer runs are searched for a run's retries (pages of RETRY_PAGE). */
const RETRY_LOOKBACK = 200;
const RETRY_PAGE = 50;

/**
 * The retries of a run, oldest first: the pipeline's runs newer than it (the newest
 * RETRY_LOOKBACK) whose trigger names it. The ledger keeps no index of retries: a retry is asked
 * for soon after the run it retries, so it is among the newest runs.
 */
export async function retriesOf(ledger: RunLedger, run: RunRecord): Promise<RetryView[]> {
  const found: RetryView[] = [];
  let cursor: string | undefined;
  for (let seen = 0; seen < RETRY_LOOKBACK; seen += RETRY_PAGE) {
    const page = await ledger.listRuns(
      run.pipeline,
      cursor === undefined ? { limit: RETRY_PAGE } : { limit: RETRY_PAGE, cursor },
    );
    for (const other of page.runs) {
      if (other.runId === run.runId) return found.reverse();
      if (other.trigger?.retryOf === run.runId) found.push({ runId: other.runId, status: other.status });
    }
    if (page.nextCursor === undefined) break;
    cursor = page.nextCursor;
  }
  return found.reverse();
}
