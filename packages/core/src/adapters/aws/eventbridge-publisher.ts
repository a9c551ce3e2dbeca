import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { EventPublishError } from "../../errors";
import type { EventPublisher, TapestryEvent } from "../../events";
import { realSleep, retry } from "../../retry";

export interface EventBridgePublisherOptions {
  readonly client: EventBridgeClient;
  /** the bus's name or ARN (`tapestry-<stage>`) */
  readonly eventBusName: string;
  /** PutEvents calls per entry, the first included, before its failure is final (default 4) */
  readonly maxAttempts?: number;
  /** tests: no real waiting */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** PutEvents takes at most 10 entries and 256 KiB per request, and 256 KiB per entry. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

/** Backoff between PutEvents calls for the entries that failed: short, a Lambda is waiting. */
const BACKOFF = { baseDelayMs: 100, maxDelayMs: 2_000 } as const;

interface PreparedEntry {
  readonly event: TapestryEvent;
  readonly entry: PutEventsRequestEntry;
  readonly bytes: number;
}

interface FailedEntry {
  readonly prepared: PreparedEntry;
  readonly errorCode: string;
}

/** Some entries of a PutEvents call failed: worth sending those again. */
class EntriesFailed extends Error {
  constructor(readonly failed: readonly FailedEntry[]) {
    super(`${failed.length} entries failed`);
  }
}

/**
 * The event port on AWS: PutEvents on the Tapestry bus. A request may succeed for some entries
 * and fail for others (throttling, internal failures); only the failed entries are sent again.
 * That is safe because each event carries its own id (a ULID) and the ledger deduplicates by it:
 * an entry EventBridge took but reported as failed costs one duplicate delivery, never a lost event.
 * Whole-request failures (network, 5xx, throttled calls) are the SDK client's own retries.
 */
export class EventBridgePublisher implements EventPublisher {
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: EventBridgePublisherOptions) {
    this.maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 4));
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
  }

  async publish(events: readonly TapestryEvent[]): Promise<void> {
    // Every entry is checked before the first is sent: a batch that cannot go out whole goes out not at all.
    const prepared = events.map((event) => this.prepare(event));
    // In order, one request after the other: a run's events reach the bus in the order they happened.
    for (const batch of batches(prepared)) await this.putBatch(batch);
  }

  private prepare(event: TapestryEvent): PreparedEntry {
    const entry: PutEventsRequestEntry = {
      EventBusName: this.options.eventBusName,
      Source: event.source,
      DetailType: event["detail-type"],
      Detail: JSON.stringify(event.detail),
      Time: new Date(event.detail.metadata.occurredAt),
    };
    const bytes = entrySize(entry);
    if (bytes > PUT_EVENTS_MAX_BYTES) {
      const { id } = event.detail.metadata;
      throw new EventPublishError(
        `event ${event["detail-type"]} ${id} is ${bytes} bytes, over EventBridge's limit of ${PUT_EVENTS_MAX_BYTES} bytes per entry: nothing was published to bus ${this.options.eventBusName}`,
        [{ id, detailType: event["detail-type"], errorCode: "EntryTooLarge" }],
      );
    }
    return { event, entry, bytes };
  }

  private async putBatch(batch: readonly PreparedEntry[]): Promise<void> {
    let pending = batch;
    let attempts = 0;
    try {
      await retry(
        async (attempt) => {
          attempts = attempt;
          const failed = await this.put(pending);
          if (failed.length === 0) return;
          pending = failed.map((f) => f.prepared);
          throw new EntriesFailed(failed);
        },
        {
          ...BACKOFF,
          maxAttempts: this.maxAttempts,
          // Only failed entries go again; a failed call is the SDK client's own retries.
          retryable: (error) => error instanceof EntriesFailed,
          sleep: this.sleep,
          random: this.random,
        },
      );
    } catch (error) {
      throw error instanceof EntriesFailed ? this.failure(error.failed, batch.length, attempts) : error;
    }
  }

  /** One PutEvents call; answers the entries that failed. */
  private async put(entries: readonly PreparedEntry[]): Promise<FailedEntry[]> {
    const output = await this.options.client.send(
      new PutEventsCommand({ Entries: entries.map((e) => e.entry) }),
    );
    if (!output.FailedEntryCount) return [];
    // The result entries are in the order of the request's entries.
    const failed = entries.flatMap((prepared, i): FailedEntry[] => {
      const code = output.Entries?.[i]?.ErrorCode;
      return code ? [{ prepared, errorCode: code }] : [];
    });
    // A count with no entry saying which one failed: nothing tells us which were taken, so all go again.
    return failed.length > 0 ? failed : entries.map((prepared) => ({ prepared, errorCode: "Unknown" }));
  }

  private failure(failed: readonly FailedEntry[], batchSize: number, attempts: number): EventPublishError {
    const counts = new Map<string, number>();
    for (const f of failed) counts.set(f.errorCode, (counts.get(f.errorCode) ?? 0) + 1);
    const codes = [...counts].map(([code, n]) => `${code} x${n}`).join(", ");
    const which = failed.map(
      (f) => `${f.prepared.event["detail-type"]} ${f.prepared.event.detail.metadata.id}`,
    );
    return new EventPublishError(
      `${failed.length} of ${batchSize} events could not be published to bus ${this.options.eventBusName} after ${attempts} attempts (${codes}): ${which.join(", ")}`,
      failed.map((f) => ({
        id: f.prepared.event.detail.metadata.id,
        detailType: f.prepared.event["detail-type"],
        errorCode: f.errorCode,
      })),
    );
  }
}

/**
 * An entry's size as EventBridge counts it against its 256 KiB limit: 14 bytes for Time, plus
 * the UTF-8 bytes of Source, DetailType and Detail (and of each resource, which we never send).
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  const utf8 = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, "utf8"));
  return (
    (entry.Time ? 14 : 0) +
    utf8(entry.Source) +
    utf8(entry.DetailType) +
    utf8(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, r) => sum + utf8(r), 0)
  );
}

function* batches(entries: readonly PreparedEntry[]): Generator<readonly PreparedEntry[]> {
  let batch: PreparedEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (
      batch.length > 0 &&
      (batch.length === PUT_EVENTS_MAX_ENTRIES || bytes + entry.bytes > PUT_EVENTS_MAX_BYTES)
    ) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += entry.bytes;
  }
  if (batch.length > 0) yield batch;
}
