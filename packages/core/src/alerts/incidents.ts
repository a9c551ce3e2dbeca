import { monotonicFactory } from "ulid";
import { type AlertEvent, createEvent, type EventPublisher } from "../events";
import { ledgerInstant } from "../ledger/cursor";
import { alertKeyText, type Verdict } from "./evaluate";
import type {
  AlertStore,
  Incident,
  IncidentObservation,
  OpenOutcome,
  OpenRequest,
  ResolveOutcome,
  ResolveRequest,
} from "./store";

/**
 * Incidents from verdicts: a breaching verdict opens an incident (one message), further breaching
 * verdicts count on it silently, an ok verdict resolves it (one "resolved" message). The pure
 * decisions are here, shared by both store adapters; `recordVerdicts` applies a batch of verdicts
 * to a store and publishes ThresholdBreached / ThresholdRecovered for what opened and resolved.
 */

/** What a store knows of one key: its open incident, and the last one resolved. */
export interface KeyState {
  readonly open?: Incident;
  readonly lastResolved?: Incident;
}

/** A decision and what to write for it: the incident as it is to be stored, when anything changes. */
export type OpenDecision =
  | { readonly outcome: OpenOutcome; readonly write: "insert"; readonly incident: Incident }
  | { readonly outcome: OpenOutcome; readonly write: "update"; readonly incident: Incident }
  | { readonly outcome: OpenOutcome; readonly write: "none" };

export type ResolveDecision =
  | { readonly outcome: ResolveOutcome; readonly write: "resolve"; readonly incident: Incident }
  | { readonly outcome: ResolveOutcome; readonly write: "none" };

function observationOf(verdict: Verdict): IncidentObservation {
  return {
    figure: verdict.figure,
    summary: verdict.summary,
    at: instant(verdict.at),
    ...(verdict.runId !== undefined ? { runId: verdict.runId } : {}),
    ...(verdict.url !== undefined ? { url: verdict.url } : {}),
    ...(verdict.error !== undefined ? { error: verdict.error } : {}),
    ...(verdict.alarmName !== undefined ? { alarmName: verdict.alarmName } : {}),
  };
}

const before = (a: string, b: string) => Date.parse(a) < Date.parse(b);

/** Times as the stores keep them: UTC ISO 8601 with milliseconds, whose text order is time order. */
function instant(iso: string): string {
  return ledgerInstant(iso, "the verdict's time");
}

export function decideOpen(state: KeyState, request: OpenRequest): OpenDecision {
  const { verdict, cause } = request;
  const { open, lastResolved } = state;
  if (open) {
    if (open.openedBy === cause) return { outcome: { kind: "opened", incident: open }, write: "none" };
    if (open.repeatedBy === cause || before(verdict.at, open.latest.at)) {
      return { outcome: { kind: "repeated", incident: open }, write: "none" };
    }
    const incident: Incident = {
      ...open,
      latest: observationOf(verdict),
      breaches: open.breaches + 1,
      repeatedBy: cause,
    };
    return { outcome: { kind: "repeated", incident }, write: "update", incident };
  }
  // a breach seen before the last recovery of the same threshold is news from the past
  if (lastResolved?.recovery && before(verdict.at, lastResolved.recovery.at)) {
    return { outcome: { kind: "outdated" }, write: "none" };
  }
  const observation = observationOf(verdict);
  const incident: Incident = {
    id: request.incidentId,
    key: alertKeyText(verdict),
    pipeline: verdict.pipeline,
    rule: verdict.rule,
    ...(verdict.stage !== undefined ? { stage: verdict.stage } : {}),
    ...(verdict.step !== undefined ? { step: verdict.step } : {}),
    status: "open",
    unit: verdict.unit,
    threshold: verdict.threshold,
    openedAt: observation.at,
    breach: observation,
    latest: observation,
    breaches: 1,
    openedBy: cause,
  };
  return { outcome: { kind: "opened", incident }, write: "insert", incident };
}

