import { parseConfig } from "@tapestry/core/config";
import { ConfigError } from "@tapestry/core/errors";
import { nextFireTime, parseScheduleExpression } from "@tapestry/core/schedule";
import { describe, expect, it } from "vitest";
import kickstart from "../../../tapestry.config";

/** The tree of an expression the grammar accepts (the test fails when it refuses it). */
function tree(expression: string) {
  const parsed = parseScheduleExpression(expression);
  if (!parsed.ok) throw new Error(`refused: ${parsed.problem}`);
  return parsed.expression;
}

function problem(expression: string): string {
  const parsed = parseScheduleExpression(expression);
  if (parsed.ok) throw new Error(`accepted: ${expression}`);
  return parsed.problem;
}

describe("the schedule grammar's tree", () => {
  it("rate: value and unit, with the interval", () => {
    expect(tree("rate(1 hour)")).toEqual({ kind: "rate", value: 1, unit: "hour", intervalMs: 3_600_000 });
    expect(tree("rate(15 minutes)")).toEqual({
      kind: "rate",
      value: 15,
      unit: "minute",
      intervalMs: 900_000,
    });
    expect(tree("rate(2 days)")).toEqual({ kind: "rate", value: 2, unit: "day", intervalMs: 172_800_000 });
  });

  it("cron: six fields of *, ? or item lists (value, range, step)", () => {
    expect(tree("cron(0/15 8-18 ? * MON-FRI 2026,2028)")).toEqual({
      kind: "cron",
      body: "0/15 8-18 ? * MON-FRI 2026,2028",
      fields: {
        minutes: { kind: "list", items: [{ kind: "step", from: 0, step: 15 }] },
        hours: { kind: "list", items: [{ kind: "range", from: 8, to: 18, step: 1 }] },
        dayOfMonth: { kind: "unspecified" },
        month: { kind: "every" },
        dayOfWeek: { kind: "list", items: [{ kind: "range", from: 2, to: 6, step: 1 }] },
        year: {
          kind: "list",
          items: [
            { kind: "value", value: 2026 },
            { kind: "value", value: 2028 },
          ],
        },
      },
    });
  });

  it("names resolve to numbers: JAN = 1, SUN = 1 ... SAT = 7, in any case", () => {
    const { fields } = tree("cron(0 0 ? jan,Dec sat *)") as Extract<
      ReturnType<typeof tree>,
      { kind: "cron" }
    >;
    expect(fields.month).toEqual({
      kind: "list",
      items: [
        { kind: "value", value: 1 },
        { kind: "value", value: 12 },
      ],
    });
    expect(fields.dayOfWeek).toEqual({ kind: "list", items: [{ kind: "value", value: 7 }] });
  });

  it("increments over a whole field and over a range: */5, 10-40/10", () => {
    const { fields } = tree("cron(*/5 10-20/5 * * ? *)") as Extract<
      ReturnType<typeof tree>,
      { kind: "cron" }
    >;
    expect(fields.minutes).toEqual({ kind: "list", items: [{ kind: "range", from: 0, to: 59, step: 5 }] });
    expect(fields.hours).toEqual({ kind: "list", items: [{ kind: "range", from: 10, to: 20, step: 5 }] });
  });

  it("the day fields' special forms: L, LW, nW (day-of-month), L, nL, n#k (day-of-week)", () => {
    const dom = tree("cron(0 0 L,LW,15W * ? *)") as Extract<ReturnType<typeof tree>, { kind: "cron" }>;
    expect(dom.fields.dayOfMonth).toEqual({
      kind: "list",
      items: [{ kind: "last" }, { kind: "last-weekday" }, { kind: "nearest-weekday", day: 15 }],
    });
    const dow = tree("cron(0 0 ? * L,6L,MON#2 *)") as Extract<ReturnType<typeof tree>, { kind: "cron" }>;
    expect(dow.fields.dayOfWeek).toEqual({
      kind: "list",
      items: [
        { kind: "last" },
        { kind: "last-of-month", weekday: 6 },
        { kind: "nth-of-month", weekday: 2, week: 2 },
      ],
    });
  });

  it.each([
    ["cron(0 6 * * *)", "has 5 fields; EventBridge Scheduler needs 6"],
    ["cron(0  6 * * ? *)", "needs 6 separated by single spaces"],
    ["cron(0 6 * * * *)", 'exactly one of day-of-month and day-of-week must be "?"'],
    ["cron(0 6 ? * ? *)", 'exactly one of day-of-month and day-of-week must be "?"'],
    ["cron(? 6 * * ? *)", 'minutes field "?" may not be "?"'],
    ["cron(61 6 * * ? *)", 'minutes field "61" has 61: allowed values are 0-59'],
    ["cron(0 6 * FOO ? *)", 'month field "FOO" has "FOO": expected a number 1-12 or one of JAN,FEB'],
    ["cron(0 6 ? * 2#6 *)", 'day-of-week field "2#6" has "#6": the week number after # must be 1 to 5'],
    ["cron(0 6 ? * 2#1#3 *)", 'day-of-week field "2#1#3" has more than one #'],
    ["cron(0/5/2 6 * * ? *)", 'minutes field "0/5/2" has more than one /'],
    ["cron(0/0 6 * * ? *)", 'has "/0": the increment must be a positive whole number'],
    ["cron(1-2-3 6 * * ? *)", 'has "1-2-3": a range is "from-to"'],
    ["cron(0 6 LW ? * *)", 'month field "?" may not be "?"'],
    ["cron(0 6 * * MONW *)", 'day-of-week field "MONW" has "MONW"'],
    ["cron(0 6 * * ? 1969)", 'year field "1969" has 1969: allowed values are 1970-2199'],
    ["cron(0 6 30 FEB ? *)", 'day-of-month "30" never occurs in month "FEB"'],
    ["rate(0 hours)", 'the value must be a positive whole number, got "0"'],
    ["rate(1 hours)", 'write "rate(1 hour)"'],
    ["rate(2 hour)", 'write "rate(2 hours)"'],
    ["rate(2 weeks)", 'the unit must be minute(s), hour(s) or day(s), got "weeks"'],
    ["rate(hourly)", 'must be "rate(value unit)"'],
    ["at(2026-12-01T06:00:00)", "a pipeline schedule must recur"],
    [" rate(1 hour)", "remove the leading/trailing spaces"],
    ["every day", 'expected "cron(minutes hours day-of-month month day-of-week year)" or "rate(value unit)"'],
  ])("refuses %j: %s", (expression, message) => {
    expect(problem(expression)).toContain(message);
  });
});

