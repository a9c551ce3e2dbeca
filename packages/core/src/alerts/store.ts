import type { AlertRule, AlertUnit } from "../events";
import { InvalidCursorError } from "../ledger/errors";
import type { Verdict } from "./evaluate";

/** One observation of a threshold: the figure, what it means, where it was seen. */
export interface IncidentObservation {
  readonly figure: number;
  readonly summary: string;
  readonly at: string;
  readonly runId?: string;
  readonly url?: string;
  readonly error?: string;
  readonly alarmName?: string;
}

/**
 * A breach of one threshold, from the first breaching verdict until a verdict says the threshold
 * is met again: one message when it opens, one when it is resolved, whatever happens between.
 */
export interface Incident {
  /** a ULID: sortable by when it opened */
  readonly id: string;
  /** `pipeline:rule[:stage/step]` (alertKeyText): at most one open incident per key */
  readonly key: string;
  readonly pipeline: string;
  readonly rule: AlertRule;
  readonly stage?: string;
  readonly step?: string;
  readonly status: "open" | "resolved";
  readonly unit: AlertUnit;
  readonly threshold: number;
  readonly openedAt: string;
  /** what opened it */
  readonly breach: IncidentObservation;
  /** the newest breaching observation while it was open (the opening one at first) */
  readonly latest: IncidentObservation;
  /** breaching observations while open, the opening one included */
  readonly breaches: number;
  readonly resolvedAt?: string;
  readonly recovery?: IncidentObservation;
  /** the evaluation that opened it, resolved it, and last repeated it: a retry of one of them changes nothing */
  readonly openedBy: string;
  readonly resolvedBy?: string;
  readonly repeatedBy?: string;
}

export interface IncidentPage {
  readonly incidents: readonly Incident[];
  /** opaque; absent on the last page */
  readonly nextCursor?: string;
}

/** Opening: a new incident, another breach of the open one, or nothing (a verdict older than what is known). */
export type OpenOutcome =
  | { readonly kind: "opened"; readonly incident: Incident }
  | { readonly kind: "repeated"; readonly incident: Incident }
  | { readonly kind: "outdated" };

export type ResolveOutcome =
  | { readonly kind: "resolved"; readonly incident: Incident }
  | { readonly kind: "not-open" }
  | { readonly kind: "outdated" };

export interface OpenRequest {
  /** the id a new incident gets (a ULID) */
  readonly incidentId: string;
  /** the evaluation this comes from (e.g. the run id, the check's time): a retry of it is recognised */
  readonly cause: string;
  readonly verdict: Verdict;
}

export interface ResolveRequest {
  readonly cause: string;
  readonly verdict: Verdict;
}

/**
 * Incidents, beside the run ledger: SQLite tables in the same file embedded, items under `ALERT#`
 * keys in the same DynamoDB table on AWS. Both adapters decide with the same pure functions
 * (`decideOpen`, `decideResolve` in incidents.ts) and pass one suite (test/alerts/alert-store-suite.ts).
 */
export interface AlertStore {
  /**
   * Opens an incident for the verdict's key unless one is open (then it counts another breach).
   * "opened" again for a retry of the evaluation that opened it, so its event can be published
   * again; "outdated" for a verdict older than what the store knows of the key.
   */
  open(request: OpenRequest): Promise<OpenOutcome>;
  /** Resolves the open incident of the verdict's key; "resolved" again for a retry of the evaluation that resolved it. */
  resolve(request: ResolveRequest): Promise<ResolveOutcome>;
  /** Every open incident, oldest first. */
  openIncidents(): Promise<readonly Incident[]>;
  /** Every incident, open or resolved, newest first. */
  listIncidents(page: { readonly limit: number; readonly cursor?: string }): Promise<IncidentPage>;
  /** When the freshness check first watched the pipeline (set at the first call, answered ever after). */
  watchedSince(pipeline: string, now: string): Promise<string>;
}

/** The incident listing's cursor: base64url of the last incident's [openedAt, id], as both adapters hand it out. */
export function encodeIncidentCursor(incident: Pick<Incident, "openedAt" | "id">): string {
  return Buffer.from(JSON.stringify([incident.openedAt, incident.id])).toString("base64url");
}

export function decodeIncidentCursor(cursor: string): { readonly openedAt: string; readonly id: string } {
  const bytes = Buffer.from(cursor, "base64url");
  if (cursor.length === 0 || bytes.toString("base64url") !== cursor) throw new InvalidCursorError();
  let key: unknown;
  try {
    key = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new InvalidCursorError(undefined, { cause: error });
  }
  if (!Array.isArray(key) || key.length !== 2) throw new InvalidCursorError();
  const [openedAt, id]: unknown[] = key;
  if (typeof openedAt !== "string" || typeof id !== "string" || Number.isNaN(Date.parse(openedAt))) {
    throw new InvalidCursorError();
  }
  return { openedAt, id };
}