export function decideResolve(state: KeyState, request: ResolveRequest): ResolveDecision {
  const { verdict, cause } = request;
  const { open, lastResolved } = state;
  if (!open) {
    return lastResolved?.resolvedBy === cause
      ? { outcome: { kind: "resolved", incident: lastResolved }, write: "none" }
      : { outcome: { kind: "not-open" }, write: "none" };
  }
  // a recovery seen before the newest breach does not end it
  if (before(verdict.at, open.latest.at)) return { outcome: { kind: "outdated" }, write: "none" };
  const incident: Incident = {
    ...open,
    status: "resolved",
    resolvedAt: instant(verdict.at),
    recovery: observationOf(verdict),
    resolvedBy: cause,
  };
  return { outcome: { kind: "resolved", incident }, write: "resolve", incident };
}

export interface IncidentDeps {
  readonly store: AlertStore;
  readonly publisher: EventPublisher;
  readonly now: () => Date;
  /** new incident ids (ULIDs); tests may pin them */
  readonly newId?: () => string;
}

const nextId = monotonicFactory();

/** The event an incident's opening states. */
export function breachEvent(incident: Incident, now: Date): AlertEvent {
  const { breach } = incident;
  return createEvent(
    "ThresholdBreached",
    {
      incidentId: incident.id,
      pipeline: incident.pipeline,
      rule: incident.rule,
      ...(incident.stage !== undefined ? { stage: incident.stage } : {}),
      ...(incident.step !== undefined ? { step: incident.step } : {}),
      unit: incident.unit,
      threshold: incident.threshold,
      figure: breach.figure,
      summary: breach.summary.slice(0, 1000),
      ...(breach.runId !== undefined ? { runId: breach.runId } : {}),
      ...(breach.alarmName !== undefined ? { alarmName: breach.alarmName } : {}),
      ...(breach.error !== undefined ? { error: breach.error.slice(0, 2000) } : {}),
      ...(breach.url !== undefined ? { url: breach.url } : {}),
      openedAt: incident.openedAt,
    },
    { pipeline: incident.pipeline, now },
  );
}

/** The event an incident's resolution states. */
export function recoveryEvent(incident: Incident, now: Date): AlertEvent {
  const recovery = incident.recovery ?? incident.latest;
  return createEvent(
    "ThresholdRecovered",
    {
      incidentId: incident.id,
      pipeline: incident.pipeline,
      rule: incident.rule,
      ...(incident.stage !== undefined ? { stage: incident.stage } : {}),
      ...(incident.step !== undefined ? { step: incident.step } : {}),
      unit: incident.unit,
      threshold: incident.threshold,
      figure: recovery.figure,
      summary: recovery.summary.slice(0, 1000),
      ...(recovery.runId !== undefined ? { runId: recovery.runId } : {}),
      ...(recovery.alarmName !== undefined ? { alarmName: recovery.alarmName } : {}),
      ...(recovery.url !== undefined ? { url: recovery.url } : {}),
      openedAt: incident.openedAt,
      resolvedAt: incident.resolvedAt ?? recovery.at,
    },
    { pipeline: incident.pipeline, now },
  );
}

/**
 * Applies verdicts to the store, in order, and publishes an event for each incident opened or
 * resolved (nothing for a repeat, an outdated verdict or a healthy one with nothing open).
 * `cause` names the evaluation (a run id, a check's time, an alarm's state change): applying the
 * same verdicts again for the same cause publishes the same incidents' events again, so a retry
 * after a failed publish loses nothing (the notifier sends one message per incident and kind).
 */
export async function recordVerdicts(
  verdicts: readonly Verdict[],
  cause: string,
  deps: IncidentDeps,
): Promise<AlertEvent[]> {
  const events: AlertEvent[] = [];
  for (const verdict of verdicts) {
    if (verdict.breaching) {
      const outcome = await deps.store.open({
        incidentId: deps.newId?.() ?? nextId(deps.now().getTime()),
        cause: `${cause}#${alertKeyText(verdict)}`,
        verdict,
      });
      if (outcome.kind === "opened") events.push(breachEvent(outcome.incident, deps.now()));
    } else {
      const outcome = await deps.store.resolve({ cause: `${cause}#${alertKeyText(verdict)}`, verdict });
      if (outcome.kind === "resolved") events.push(recoveryEvent(outcome.incident, deps.now()));
    }
  }
  if (events.length > 0) await deps.publisher.publish(events);
  return events;
}
