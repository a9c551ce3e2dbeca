import type { Cron } from "croner";
import { ConfigError } from "../errors";
import { wallClockCron } from "./cron";
import { parseScheduleExpression, YEAR_MAX } from "./expression";
import { assertTimeZone, instantsAt, toWallTime } from "./zone";

/**
 * When an EventBridge Scheduler schedule fires, computed offline: the status API shows each
 * pipeline's next scheduled time, and the embedded control plane's LocalScheduler arms its timers
 * with it.
 *
 * Semantics, as Scheduler documents them (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html,
 * section "Daylight saving time", and the AWS knowledge-center article "eventbridge-scheduler-adjust-dst"):
 * - `cron(...)` is read in the schedule's IANA time zone and follows its daylight-saving changes.
 * - Spring forward: a wall time that does not exist that day (e.g. 02:30 in New York on the
 *   second Sunday of March) is skipped; there is no fire for it, not even one shifted past the gap.
 * - Fall back: a wall time that occurs twice fires once, at its first occurrence (the one still
 *   on daylight time); the repeat is not fired. This holds for every field value, so
 *   `cron(0/15 * * * ? *)` fires at 01:00, 01:15, 01:30, 01:45 EDT and next at 02:00 EST.
 *   (croner's own DST handling follows Vixie cron instead: fixed-time jobs run after a gap and
 *   interval jobs run twice in a repeat. That is why croner only evaluates wall-clock times here
 *   and the zone is applied by this module.)
 * - `rate(value unit)` is a fixed duration, not a wall-clock rule: it fires at the schedule's
 *   StartDate and every interval after it; a day is 24 hours even across a daylight-saving change.
 *   The time zone does not apply. Tapestry anchors every rate schedule on one grid: the whole
 *   multiples of its interval since 1970-01-01T00:00:00Z (rate(1 hour) fires on the hour,
 *   rate(15 minutes) at :00/:15/:30/:45, rate(1 day) at midnight UTC). The stacks give each rate
 *   schedule a StartDate on that grid (`rateScheduleStartDate`) and the embedded scheduler uses the
 *   grid too, so the fire times computed here are the scheduler's own (see docs/adr/0009).
 * - Fire times are strictly after `after`; cron fire times are whole minutes (Scheduler's precision).
 */

export interface ScheduleSpec {
  /** `cron(minutes hours day-of-month month day-of-week year)` or `rate(value unit)` */
  readonly expression: string;
  /** IANA zone the cron expression is read in */
  readonly timezone: string;
}

export interface NextFireOptions {
  /**
   * For `rate(...)`: the schedule's StartDate, its first fire time (nothing fires before it).
   * Default: the grid's origin, 1970-01-01T00:00:00Z, which gives the fire times of every
   * schedule whose StartDate is on the grid and already passed.
   */
  readonly rateAnchor?: Date;
}

/** The origin of the rate grid: every rate schedule fires at whole multiples of its interval since then. */
export const RATE_GRID_ORIGIN = new Date(0);

/**
 * How far after the synthesis a rate schedule's StartDate lies at least: Scheduler refuses a
 * StartDate more than 5 minutes in the past, and a deploy reaches the schedule some minutes
 * after the template was made. Fires in that window after a deploy are skipped.
 */
export const RATE_START_MARGIN_MS = 15 * 60_000;

type Compiled =
  | { readonly kind: "rate"; readonly intervalMs: number }
  | { readonly kind: "cron"; readonly cron: Cron };

const compiledCache = new Map<string, Compiled>();
const CACHE_LIMIT = 500;

function compile(expression: string): Compiled {
  const cached = compiledCache.get(expression);
  if (cached) return cached;
  const parsed = parseScheduleExpression(expression);
  if (!parsed.ok)
    throw new ConfigError([{ path: "schedule.expression", message: parsed.problem }], "schedule");
  const tree = parsed.expression;
  const compiled: Compiled =
    tree.kind === "rate"
      ? { kind: "rate", intervalMs: tree.intervalMs }
      : { kind: "cron", cron: wallClockCron(tree.fields) };
  if (compiledCache.size >= CACHE_LIMIT) compiledCache.clear();
  compiledCache.set(expression, compiled);
  return compiled;
}

