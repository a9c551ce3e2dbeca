import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { TapestryError } from "@tapestry/core/errors";
import type { EventPublisher, TapestryEvent } from "@tapestry/core/events";
import { type Logger, silentLogger } from "@tapestry/core/logging";
import { compileEventPattern, type EventPattern } from "./event-pattern";

/**
 * The embedded control plane's stand-in for the EventBridge bus `tapestry-<stage>`. Subscriptions
 * are rules: a name, an EventBridge event pattern, and a handler as the target.
 *
 * As on EventBridge:
 * - each event is wrapped in the envelope EventBridge delivers (`version: "0"`, a fresh id, the
 *   put time, account "000000000000", region "local", `resources: []`) and matched against every
 *   subscription's pattern (the whole envelope, so `source`, `detail-type` and `detail` fields);
 * - delivery is asynchronous: `put` returns once the events are queued; `drain()` waits until
 *   every delivery (and whatever the handlers put in turn) has finished;
 * - delivery is at least once: a handler that throws is retried a few times with a growing
 *   backoff, after which the event goes to the dead-letter list with the error; other
 *   subscriptions are not affected, and a handler may see an event more than once;
 * - each handler gets its own copy of the event, as it would after JSON serialization;
 * - order of delivery is not guaranteed.
 */

/** An event as EventBridge delivers it to a target. */
export type BusEvent = TapestryEvent & {
  readonly version: "0";
  readonly id: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
};

export type BusHandler = (event: BusEvent) => void | Promise<void>;

export interface DeadLetter {
  readonly subscription: string;
  readonly event: BusEvent;
  readonly attempts: number;
  /** the last error's message (EventBridge's ERROR_MESSAGE attribute) */
  readonly errorMessage: string;
  readonly error: unknown;
  readonly failedAt: string;
}

export interface BusRetryPolicy {
  /** attempts per delivery, the first included (default 4) */
  readonly maxAttempts?: number;
  /** wait before the second attempt, doubled for each further one (default 10 ms) */
  readonly delayMs?: number;
}

export interface LocalEventBusOptions {
  readonly retry?: BusRetryPolicy;
  readonly now?: () => Date;
  /** how the bus waits between attempts (default: a timer); tests may pass one that returns at once */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly logger?: Logger;
  /** called once for each event that goes to the dead-letter list (EventBridge: the rule's DLQ) */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
}

export const LOCAL_ACCOUNT = "000000000000";
export const LOCAL_REGION = "local";
/** EventBridge's limit for one entry of PutEvents. */
export const MAX_EVENT_BYTES = 256 * 1024;

export class EventBusError extends TapestryError {
  override readonly name = "EventBusError";
}

interface Subscription {
  readonly name: string;
  readonly matches: (event: unknown) => boolean;
  readonly handler: BusHandler;
}

export class LocalEventBus implements EventPublisher {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly deliveries = new Set<Promise<void>>();
  private readonly dead: DeadLetter[] = [];
  private readonly maxAttempts: number;
  private readonly delayMs: number;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly logger: Logger;
  private readonly onDeadLetter: (letter: DeadLetter) => void;

  constructor(options: LocalEventBusOptions = {}) {
    this.onDeadLetter = options.onDeadLetter ?? (() => undefined);
    this.maxAttempts = Math.max(1, Math.floor(options.retry?.maxAttempts ?? 4));
    this.delayMs = Math.max(0, options.retry?.delayMs ?? 10);
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? ((ms) => delay(ms, undefined, { ref: false }));
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Adds a rule. The pattern is compiled now: an invalid one throws an EventPatternError. Returns a
   * function that removes the subscription (deliveries already under way still finish).
   */
  subscribe(name: string, pattern: EventPattern, handler: BusHandler): () => void {
    if (this.subscriptions.has(name))
      throw new EventBusError(`a subscription named "${name}" already exists`);
    const subscription = { name, matches: compileEventPattern(pattern), handler };
    this.subscriptions.set(name, subscription);
    return () => {
      if (this.subscriptions.get(name) === subscription) this.subscriptions.delete(name);
    };
  }

  unsubscribe(name: string): void {
    this.subscriptions.delete(name);
  }

  /** Queues the events for delivery; handlers run after this returns. */
  async put(events: readonly TapestryEvent[]): Promise<void> {
    const time = this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
    const envelopes = events.map((event) => {
      const json = JSON.stringify({
        version: "0",
        id: randomUUID(),
        "detail-type": event["detail-type"],
        source: event.source,
        account: LOCAL_ACCOUNT,
        time,
        region: LOCAL_REGION,
        resources: [],
        detail: event.detail,
      });
      if (Buffer.byteLength(json) > MAX_EVENT_BYTES) {
        throw new EventBusError(
          `a ${event["detail-type"]} event is ${Buffer.byteLength(json)} bytes; EventBridge takes at most ${MAX_EVENT_BYTES}`,
        );
      }
      return json;
    });
    // Matched when put, as EventBridge does: a subscription added later does not see these events.
    const targets = [...this.subscriptions.values()];
    for (const json of envelopes) {
      const envelope: unknown = JSON.parse(json);
      for (const subscription of targets) {
        if (subscription.matches(envelope)) this.track(this.deliver(subscription, json));
      }
    }
  }

  /** The EventPublisher port of core. */
  async publish(events: readonly TapestryEvent[]): Promise<void> {
    await this.put(events);
  }

  /** Waits until every delivery has finished, including those of events the handlers put meanwhile. */
  async drain(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.allSettled([...this.deliveries]);
  }

  /** Events whose delivery failed every attempt, oldest first. */
  deadLetters(): readonly DeadLetter[] {
    return [...this.dead];
  }

  private track(delivery: Promise<void>): void {
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }

  private async deliver(subscription: Subscription, json: string): Promise<void> {
    // Let put() return before any handler runs.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (let attempt = 1; ; attempt++) {
      // A fresh copy per attempt: a handler that mutated its event does not change the next attempt's.
      const event = JSON.parse(json) as BusEvent;
      try {
        await subscription.handler(event);
        return;
      } catch (error) {
        const errorMessage = error instanceof Error ? error.message : String(error);
        const context = {
          subscription: subscription.name,
          eventId: event.id,
          detailType: event["detail-type"],
          attempt,
          error: errorMessage,
        };
        if (attempt >= this.maxAttempts) {
          this.logger.error("event delivery failed; sent to the dead-letter list", context);
          const letter: DeadLetter = {
            subscription: subscription.name,
            event: JSON.parse(json) as BusEvent,
            attempts: attempt,
            errorMessage,
            error,
            failedAt: this.now().toISOString(),
          };
          this.dead.push(letter);
          this.onDeadLetter(letter);
          return;
        }
        this.logger.warn("event delivery failed; retrying", context);
        await this.sleep(this.delayMs * 2 ** (attempt - 1));
      }
    }
  }
}
