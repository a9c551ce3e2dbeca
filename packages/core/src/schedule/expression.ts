/**
 * The grammar of EventBridge Scheduler's recurring schedule expressions, parsed once into a tree
 * that both the config's validation and the schedule's evaluation read:
 * - `rate(value unit)`: a positive whole number and minute(s), hour(s) or day(s), singular for 1;
 * - `cron(minutes hours day-of-month month day-of-week year)`: six fields, each `*`, `?` or a list
 *   of items: a value, a range `a-b` (wrapping around the field's end, Quartz style), an increment
 *   `a/s` or `a-b/s` or `*\/s`, and where AWS allows them `L`, `W`, `LW` (day-of-month), `nL` and
 *   `n#k` (day-of-week). Names (JAN..DEC, SUN..SAT) are resolved to numbers here, and `?` must be
 *   in exactly one of the two day fields.
 * A cron whose day-of-month exists in none of its months (`cron(0 6 30 FEB ? *)`) is refused here
 * too: it is wrong whatever the clock says. Whether a schedule still fires from now on depends on
 * the clock and the time zone, so that is judged elsewhere (horizon.ts).
 */

export type RateUnit = "minute" | "hour" | "day";

export interface RateExpression {
  readonly kind: "rate";
  readonly value: number;
  readonly unit: RateUnit;
  readonly intervalMs: number;
}

/** One item of a cron field's comma-separated list. */
export type CronItem =
  /** `a` */
  | { readonly kind: "value"; readonly value: number }
  /** `a-b` or `a-b/s`; `*` and `*\/s` are the field's whole range. `to` below `from` wraps around. */
  | { readonly kind: "range"; readonly from: number; readonly to: number; readonly step: number }
  /** `a/s`: from a to the field's end, every s */
  | { readonly kind: "step"; readonly from: number; readonly step: number }
  /** `L`: the month's last day (day-of-month), Saturday (day-of-week) */
  | { readonly kind: "last" }
  /** `LW`: the month's last weekday (day-of-month) */
  | { readonly kind: "last-weekday" }
  /** `nW`: the weekday nearest day n, within the month (day-of-month) */
  | { readonly kind: "nearest-weekday"; readonly day: number }
  /** `nL`: the month's last weekday n, e.g. `6L` = last Friday (day-of-week) */
  | { readonly kind: "last-of-month"; readonly weekday: number }
  /** `n#k`: the k-th weekday n of the month, e.g. `2#1` = first Monday (day-of-week) */
  | { readonly kind: "nth-of-month"; readonly weekday: number; readonly week: number };

export type CronField =
  /** `*` */
  | { readonly kind: "every" }
  /** `?`: no specific value (one of the two day fields) */
  | { readonly kind: "unspecified" }
  | { readonly kind: "list"; readonly items: readonly CronItem[] };

export interface CronFields {
  readonly minutes: CronField;
  readonly hours: CronField;
  readonly dayOfMonth: CronField;
  readonly month: CronField;
  readonly dayOfWeek: CronField;
  readonly year: CronField;
}

export interface CronExpression {
  readonly kind: "cron";
  /** the text between the parentheses, for messages */
  readonly body: string;
  readonly fields: CronFields;
}

export type ScheduleExpression = RateExpression | CronExpression;

export type ParsedSchedule =
  | { readonly ok: true; readonly expression: ScheduleExpression }
  | { readonly ok: false; readonly problem: string };

/** The years Scheduler accepts in a cron's year field; nothing fires after the last one. */
export const YEAR_MIN = 1970;
export const YEAR_MAX = 2199;

export interface CronFieldSpec {
  readonly key: keyof CronFields;
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** the special forms AWS allows in this field beyond `, - * /` */
  readonly special?: "day-of-month" | "day-of-week";
}

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** The six fields in expression order. Day-of-week counts 1 = SUN ... 7 = SAT (Quartz, as AWS). */
export const CRON_FIELDS: readonly CronFieldSpec[] = [
  { key: "minutes", name: "minutes", min: 0, max: 59 },
  { key: "hours", name: "hours", min: 0, max: 23 },
  { key: "dayOfMonth", name: "day-of-month", min: 1, max: 31, special: "day-of-month" },
  { key: "month", name: "month", min: 1, max: 12, names: MONTH_NAMES },
  { key: "dayOfWeek", name: "day-of-week", min: 1, max: 7, names: DAY_NAMES, special: "day-of-week" },
  { key: "year", name: "year", min: YEAR_MIN, max: YEAR_MAX },
];

const UNIT_MS: Record<RateUnit, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const RATE_UNITS = Object.keys(UNIT_MS) as RateUnit[];

