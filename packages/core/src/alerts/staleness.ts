import { nextFireTimes, parseScheduleExpression, type ScheduleSpec } from "../schedule";

/**
 * How long a pipeline may go without a successful run before it is stale, by default: twice the
 * longest gap between its scheduled runs. "Twice" lets one run be skipped or fail and be retried
 * by the next one before anyone is told; "longest" makes a weekday schedule's weekend (or a
 * monthly one's 31-day month) no false alarm.
 */

/** Fire times looked at for a cron: a year of them at most, and no more than this many. */
const CRON_SAMPLE = { maxFires: 3_000, horizonMs: 400 * 24 * 3_600_000 } as const;

const gaps = new Map<string, number | undefined>();

/**
 * The longest gap between consecutive scheduled runs, in whole minutes (rounded up): a rate's
 * interval; for a cron, the longest gap among its next fires (up to 3,000 of them within 400 days:
 * a year covers both daylight-saving changes and every month's length). Undefined when the
 * schedule fires fewer than twice in that time. `from` is where the cron's sample starts.
 */
export function longestScheduleGapMinutes(
  schedule: ScheduleSpec,
  from: Date = new Date(),
): number | undefined {
  const parsed = parseScheduleExpression(schedule.expression);
  if (!parsed.ok) return undefined;
  if (parsed.expression.kind === "rate") return Math.ceil(parsed.expression.intervalMs / 60_000);
  // the sample starts at the top of the day, so the answer does not change within a day
  const day = new Date(Math.floor(from.getTime() / 86_400_000) * 86_400_000);
  const key = `${schedule.expression} ${schedule.timezone} ${day.toISOString()}`;
  if (!gaps.has(key)) gaps.set(key, cronGapMinutes(schedule, day));
  return gaps.get(key);
}

function cronGapMinutes(schedule: ScheduleSpec, from: Date): number | undefined {
  const end = from.getTime() + CRON_SAMPLE.horizonMs;
  const fires = nextFireTimes(schedule, from, CRON_SAMPLE.maxFires).filter((fire) => fire.getTime() <= end);
  if (fires.length < 2) return undefined;
  let longest = 0;
  for (let i = 1; i < fires.length; i++) {
    longest = Math.max(longest, (fires[i]?.getTime() ?? 0) - (fires[i - 1]?.getTime() ?? 0));
  }
  return Math.ceil(longest / 60_000);
}

/**
 * The staleness threshold in effect: the configured `maxStaleMinutes`, off when it is false,
 * otherwise twice the schedule's longest gap (off for a disabled schedule, or one that fires
 * fewer than twice a year).
 */
export function effectiveMaxStaleMinutes(
  pipeline: {
    readonly alerts: { readonly maxStaleMinutes?: number | false };
    readonly schedule: ScheduleSpec & { readonly enabled: boolean };
  },
  from?: Date,
): number | undefined {
  const configured = pipeline.alerts.maxStaleMinutes;
  if (configured === false) return undefined;
  if (configured !== undefined) return configured;
  if (!pipeline.schedule.enabled) return undefined;
  const gap = longestScheduleGapMinutes(pipeline.schedule, from);
  return gap === undefined ? undefined : 2 * gap;
}
