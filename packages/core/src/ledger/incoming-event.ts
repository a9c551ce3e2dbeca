import { parseEvent, type TapestryEvent } from "../events";
import { ledgerInstant } from "./cursor";
import { applyEvent } from "./projection";

/** An event checked and keyed for a ledger to store: what every adapter's `record` starts from. */
export interface IncomingEvent {
  readonly event: TapestryEvent;
  readonly id: string;
  readonly runId: string;
  readonly pipeline: string;
  /** normalised with toISOString, so text order is time order */
  readonly occurredAt: string;
}

/**
 * Parses an event against the catalog and names its run and pipeline, throwing (LedgerInputError,
 * or the catalog's error; an alert is no fact of a run) before an adapter writes anything.
 */
export function incomingEvent(event: TapestryEvent): IncomingEvent {
  const parsed = parseEvent(event);
  const { metadata } = parsed.detail;
  // the projection of the event alone: names its pipeline, or throws LedgerInputError
  const { pipeline, runId } = applyEvent(undefined, parsed);
  return {
    event: parsed,
    id: metadata.id,
    runId,
    pipeline,
    occurredAt: ledgerInstant(metadata.occurredAt, "occurredAt"),
  };
}
