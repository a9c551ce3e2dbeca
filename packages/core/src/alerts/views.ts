import type { AlertRule, AlertUnit } from "../events";
import type { AlertStore, Incident, IncidentObservation } from "./store";

/** An incident as the status API shows it (`GET /alerts`). */
export interface IncidentView {
  readonly id: string;
  readonly pipeline: string;
  readonly rule: AlertRule;
  readonly stage?: string;
  readonly step?: string;
  readonly status: "open" | "resolved";
  readonly unit: AlertUnit;
  readonly threshold: number;
  readonly openedAt: string;
  readonly resolvedAt?: string;
  /** breaching observations while it was open, the opening one included */
  readonly breaches: number;
  readonly breach: ObservationView;
  readonly latest: ObservationView;
  readonly recovery?: ObservationView;
}

export interface ObservationView extends IncidentObservation {
  /** the status API's path of the run the figure was measured on */
  readonly runPath?: string;
}

export interface AlertsView {
  /** every open incident, oldest first */
  readonly open: readonly IncidentView[];
  /** incidents open and resolved, newest first, one page */
  readonly incidents: readonly IncidentView[];
  readonly nextCursor?: string;
}

function observationView(observation: IncidentObservation): ObservationView {
  return {
    ...observation,
    ...(observation.runId ? { runPath: `/runs/${encodeURIComponent(observation.runId)}` } : {}),
  };
}

export function incidentView(incident: Incident): IncidentView {
  return {
    id: incident.id,
    pipeline: incident.pipeline,
    rule: incident.rule,
    ...(incident.stage !== undefined ? { stage: incident.stage } : {}),
    ...(incident.step !== undefined ? { step: incident.step } : {}),
    status: incident.status,
    unit: incident.unit,
    threshold: incident.threshold,
    openedAt: incident.openedAt,
    ...(incident.resolvedAt !== undefined ? { resolvedAt: incident.resolvedAt } : {}),
    breaches: incident.breaches,
    breach: observationView(incident.breach),
    latest: observationView(incident.latest),
    ...(incident.recovery ? { recovery: observationView(incident.recovery) } : {}),
  };
}

/** `GET /alerts`: the open incidents, and one page of every incident, newest first. */
export async function alertsOverview(
  store: Pick<AlertStore, "openIncidents" | "listIncidents">,
  page: { readonly limit: number; readonly cursor?: string },
): Promise<AlertsView> {
  const [open, listed] = await Promise.all([store.openIncidents(), store.listIncidents(page)]);
  return {
    open: open.map(incidentView),
    incidents: listed.incidents.map(incidentView),
    ...(listed.nextCursor !== undefined ? { nextCursor: listed.nextCursor } : {}),
  };
}