/** The end of the last year Scheduler accepts, as a wall time: nothing fires after it. */
const LAST_WALL_TIME = Date.UTC(YEAR_MAX + 1, 0, 1);

function* cronFireTimes(cron: Cron, zone: string, after: number): Generator<number> {
  // Map every matching wall time to its first instant (none in a gap). The first instants grow
  // with the wall times, and the wall time `after` shows has its first instant at or before
  // `after`, so the search starts there; a match already fired in the first pass of a repeated
  // hour (its first instant is not after `after`) is passed over.
  let cursor: Date | null = new Date(toWallTime(zone, after));
  while (cursor) {
    cursor = cron.nextRun(cursor);
    if (!cursor || cursor.getTime() >= LAST_WALL_TIME) return;
    const [first] = instantsAt(zone, cursor.getTime());
    if (first === undefined || first <= after) continue;
    yield first;
  }
}

/**
 * The next `count` fire times of a schedule strictly after `after`, earliest first (fewer when the
 * schedule ends, e.g. a cron whose year field has passed). Throws a ConfigError for an expression
 * or zone Scheduler would reject.
 */
export function nextFireTimes(
  schedule: ScheduleSpec,
  after: Date,
  count: number,
  options: NextFireOptions = {},
): Date[] {
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`count must be a whole number ≥ 0, got ${count}`);
  const afterMs = after.getTime();
  if (Number.isNaN(afterMs)) throw new RangeError("after is an invalid Date");
  const compiled = compile(schedule.expression);
  assertTimeZone(schedule.timezone);
  const times: Date[] = [];
  if (compiled.kind === "rate") {
    const anchor = (options.rateAnchor ?? RATE_GRID_ORIGIN).getTime();
    if (Number.isNaN(anchor)) throw new RangeError("rateAnchor is an invalid Date");
    // a StartDate still ahead is the first fire time: nothing fires before it
    const first = anchor > afterMs ? 0 : Math.floor((afterMs - anchor) / compiled.intervalMs) + 1;
    for (let k = first; times.length < count; k++) times.push(new Date(anchor + k * compiled.intervalMs));
    return times;
  }
  if (count === 0) return times;
  for (const instant of cronFireTimes(compiled.cron, schedule.timezone, afterMs)) {
    times.push(new Date(instant));
    if (times.length >= count) break;
  }
  return times;
}

/** The next fire time strictly after `after`, or undefined when the schedule has no more. */
export function nextFireTime(
  schedule: ScheduleSpec,
  after: Date,
  options: NextFireOptions = {},
): Date | undefined {
  return nextFireTimes(schedule, after, 1, options)[0];
}

/**
 * The StartDate to deploy a schedule with: for `rate(...)`, the first point of its grid at least
 * RATE_START_MARGIN_MS after `synthesizedAt` (ISO 8601, whole seconds); undefined for `cron(...)`,
 * which needs none. Every deploy gets a fresh one, so Scheduler never sees a StartDate in the past.
 */
export function rateScheduleStartDate(schedule: ScheduleSpec, synthesizedAt: Date): string | undefined {
  const compiled = compile(schedule.expression);
  if (compiled.kind !== "rate") return undefined;
  const notBefore = synthesizedAt.getTime() + RATE_START_MARGIN_MS;
  if (Number.isNaN(notBefore)) throw new RangeError("synthesizedAt is an invalid Date");
  const origin = RATE_GRID_ORIGIN.getTime();
  const k = Math.ceil((notBefore - origin) / compiled.intervalMs);
  return new Date(origin + k * compiled.intervalMs).toISOString().replace(/\.\d{3}Z$/, "Z");
}
