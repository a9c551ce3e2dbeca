import { monotonicFactory } from "ulid";
import {
  type DetailType,
  EVENT_CATALOG,
  type EventData,
  type EventOf,
  eventSourceOf,
  type TapestryEvent,
} from "./catalog";

const nextId = monotonicFactory();

/**
 * Builds a catalog event: its source, a fresh ULID, the catalog's version, correlationId = runId
 * (a pipeline run's, or a provisioning run's, which names no pipeline; an alert's: its incidentId).
 */
export function createEvent<T extends DetailType>(
  type: T,
  data: EventData<T>,
  context: { pipeline?: string; now: Date },
): EventOf<T> {
  const checked = EVENT_CATALOG[type].data.parse(data);
  return {
    source: eventSourceOf(type),
    "detail-type": type,
    detail: {
      metadata: {
        id: nextId(context.now.getTime()),
        version: EVENT_CATALOG[type].version,
        occurredAt: context.now.toISOString(),
        // a run's events share its id; an incident's breach and recovery share the incident's
        correlationId: "incidentId" in data ? data.incidentId : data.runId,
        ...(context.pipeline === undefined ? {} : { pipeline: context.pipeline }),
      },
      data: checked,
    },
  } as EventOf<T>;
}

/** The port through which core emits events: EventBridge PutEvents on AWS, the local bus when embedded. */
export interface EventPublisher {
  publish(events: readonly TapestryEvent[]): Promise<void>;
}