const GRAMMAR_HINT =
  'expected "cron(minutes hours day-of-month month day-of-week year)" or "rate(value unit)", e.g. "cron(0 6 * * ? *)" or "rate(1 hour)"';

const parsedCache = new Map<string, ParsedSchedule>();
const CACHE_LIMIT = 500;

/** Parses a recurring schedule expression; the problem, when there is one, says how to fix it. */
export function parseScheduleExpression(expression: string): ParsedSchedule {
  // a config names few distinct expressions, read by validation, the horizon check and evaluation
  let parsed = parsedCache.get(expression);
  if (!parsed) {
    parsed = parse(expression);
    if (parsedCache.size >= CACHE_LIMIT) parsedCache.clear();
    parsedCache.set(expression, parsed);
  }
  return parsed;
}

function parse(expression: string): ParsedSchedule {
  if (expression.trim() !== expression) return fail("remove the leading/trailing spaces");
  if (expression.startsWith("at(")) {
    return fail("a pipeline schedule must recur: use cron(...) or rate(...); at(...) runs only once");
  }
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) return parseRate(rate[1] ?? "");
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return parseCron(cron[1] ?? "");
  return fail(GRAMMAR_HINT);
}

/** The problem with an expression as a sentence that says how to fix it; undefined when Scheduler accepts it. */
export function checkScheduleExpression(expression: string): string | undefined {
  const parsed = parseScheduleExpression(expression);
  return parsed.ok ? undefined : parsed.problem;
}

function fail(problem: string): ParsedSchedule {
  return { ok: false, problem };
}

function parseRate(body: string): ParsedSchedule {
  const match = /^(\S+) (\S+)$/.exec(body);
  if (!match) return fail(`rate(${body}) must be "rate(value unit)", e.g. "rate(30 minutes)"`);
  const [, valueText = "", unitText = ""] = match;
  if (!/^[1-9]\d*$/.test(valueText)) {
    return fail(`rate(${body}): the value must be a positive whole number, got "${valueText}"`);
  }
  const unit = RATE_UNITS.find((u) => u === unitText.replace(/s$/, ""));
  if (!unit) return fail(`rate(${body}): the unit must be minute(s), hour(s) or day(s), got "${unitText}"`);
  const expected = valueText === "1" ? unit : `${unit}s`;
  if (unitText !== expected) return fail(`rate(${body}): write "rate(${valueText} ${expected})"`);
  const value = Number(valueText);
  return { ok: true, expression: { kind: "rate", value, unit, intervalMs: value * UNIT_MS[unit] } };
}

function parseCron(body: string): ParsedSchedule {
  const parts = body.split(" ");
  if (parts.length !== CRON_FIELDS.length || parts.some((p) => p === "")) {
    return fail(
      `cron(${body}) has ${body.split(/\s+/).filter(Boolean).length} fields; EventBridge Scheduler needs 6 separated by single spaces: minutes hours day-of-month month day-of-week year, e.g. "cron(0 6 * * ? *)"`,
    );
  }
  const fields: Partial<Record<keyof CronFields, CronField>> = {};
  for (const [i, spec] of CRON_FIELDS.entries()) {
    const text = parts[i] ?? "";
    const field = parseField(text, spec);
    if (typeof field === "string") return fail(`cron(${body}): ${spec.name} field "${text}" ${field}`);
    fields[spec.key] = field;
  }
  const cron = fields as CronFields;
  if ((cron.dayOfMonth.kind === "unspecified") === (cron.dayOfWeek.kind === "unspecified")) {
    return fail(
      `cron(${body}): exactly one of day-of-month and day-of-week must be "?", e.g. "cron(0 6 * * ? *)" or "cron(0 6 ? * MON-FRI *)"`,
    );
  }
  const impossible = dayOfMonthNeverOccurs(cron);
  if (impossible) {
    return fail(
      `cron(${body}): day-of-month "${parts[2]}" never occurs in month "${parts[3]}", so the schedule would never fire: pick days every chosen month has, or L for the last day`,
    );
  }
  return { ok: true, expression: { kind: "cron", body, fields: cron } };
}

/** A field's tree, or the problem as the end of a sentence that starts with the field's name and text. */
function parseField(text: string, spec: CronFieldSpec): CronField | string {
  if (text === "?") return spec.special ? { kind: "unspecified" } : 'may not be "?"';
  if (text === "*") return { kind: "every" };
  const items: CronItem[] = [];
  for (const itemText of text.split(",")) {
    const item = parseItem(itemText, spec);
    if (typeof item === "string") return item;
    items.push(item);
  }
  return { kind: "list", items };
}

