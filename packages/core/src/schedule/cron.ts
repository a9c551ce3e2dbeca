import { Cron } from "croner";

/**
 * EventBridge Scheduler's six-field cron (`minutes hours day-of-month month day-of-week year`,
 * already checked by config/schedule-expression.ts) translated into a croner pattern that croner
 * evaluates on the wall-clock timeline (UTC, so croner never sees a daylight-saving change: the
 * zone is applied afterwards, see next-fire.ts).
 *
 * What differs between the two grammars, and how it is bridged:
 * - day-of-week numbering: AWS counts 1 = SUN ... 7 = SAT (Quartz); croner's `alternativeWeekdays`
 *   uses the same numbering, and every day-of-week value is handed over as a number.
 * - `?` (no specific value, in exactly one day field): becomes `*`, and croner combines the two day
 *   fields with AND (`domAndDow`), so the other field alone decides, as in AWS.
 * - `L` alone in day-of-week is the last day of the week (Saturday, 7); `nL` (last weekday n of
 *   the month, e.g. `6L` = last Friday) is croner's `n#L`; `n#k`, `L`, `LW` and `nW` in
 *   day-of-month mean the same in both.
 * - increments `a/s` (from a to the field's end, Quartz style), ranges that wrap around
 *   (`FRI-MON`, `22-2`: Quartz semantics) and names are expanded here into plain number lists,
 *   so croner's own range rules never come into play.
 * - year: croner's seven-field mode has a year field; years are expanded like the other fields.
 */

interface Field {
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const MINUTES: Field = { min: 0, max: 59 };
const HOURS: Field = { min: 0, max: 23 };
const DAY_OF_MONTH: Field = { min: 1, max: 31 };
const MONTH: Field = { min: 1, max: 12, names: MONTH_NAMES };
const DAY_OF_WEEK: Field = { min: 1, max: 7, names: DAY_NAMES };
/** The years Scheduler accepts; no fire time exists after the last one. */
export const YEAR_MIN = 1970;
export const YEAR_MAX = 2199;
const YEAR: Field = { min: YEAR_MIN, max: YEAR_MAX };

function value(token: string, field: Field): number {
  const named = field.names?.indexOf(token.toUpperCase()) ?? -1;
  return named >= 0 ? named + field.min : Number(token);
}

/** One list item of a plain field (`*`, `*\/s`, `a`, `a-b`, `a/s`, `a-b/s`) as the values it selects. */
function expandItem(item: string, field: Field): number[] {
  const [range = "", stepText] = item.split("/");
  const step = stepText === undefined ? 1 : Number(stepText);
  let from: number;
  let to: number;
  if (range === "*") {
    from = field.min;
    to = field.max;
  } else {
    const [start = "", end] = range.split("-");
    from = value(start, field);
    // "a/s" runs to the end of the field; a lone "a" is just itself.
    to = end !== undefined ? value(end, field) : stepText !== undefined ? field.max : from;
  }
  const size = field.max - field.min + 1;
  // A range whose end is below its start wraps around the field's end (Quartz: FRI-MON, 22-2).
  const span = (((to - from) % size) + size) % size;
  const values: number[] = [];
  for (let offset = 0; offset <= span; offset += step) {
    values.push(field.min + ((from - field.min + offset) % size));
  }
  return values;
}

function expandField(text: string, field: Field): string {
  if (text === "*" || text === "?") return "*";
  const values = new Set<number>();
  for (const item of text.split(",")) for (const v of expandItem(item, field)) values.add(v);
  return [...values].sort((a, b) => a - b).join(",");
}

function dayOfMonthField(text: string): string {
  if (text === "*" || text === "?") return "*";
  const items = text.split(",").map((item) => {
    if (item === "L" || item === "LW") return item;
    if (/^\d{1,2}W$/.test(item)) return `${Number(item.slice(0, -1))}W`;
    return expandField(item, DAY_OF_MONTH);
  });
  return items.join(",");
}

function dayOfWeekField(text: string): string {
  if (text === "*" || text === "?") return "*";
  const items = text.split(",").map((item) => {
    if (item === "L") return String(DAY_OF_WEEK.max);
    if (item.includes("#")) {
      const [day = "", nth = ""] = item.split("#");
      return `${value(day, DAY_OF_WEEK)}#${nth}`;
    }
    if (/^\w+L$/.test(item)) return `${value(item.slice(0, -1), DAY_OF_WEEK)}#L`;
    return expandField(item, DAY_OF_WEEK);
  });
  return items.join(",");
}

/** The croner pattern (seconds, then AWS's six fields) of the body of a valid `cron(...)`. */
export function toCronerPattern(body: string): string {
  const [minutes = "", hours = "", dayOfMonth = "", month = "", dayOfWeek = "", year = ""] = body.split(" ");
  return [
    "0",
    expandField(minutes, MINUTES),
    expandField(hours, HOURS),
    dayOfMonthField(dayOfMonth),
    expandField(month, MONTH),
    dayOfWeekField(dayOfWeek),
    expandField(year, YEAR),
  ].join(" ");
}

/** A croner job that only answers questions (no callback, so it never schedules itself). */
export function wallClockCron(body: string): Cron {
  return new Cron(toCronerPattern(body), {
    utcOffset: 0,
    mode: "7-part",
    alternativeWeekdays: true,
    domAndDow: true,
    paused: true,
  });
}
