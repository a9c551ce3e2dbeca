import { parseScheduleExpression, YEAR_MIN } from "./expression";
import { nextFireTime, type ScheduleSpec } from "./next-fire";
import { toWallTime } from "./zone";

/**
 * Whether a valid schedule still fires, judged on its tree and evaluated in its time zone: a cron
 * whose year field lies wholly in the past, one whose every match is already past, and one that
 * matches no instant at all (February 29th in a year that is not a leap year, a wall time that
 * daylight-saving time always skips) is refused with the reason. The judgement of "past" uses the
 * clock given (the moment the config is checked) and says so.
 */
export interface HorizonOptions {
  /** the clock "past" is judged against */
  readonly now: Date;
  /** false: only refuse schedules that never fire at all (for a config that was checked when it was deployed) */
  readonly judgePast?: boolean;
}

/** Before the first year Scheduler accepts: a search from here finds a schedule's first fire ever. */
const BEFORE_ANY_FIRE = new Date(Date.UTC(YEAR_MIN, 0, 1) - 1);

/** The problem with when a schedule (already known valid) fires, or undefined when it fires from now on. */
export function scheduleHorizonProblem(schedule: ScheduleSpec, options: HorizonOptions): string | undefined {
  const parsed = parseScheduleExpression(schedule.expression);
  if (!parsed.ok || parsed.expression.kind === "rate") return undefined;
  const { fields } = parsed.expression;
  const judgePast = options.judgePast ?? true;
  const clock = `judged against this machine's clock when the config was checked, ${options.now.toISOString()}`;
  const expression = schedule.expression;

  if (judgePast && fields.year.kind === "list") {
    const thisYear = new Date(toWallTime(schedule.timezone, options.now.getTime())).getUTCFullYear();
    const years = fields.year.items.flatMap((item) =>
      item.kind === "value" ? [item.value] : item.kind === "range" ? [item.from, item.to] : [],
    );
    const open = fields.year.items.some(
      (item) => item.kind === "step" || (item.kind === "range" && item.to < item.from),
    );
    if (!open && years.length > 0 && Math.max(...years) < thisYear) {
      return `${expression} fires only in the past: every year in its year field is before ${thisYear} (${clock}); change or remove the year field`;
    }
  }
  if (judgePast && nextFireTime(schedule, options.now)) return undefined;
  if (nextFireTime(schedule, BEFORE_ANY_FIRE) === undefined) {
    return `${expression} never fires: no instant in ${schedule.timezone} matches all its fields (check the day, month and year fields together, and wall times that daylight-saving time skips)`;
  }
  if (!judgePast) return undefined;
  return `${expression} fires only in the past: every time it matches is before now (${clock}); change the year field`;
}
