import type { PipelineSpec } from "@tapestry/core/config";
import { type Logger, silentLogger } from "@tapestry/core/logging";
import { nextFireTime } from "@tapestry/core/schedule";

/**
 * The embedded control plane's stand-in for EventBridge Scheduler: one timer per enabled
 * pipeline schedule, armed at its next fire time (computed by @tapestry/core/schedule, so the
 * daylight-saving rules are Scheduler's), fired, re-armed.
 *
 * Delivery is at least once, as on AWS: a rejected `onFire` is retried (Scheduler's RetryPolicy),
 * so `onFire` may see the same scheduled time twice. The duplicate guard is not here: the run id
 * derives from pipeline + scheduled time (`scheduledRunId`), and the run starter refuses a run id
 * it has already started. `onFire` should resolve once the run is started (or refused as a
 * duplicate) and reject only when starting it failed.
 *
 * A rate schedule fires on the same grid as on AWS (whole intervals since 1970-01-01T00:00Z, the
 * StartDate rule of core's schedule module): restarting the local control plane does not start
 * every rate pipeline at once, and the status API's next scheduled time is the timer's.
 *
 * Differences from the managed service, on purpose:
 * - A timer that wakes up late (the machine slept) fires the fire time it was armed for once, late,
 *   and re-arms for the first fire time after now: missed fire times collapse into that one.
 */

/** setTimeout's largest delay (2^31-1 ms, about 24.8 days); longer waits are chained. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Time as the scheduler sees it; tests inject a fake one to drive time without waiting. */
export interface SchedulerClock {
  now(): Date;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: SchedulerClock = {
  now: () => new Date(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface SchedulerRetryPolicy {
  /** attempts per fire, the first included (default 3) */
  readonly maxAttempts?: number;
  /** wait before the second attempt, doubled for each further one (default 1000 ms) */
  readonly delayMs?: number;
}

export interface LocalSchedulerOptions {
  readonly pipelines: readonly PipelineSpec[];
  readonly onFire: (pipeline: PipelineSpec, scheduledTime: Date) => Promise<void>;
  readonly clock?: SchedulerClock;
  readonly retry?: SchedulerRetryPolicy;
  /** Called when every attempt of a fire failed (Scheduler's dead-letter queue). */
  readonly onFireFailed?: (pipeline: PipelineSpec, scheduledTime: Date, error: unknown) => void;
  readonly logger?: Logger;
}

interface Armed {
  readonly pipeline: PipelineSpec;
  next?: Date;
  timer?: unknown;
}

interface Pause {
  readonly handle: unknown;
  readonly wake: () => void;
}

export class LocalScheduler {
  private readonly clock: SchedulerClock;
  private readonly logger: Logger;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly armed = new Map<string, Armed>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pauses = new Set<Pause>();
  private running = false;

  constructor(private readonly options: LocalSchedulerOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.maxAttempts = Math.max(1, Math.floor(options.retry?.maxAttempts ?? 3));
    this.retryDelayMs = Math.max(0, options.retry?.delayMs ?? 1000);
    const names = new Set<string>();
    for (const pipeline of options.pipelines) {
      if (names.has(pipeline.name)) throw new Error(`pipeline "${pipeline.name}" is listed twice`);
      names.add(pipeline.name);
      // Fail here, not in a timer: an expression or zone Scheduler would reject throws a ConfigError.
      if (pipeline.schedule.enabled) nextFireTime(pipeline.schedule, this.clock.now());
    }
  }

  /** Arms one timer per enabled schedule. Calling it again while running does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.clock.now();
    for (const pipeline of this.options.pipelines) {
      if (!pipeline.schedule.enabled) continue;
      const armed: Armed = { pipeline };
      this.armed.set(pipeline.name, armed);
      this.arm(armed, now);
    }
  }

  /** Clears every timer and pending retry, then waits for the onFire calls in flight. */
  async stop(): Promise<void> {
    this.running = false;
    for (const armed of this.armed.values()) {
      if (armed.timer !== undefined) this.clock.clearTimeout(armed.timer);
    }
    this.armed.clear();
    for (const pause of this.pauses) {
      this.clock.clearTimeout(pause.handle);
      pause.wake();
    }
    this.pauses.clear();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** The armed fire time of a pipeline; undefined when stopped, disabled, unknown or finished. */
  nextFire(pipelineName: string): Date | undefined {
    const next = this.armed.get(pipelineName)?.next;
    return next ? new Date(next) : undefined;
  }

  private arm(armed: Armed, after: Date): void {
    armed.next = nextFireTime(armed.pipeline.schedule, after);
    if (armed.next) this.wait(armed);
    else this.logger.info("schedule has no more fire times", { pipeline: armed.pipeline.name });
  }

  private wait(armed: Armed): void {
    const next = armed.next;
    if (!next) return;
    const delay = Math.min(Math.max(0, next.getTime() - this.clock.now().getTime()), MAX_TIMER_DELAY_MS);
    armed.timer = this.clock.setTimeout(() => this.wake(armed), delay);
  }

  private wake(armed: Armed): void {
    armed.timer = undefined;
    const scheduled = armed.next;
    if (!this.running || !scheduled || this.armed.get(armed.pipeline.name) !== armed) return;
    const now = this.clock.now();
    // A chained (or early) timer: wait for the rest.
    if (now.getTime() < scheduled.getTime()) {
      this.wait(armed);
      return;
    }
    // Re-arm before delivering: a slow onFire never delays the next fire.
    this.arm(armed, now);
    this.dispatch(armed.pipeline, scheduled);
  }

  private dispatch(pipeline: PipelineSpec, scheduledTime: Date): void {
    const delivery = this.deliver(pipeline, scheduledTime);
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  private async deliver(pipeline: PipelineSpec, scheduledTime: Date): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.onFire(pipeline, new Date(scheduledTime));
        return;
      } catch (error) {
        const context = {
          pipeline: pipeline.name,
          scheduledTime: scheduledTime.toISOString(),
          attempt,
          error: error instanceof Error ? error.message : String(error),
        };
        if (attempt >= this.maxAttempts || !this.running) {
          this.logger.error("schedule fire failed; no attempts left", context);
          this.options.onFireFailed?.(pipeline, new Date(scheduledTime), error);
          return;
        }
        this.logger.warn("schedule fire failed; retrying", context);
        await this.pause(this.retryDelayMs * 2 ** (attempt - 1));
        if (!this.running) {
          this.logger.warn("scheduler stopped before the retry of a failed fire", context);
          this.options.onFireFailed?.(pipeline, new Date(scheduledTime), error);
          return;
        }
      }
    }
  }

  /** A wait on the injected clock that stop() cuts short. */
  private pause(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const pause: Pause = {
        handle: this.clock.setTimeout(() => {
          this.pauses.delete(pause);
          resolve();
        }, delayMs),
        wake: resolve,
      };
      this.pauses.add(pause);
    });
  }
}