function parseItem(text: string, spec: CronFieldSpec): CronItem | string {
  if (spec.special) {
    if (text === "L") return { kind: "last" };
    if (spec.special === "day-of-month" && text === "LW") return { kind: "last-weekday" };
    if (spec.special === "day-of-month" && /^\d{1,2}W$/.test(text)) {
      const day = parseNumber(text.slice(0, -1), spec);
      return typeof day === "string" ? day : { kind: "nearest-weekday", day };
    }
    if (spec.special === "day-of-week" && /^\w+L$/.test(text)) {
      const weekday = parseNumber(text.slice(0, -1), spec);
      return typeof weekday === "string" ? weekday : { kind: "last-of-month", weekday };
    }
  }
  if (spec.special === "day-of-week" && text.includes("#")) {
    const [dayText = "", weekText = "", ...rest] = text.split("#");
    if (rest.length > 0) return "has more than one #";
    if (!/^[1-5]$/.test(weekText)) return `has "#${weekText}": the week number after # must be 1 to 5`;
    const weekday = parseNumber(dayText, spec);
    return typeof weekday === "string" ? weekday : { kind: "nth-of-month", weekday, week: Number(weekText) };
  }
  const [rangeText = "", stepText, ...rest] = text.split("/");
  if (rest.length > 0) return "has more than one /";
  if (stepText !== undefined && !/^[1-9]\d*$/.test(stepText)) {
    return `has "/${stepText}": the increment must be a positive whole number`;
  }
  const step = stepText === undefined ? 1 : Number(stepText);
  if (rangeText === "*") return { kind: "range", from: spec.min, to: spec.max, step };
  const bounds = rangeText.split("-");
  if (bounds.length > 2) return `has "${rangeText}": a range is "from-to"`;
  const values: number[] = [];
  for (const bound of bounds) {
    const value = parseNumber(bound, spec);
    if (typeof value === "string") return value;
    values.push(value);
  }
  const [from = spec.min, to] = values;
  if (to !== undefined) return { kind: "range", from, to, step };
  return stepText === undefined ? { kind: "value", value: from } : { kind: "step", from, step };
}

function parseNumber(token: string, spec: CronFieldSpec): number | string {
  const named = spec.names?.indexOf(token.toUpperCase()) ?? -1;
  if (named >= 0) return named + spec.min;
  if (!/^\d+$/.test(token)) {
    const names = spec.names ? ` or one of ${spec.names.join(",")}` : "";
    return `has "${token}": expected a number ${spec.min}-${spec.max}${names}`;
  }
  const n = Number(token);
  if (n < spec.min || n > spec.max) return `has ${n}: allowed values are ${spec.min}-${spec.max}`;
  return n;
}

/** The values a plain item selects, in selection order (wrapping ranges go past the end and round). */
export function itemValues(item: CronItem, spec: Pick<CronFieldSpec, "min" | "max">): number[] {
  let from: number;
  let to: number;
  let step = 1;
  switch (item.kind) {
    case "value":
      return [item.value];
    case "range":
      ({ from, to, step } = item);
      break;
    case "step":
      ({ from, step } = item);
      to = spec.max;
      break;
    default:
      return [];
  }
  const size = spec.max - spec.min + 1;
  const span = (((to - from) % size) + size) % size;
  const values: number[] = [];
  for (let offset = 0; offset <= span; offset += step)
    values.push(spec.min + ((from - spec.min + offset) % size));
  return values;
}

/** The sorted values a field of plain items selects; every value of the field for `*` and `?`. */
export function fieldValues(field: CronField, spec: Pick<CronFieldSpec, "min" | "max">): number[] {
  if (field.kind !== "list") return Array.from({ length: spec.max - spec.min + 1 }, (_, i) => spec.min + i);
  const values = new Set<number>();
  for (const item of field.items) for (const v of itemValues(item, spec)) values.add(v);
  return [...values].sort((a, b) => a - b);
}

/** Days each month can have (February's 29th exists in leap years). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True when every day the day-of-month field names is past the end of every month the month field names. */
function dayOfMonthNeverOccurs(fields: CronFields): boolean {
  const { dayOfMonth, month } = fields;
  if (dayOfMonth.kind !== "list") return false;
  if (dayOfMonth.items.some((item) => item.kind === "last" || item.kind === "last-weekday")) return false;
  const days = dayOfMonth.items.flatMap((item) =>
    item.kind === "nearest-weekday" ? [item.day] : itemValues(item, { min: 1, max: 31 }),
  );
  const firstDay = Math.min(...days);
  return fieldValues(month, { min: 1, max: 12 }).every((m) => firstDay > (MONTH_DAYS[m - 1] ?? 31));
}
