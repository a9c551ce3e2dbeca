/**
 * Validation of EventBridge Scheduler schedule expressions for recurring schedules:
 * `rate(value unit)` and the six-field `cron(minutes hours day-of-month month day-of-week year)`.
 * Returns the problem as a sentence that says how to fix it, or undefined when the expression
 * is one Scheduler accepts. (Scheduler's own grammar, not Unix cron: six fields, `?` in exactly
 * one of the two day fields, L/W/# where AWS allows them.)
 */
export function checkScheduleExpression(expression: string): string | undefined {
  const trimmed = expression.trim();
  if (trimmed !== expression) return "remove the leading/trailing spaces";
  if (expression.startsWith("at(")) {
    return "a pipeline schedule must recur: use cron(...) or rate(...); at(...) runs only once";
  }
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) return checkRate(rate[1] ?? "");
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return checkCron(cron[1] ?? "");
  return 'expected "cron(minutes hours day-of-month month day-of-week year)" or "rate(value unit)", e.g. "cron(0 6 * * ? *)" or "rate(1 hour)"';
}

const RATE_UNITS = ["minute", "hour", "day"] as const;

function checkRate(body: string): string | undefined {
  const match = /^(\S+) (\S+)$/.exec(body);
  if (!match) return `rate(${body}) must be "rate(value unit)", e.g. "rate(30 minutes)"`;
  const [, value = "", unit = ""] = match;
  if (!/^[1-9]\d*$/.test(value))
    return `rate(${body}): the value must be a positive whole number, got "${value}"`;
  const singular = unit.replace(/s$/, "");
  if (!(RATE_UNITS as readonly string[]).includes(singular)) {
    return `rate(${body}): the unit must be minute(s), hour(s) or day(s), got "${unit}"`;
  }
  const expected = value === "1" ? singular : `${singular}s`;
  if (unit !== expected) return `rate(${body}): write "rate(${value} ${expected})"`;
  return undefined;
}

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** special characters AWS allows in this field beyond , - * / */
  readonly special: "" | "?LW" | "?L#";
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const CRON_FIELDS: readonly CronField[] = [
  { name: "minutes", min: 0, max: 59, special: "" },
  { name: "hours", min: 0, max: 23, special: "" },
  { name: "day-of-month", min: 1, max: 31, special: "?LW" },
  { name: "month", min: 1, max: 12, names: MONTHS, special: "" },
  { name: "day-of-week", min: 1, max: 7, names: DAYS, special: "?L#" },
  { name: "year", min: 1970, max: 2199, special: "" },
];

function checkCron(body: string): string | undefined {
  const parts = body.split(" ");
  if (parts.length !== 6 || parts.some((p) => p === "")) {
    return `cron(${body}) has ${body.split(/\s+/).filter(Boolean).length} fields; EventBridge Scheduler needs 6 separated by single spaces: minutes hours day-of-month month day-of-week year, e.g. "cron(0 6 * * ? *)"`;
  }
  for (const [i, field] of CRON_FIELDS.entries()) {
    const problem = checkCronField(parts[i] ?? "", field);
    if (problem) return `cron(${body}): ${field.name} field "${parts[i]}" ${problem}`;
  }
  const dayOfMonth = parts[2];
  const dayOfWeek = parts[4];
  if ((dayOfMonth === "?") === (dayOfWeek === "?")) {
    return `cron(${body}): exactly one of day-of-month and day-of-week must be "?", e.g. "cron(0 6 * * ? *)" or "cron(0 6 ? * MON-FRI *)"`;
  }
  return undefined;
}

function checkCronField(value: string, field: CronField): string | undefined {
  if (value === "?") return field.special.includes("?") ? undefined : 'may not be "?"';
  if (value === "*") return undefined;
  for (const item of value.split(",")) {
    const problem = checkCronItem(item, field);
    if (problem) return problem;
  }
  return undefined;
}

function checkCronItem(item: string, field: CronField): string | undefined {
  if (field.special.includes("L")) {
    if (item === "L") return undefined;
    if (field.name === "day-of-month" && item === "LW") return undefined;
    if (field.name === "day-of-month" && /^\d{1,2}W$/.test(item))
      return checkNumber(item.slice(0, -1), field);
    if (field.name === "day-of-week" && /^\w+L$/.test(item)) return checkNumber(item.slice(0, -1), field);
  }
  if (field.special.includes("#") && item.includes("#")) {
    const [day = "", nth = ""] = item.split("#");
    if (!/^[1-5]$/.test(nth)) return `has "#${nth}": the week number after # must be 1 to 5`;
    return checkNumber(day, field);
  }
  const [range = "", step, ...rest] = item.split("/");
  if (rest.length > 0) return "has more than one /";
  if (step !== undefined && !/^[1-9]\d*$/.test(step))
    return `has "/${step}": the increment must be a positive whole number`;
  if (range === "*") return undefined;
  const bounds = range.split("-");
  if (bounds.length > 2) return `has "${range}": a range is "from-to"`;
  for (const bound of bounds) {
    const problem = checkNumber(bound, field);
    if (problem) return problem;
  }
  return undefined;
}

function checkNumber(token: string, field: CronField): string | undefined {
  if (field.names?.includes(token.toUpperCase())) return undefined;
  if (!/^\d+$/.test(token)) {
    const named = field.names ? ` or one of ${field.names.join(",")}` : "";
    return `has "${token}": expected a number ${field.min}-${field.max}${named}`;
  }
  const n = Number(token);
  if (n < field.min || n > field.max) return `has ${n}: allowed values are ${field.min}-${field.max}`;
  return undefined;
}