/**
 * Validation (the config) and evaluation (next fire times) read the same tree: an expression the
 * config accepts always compiles and has a next fire time, and one evaluation cannot compile is
 * refused by the config with the same words. Judged at a fixed clock, in UTC.
 */
describe("validation and evaluation agree", () => {
  const now = new Date("2026-03-04T10:00:00Z");

  function validation(expression: string): { accepted: true } | { accepted: false; message: string } {
    const input = structuredClone(kickstart) as { pipelines: { schedule: object }[] };
    const [first] = input.pipelines;
    if (first) first.schedule = { expression, timezone: "UTC" };
    try {
      parseConfig(input, undefined, { now });
      return { accepted: true };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const issue = error.issues.find((i) => i.path === "pipelines[0].schedule.expression");
      if (!issue) throw error;
      return { accepted: false, message: issue.message };
    }
  }

  function evaluation(
    expression: string,
  ): { compiles: true; next?: Date } | { compiles: false; message: string } {
    try {
      return { compiles: true, next: nextFireTime({ expression, timezone: "UTC" }, now) };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return { compiles: false, message: error.issues[0]?.message ?? "" };
    }
  }

  const minutes = ["0", "*/5", "0/15", "5,35", "59", "60", "x", "*", "1-2-3", "30-10"];
  const hours = ["6", "8-18", "22-2", "*", "24", "0/0", "23"];
  const daysOfMonth = ["?", "*", "1", "15W", "L", "LW", "29", "30", "31", "L-2", "0"];
  const months = ["*", "JAN", "FEB", "2", "APR,JUN", "1/4", "13", "FEB-MAR"];
  const daysOfWeek = ["?", "*", "MON-FRI", "2#1", "6L", "L", "FRI-MON", "2#6", "8", "SUN"];
  const years = ["*", "2026", "2020-2025", "2026-2030", "2030/5", "2027", "1969", "2199"];

  /** A deterministic spread of combinations of the field samples above (a linear congruential walk). */
  function combinations(count: number): string[] {
    const out: string[] = [];
    let seed = 42;
    const pick = <T>(list: readonly T[]): T => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return list[seed % list.length] as T;
    };
    for (let i = 0; i < count; i++) {
      out.push(
        `cron(${pick(minutes)} ${pick(hours)} ${pick(daysOfMonth)} ${pick(months)} ${pick(daysOfWeek)} ${pick(years)})`,
      );
    }
    return out;
  }

  const table = [
    "cron(0 6 * * ? *)",
    "cron(0 12 L * ? 2026-2030)",
    "cron(30 2 15W * ? *)",
    "cron(0 18 LW * ? *)",
    "cron(0 9 ? * 2#1 *)",
    "cron(0 9 ? * 6L *)",
    "cron(0 6 30 FEB ? *)",
    "cron(0 6 31 APR ? *)",
    "cron(0 0 29 2 ? 2027)",
    "cron(0 6 * * ? 2020-2025)",
    "cron(0 6 1 JAN ? 2026)",
    "rate(1 hour)",
    "rate(5 minutes)",
    "rate(1 hours)",
    ...combinations(400),
  ];

  it(`over ${table.length} expressions`, () => {
    let accepted = 0;
    for (const expression of table) {
      const validated = validation(expression);
      const evaluated = evaluation(expression);
      if (validated.accepted) {
        accepted++;
        expect(evaluated, expression).toMatchObject({ compiles: true, next: expect.any(Date) });
      } else if (evaluated.compiles) {
        // refused for when it fires (never, or only in the past), not for its grammar
        expect(evaluated.next, `${expression}: ${validated.message}`).toBeUndefined();
        expect(validated.message).toMatch(/never fires|fires only in the past/);
      } else {
        expect(validated.message, expression).toBe(evaluated.message);
      }
    }
    // the table exercises both sides
    expect(accepted).toBeGreaterThan(40);
    expect(table.length - accepted).toBeGreaterThan(40);
  });
});
