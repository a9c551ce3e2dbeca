import { Cron } from "croner";
import { CRON_FIELDS, type CronField, type CronFieldSpec, type CronFields, fieldValues } from "./expression";

/**
 * A parsed EventBridge Scheduler cron (expression.ts) translated into a croner pattern that croner
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
 * - increments, ranges that wrap around (`FRI-MON`, `22-2`: Quartz semantics) and names are
 *   expanded into plain number lists by the tree, so croner's own range rules never come into play.
 * - year: croner's seven-field mode has a year field; years are expanded like the other fields.
 */

function spec(key: keyof CronFields): CronFieldSpec {
  const found = CRON_FIELDS.find((field) => field.key === key);
  if (!found) throw new Error(`no cron field ${key}`);
  return found;
}

const SPECS = {
  minutes: spec("minutes"),
  hours: spec("hours"),
  dayOfMonth: spec("dayOfMonth"),
  month: spec("month"),
  dayOfWeek: spec("dayOfWeek"),
  year: spec("year"),
};

function plainField(field: CronField, fieldSpec: CronFieldSpec): string {
  return field.kind === "list" ? fieldValues(field, fieldSpec).join(",") : "*";
}

function dayOfMonthField(field: CronField): string {
  if (field.kind !== "list") return "*";
  return field.items
    .map((item) => {
      if (item.kind === "last") return "L";
      if (item.kind === "last-weekday") return "LW";
      if (item.kind === "nearest-weekday") return `${item.day}W`;
      return plainField({ kind: "list", items: [item] }, SPECS.dayOfMonth);
    })
    .join(",");
}

function dayOfWeekField(field: CronField): string {
  if (field.kind !== "list") return "*";
  return field.items
    .map((item) => {
      if (item.kind === "last") return String(SPECS.dayOfWeek.max);
      if (item.kind === "nth-of-month") return `${item.weekday}#${item.week}`;
      if (item.kind === "last-of-month") return `${item.weekday}#L`;
      return plainField({ kind: "list", items: [item] }, SPECS.dayOfWeek);
    })
    .join(",");
}

/** The croner pattern (seconds, then AWS's six fields) of a parsed cron. */
export function toCronerPattern(fields: CronFields): string {
  return [
    "0",
    plainField(fields.minutes, SPECS.minutes),
    plainField(fields.hours, SPECS.hours),
    dayOfMonthField(fields.dayOfMonth),
    plainField(fields.month, SPECS.month),
    dayOfWeekField(fields.dayOfWeek),
    plainField(fields.year, SPECS.year),
  ].join(" ");
}

/** A croner job that only answers questions (no callback, so it never schedules itself). */
export function wallClockCron(fields: CronFields): Cron {
  return new Cron(toCronerPattern(fields), {
    utcOffset: 0,
    mode: "7-part",
    alternativeWeekdays: true,
    domAndDow: true,
    paused: true,
  });
}
