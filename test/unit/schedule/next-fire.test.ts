import { ConfigError } from "@tapestry/core/errors";
import {
  nextFireTime,
  nextFireTimes,
  RATE_START_MARGIN_MS,
  rateScheduleStartDate,
} from "@tapestry/core/schedule";
import { describe, expect, it } from "vitest";

/**
 * Every expected time below is computed by hand (calendar and offsets written out in comments),
 * never by the code under test. 2026: Jan 1 is a Thursday. New York: EST = UTC-5, EDT = UTC-4;
 * daylight time starts Sun 2026-03-08 at 02:00 EST (clocks jump to 03:00) and ends Sun
 * 2026-11-01 at 02:00 EDT (clocks go back to 01:00).
 */

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const at = (text: string) => new Date(text);
const utc = (expression: string) => ({ expression, timezone: "UTC" });

const NY = "America/New_York";

/**
 * [what, expression, zone, asked after, the next fire times (as many as listed; fewer when the
 * schedule ends)], each computed by hand.
 */
const cronFireTimes: [string, string, string, string, string[]][] = [
  // daylight-saving changes
  [
    "daily 06:00 New York through the March change (11:00Z on EST, 10:00Z on EDT)",
    "cron(0 6 * * ? *)",
    NY,
    "2026-03-06T12:00:00Z",
    [
      "2026-03-07T11:00:00.000Z", // Sat, EST
      "2026-03-08T10:00:00.000Z", // Sun, the change happened at 02:00: 06:00 is EDT
      "2026-03-09T10:00:00.000Z",
      "2026-03-10T10:00:00.000Z",
    ],
  ],
  [
    "daily 06:00 New York through the November change",
    "cron(0 6 * * ? *)",
    NY,
    "2026-10-30T12:00:00Z",
    [
      "2026-10-31T10:00:00.000Z", // EDT
      "2026-11-01T11:00:00.000Z", // back on EST since 02:00
      "2026-11-02T11:00:00.000Z",
      "2026-11-03T11:00:00.000Z",
    ],
  ],
  [
    // 02:30 does not exist on 2026-03-08: no fire that day, not even at 03:00.
    "skips a wall time that does not exist (spring-forward gap), as Scheduler does",
    "cron(30 2 * * ? *)",
    NY,
    "2026-03-06T12:00:00Z",
    [
      "2026-03-07T07:30:00.000Z" /* 02:30 EST */,
      "2026-03-09T06:30:00.000Z" /* 02:30 EDT */,
      "2026-03-10T06:30:00.000Z",
    ],
  ],
  [
    "skips the missing half hours of an interval schedule in the gap",
    "cron(0/30 * * * ? *)",
    NY,
    "2026-03-08T05:50:00Z",
    [
      "2026-03-08T06:00:00.000Z", // 01:00 EST
      "2026-03-08T06:30:00.000Z", // 01:30 EST; 02:00 and 02:30 do not exist
      "2026-03-08T07:00:00.000Z", // 03:00 EDT
    ],
  ],
  [
    // 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST) on 2026-11-01.
    "fires a repeated wall time once, at its first occurrence (fall-back)",
    "cron(30 1 * * ? *)",
    NY,
    "2026-10-30T12:00:00Z",
    ["2026-10-31T05:30:00.000Z", "2026-11-01T05:30:00.000Z" /* first only */, "2026-11-02T06:30:00.000Z"],
  ],
  [
    "does not repeat the hour that occurs twice for an interval schedule either",
    "cron(0/15 * * * ? *)",
    NY,
    "2026-11-01T04:40:00Z",
    [
      "2026-11-01T04:45:00.000Z", // 00:45 EDT
      "2026-11-01T05:00:00.000Z", // 01:00 EDT
      "2026-11-01T05:15:00.000Z",
      "2026-11-01T05:30:00.000Z",
      "2026-11-01T05:45:00.000Z", // 01:45 EDT
      "2026-11-01T07:00:00.000Z", // 02:00 EST: 01:00-01:45 EST are not fired again
    ],
  ],
  // 06:20Z is 01:20 EST, the second pass: 01:30 already fired (at 05:30Z).
  [
    "asked in the second pass of the repeated hour",
    "cron(0/15 * * * ? *)",
    NY,
    "2026-11-01T06:20:00Z",
    ["2026-11-01T07:00:00.000Z"],
  ],
  // 05:20Z is 01:20 EDT, the first pass.
  [
    "asked in the first pass of the repeated hour",
    "cron(0/15 * * * ? *)",
    NY,
    "2026-11-01T05:20:00Z",
    ["2026-11-01T05:30:00.000Z"],
  ],
  [
    // Europe/Berlin: CET (UTC+1) until Sun 2026-03-29 02:00, then CEST (UTC+2).
    "reads the expression in the zone: 09:00 in Berlin is 08:00Z in winter, 07:00Z in summer",
    "cron(0 9 * * ? *)",
    "Europe/Berlin",
    "2026-03-27T12:00:00Z",
    ["2026-03-28T08:00:00.000Z", "2026-03-29T07:00:00.000Z", "2026-03-30T07:00:00.000Z"],
  ],
  // AWS field semantics (2026: Jan 1 is a Thursday)
  [
    // Fri 2026-01-02 18:40 -> 18:45, then Mon 2026-01-05 08:00.
    "every quarter hour 08:00-18:45 on weekdays",
    "cron(0/15 8-18 ? * MON-FRI *)",
    "UTC",
    "2026-01-02T18:40:00Z",
    [
      "2026-01-02T18:45:00.000Z",
      "2026-01-05T08:00:00.000Z",
      "2026-01-05T08:15:00.000Z",
      "2026-01-05T08:30:00.000Z",
    ],
  ],
  // 2026-01-03 is a Saturday, 2026-01-04 a Sunday: days of the week count 1 = SUN ... 7 = SAT.
  ["1 is Sunday", "cron(0 6 ? * 1 *)", "UTC", "2026-01-01T00:00:00Z", ["2026-01-04T06:00:00.000Z"]],
  ["7 is Saturday", "cron(0 6 ? * 7 *)", "UTC", "2026-01-01T00:00:00Z", ["2026-01-03T06:00:00.000Z"]],
  [
    "2-6 is Monday to Friday",
    "cron(0 6 ? * 2-6 *)",
    "UTC",
    "2026-01-02T07:00:00Z",
    ["2026-01-05T06:00:00.000Z", "2026-01-06T06:00:00.000Z"],
  ],
  [
    "L in day-of-month: the last day of each month (Feb 2026 has 28 days)",
    "cron(0 0 L * ? *)",
    "UTC",
    "2026-01-15T00:00:00Z",
    [
      "2026-01-31T00:00:00.000Z",
      "2026-02-28T00:00:00.000Z",
      "2026-03-31T00:00:00.000Z",
      "2026-04-30T00:00:00.000Z",
    ],
  ],
  [
    "L in February 2028, a leap year",
    "cron(0 0 L 2 ? *)",
    "UTC",
    "2027-03-01T00:00:00Z",
    ["2028-02-29T00:00:00.000Z"],
  ],
  [
    // 2026: Jan 15 Thu; Feb 15 Sun -> Mon 16; Mar 15 Sun -> Mon 16; Apr 15 Wed.
    "15W: the weekday nearest the 15th",
    "cron(0 12 15W * ? *)",
    "UTC",
    "2026-01-01T00:00:00Z",
    [
      "2026-01-15T12:00:00.000Z",
      "2026-02-16T12:00:00.000Z",
      "2026-03-16T12:00:00.000Z",
      "2026-04-15T12:00:00.000Z",
    ],
  ],
  // Aug 15 2026 is a Saturday -> Fri 14.
  [
    "15W before a Saturday 15th",
    "cron(0 12 15W * ? *)",
    "UTC",
    "2026-08-01T00:00:00Z",
    ["2026-08-14T12:00:00.000Z"],
  ],
  [
    // Jan 31 2026 is a Saturday, so the 30th.
    "LW: the last weekday of the month",
    "cron(0 12 LW * ? *)",
    "UTC",
    "2026-01-01T00:00:00Z",
    ["2026-01-30T12:00:00.000Z", "2026-02-27T12:00:00.000Z", "2026-03-31T12:00:00.000Z"],
  ],
  [
    "2#1: the first Monday of the month",
    "cron(0 9 ? * 2#1 *)",
    "UTC",
    "2026-01-01T00:00:00Z",
    [
      "2026-01-05T09:00:00.000Z",
      "2026-02-02T09:00:00.000Z",
      "2026-03-02T09:00:00.000Z",
      "2026-04-06T09:00:00.000Z",
    ],
  ],
  ["MON#1, by name", "cron(0 9 ? * MON#1 *)", "UTC", "2026-01-01T00:00:00Z", ["2026-01-05T09:00:00.000Z"]],
  [
    "6L: the last Friday of the month",
    "cron(0 17 ? * 6L *)",
    "UTC",
    "2026-01-01T00:00:00Z",
    [
      "2026-01-30T17:00:00.000Z",
      "2026-02-27T17:00:00.000Z",
      "2026-03-27T17:00:00.000Z",
      "2026-04-24T17:00:00.000Z",
    ],
  ],
  [
    "L alone in day-of-week is Saturday",
    "cron(0 6 ? * L *)",
    "UTC",
    "2026-01-01T00:00:00Z",
    ["2026-01-03T06:00:00.000Z"],
  ],
  [
    "a range of days that wraps around the week's end (FRI-MON)",
    "cron(0 6 ? * FRI-MON *)",
    "UTC",
    "2026-01-01T07:00:00Z",
    [
      "2026-01-02T06:00:00.000Z", // Fri
      "2026-01-03T06:00:00.000Z", // Sat
      "2026-01-04T06:00:00.000Z", // Sun
      "2026-01-05T06:00:00.000Z", // Mon
      "2026-01-09T06:00:00.000Z", // Fri
    ],
  ],
  [
    "a range of hours that wraps around midnight (22-1)",
    "cron(0 22-1 * * ? *)",
    "UTC",
    "2026-01-01T12:00:00Z",
    [
      "2026-01-01T22:00:00.000Z",
      "2026-01-01T23:00:00.000Z",
      "2026-01-02T00:00:00.000Z",
      "2026-01-02T01:00:00.000Z",
    ],
  ],
  [
    "lists and named months",
    "cron(5,35 10 1 JAN,JUL ? *)",
    "UTC",
    "2026-01-01T00:00:00Z",
    ["2026-01-01T10:05:00.000Z", "2026-01-01T10:35:00.000Z", "2026-07-01T10:05:00.000Z"],
  ],
  [
    "an increment from a start to the field's end (1/4: months 1, 5, 9)",
    "cron(0 0 1 1/4 ? *)",
    "UTC",
    "2026-01-01T00:00:00Z",
    ["2026-05-01T00:00:00.000Z", "2026-09-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"],
  ],
  [
    "a year range that ends has no fire times after it",
    "cron(0 12 1 1 ? 2026-2027)",
    "UTC",
    "2025-06-01T00:00:00Z",
    ["2026-01-01T12:00:00.000Z", "2027-01-01T12:00:00.000Z", "(none)"],
  ],
  ["a past year has none", "cron(0 12 * * ? 2020)", "UTC", "2026-01-01T00:00:00Z", ["(none)"]],
  [
    "a year increment",
    "cron(0 0 1 1 ? 2030/5)",
    "UTC",
    "2026-01-01T00:00:00Z",
    ["2030-01-01T00:00:00.000Z", "2035-01-01T00:00:00.000Z", "2040-01-01T00:00:00.000Z"],
  ],
  // nothing (rather than looping) for a wall time that never exists again
  [
    "29 February in a year that is not a leap year",
    "cron(0 0 29 2 ? 2027)",
    "UTC",
    "2026-01-01T00:00:00Z",
    ["(none)"],
  ],
  // the second Sunday of March at 02:30 New York time always falls in the gap (since 2007)
  ["a wall time always in the gap", "cron(30 2 ? 3 1#2 *)", NY, "2026-01-01T00:00:00Z", ["(none)"]],
  // strictly after `after`, to the minute
  ["asked on a fire time", "cron(0 6 * * ? *)", "UTC", "2026-01-01T06:00:00Z", ["2026-01-02T06:00:00.000Z"]],
  [
    "asked a millisecond before one",
    "cron(0 6 * * ? *)",
    "UTC",
    "2026-01-01T05:59:59.999Z",
    ["2026-01-01T06:00:00.000Z"],
  ],
];

describe("cron fire times (time zones and daylight-saving changes, AWS field semantics)", () => {
  it.each(cronFireTimes)("%s: %s", (_what, expression, timezone, after, expected) => {
    // "(none)" marks where the schedule ends: fewer times come back than were asked for
    const times = iso(nextFireTimes({ expression, timezone }, at(after), expected.length));
    expect(times).toEqual(expected.filter((t) => t !== "(none)"));
  });

  it("refuses a day-of-month that none of its months has, like validation does", () => {
    expect(() => nextFireTime(utc("cron(0 0 30 2 ? *)"), at("2026-01-01T00:00:00Z"))).toThrow(
      /day-of-month "30" never occurs in month "2"/,
    );
  });
});

describe("rate", () => {
  it("fires on the grid of whole intervals since 1970-01-01T00:00Z by default (the StartDate rule)", () => {
    expect(iso(nextFireTimes(utc("rate(1 hour)"), at("2026-01-01T10:20:00Z"), 3))).toEqual([
      "2026-01-01T11:00:00.000Z",
      "2026-01-01T12:00:00.000Z",
      "2026-01-01T13:00:00.000Z",
    ]);
    expect(iso(nextFireTimes(utc("rate(15 minutes)"), at("2026-01-01T10:20:00Z"), 2))).toEqual([
      "2026-01-01T10:30:00.000Z",
      "2026-01-01T10:45:00.000Z",
    ]);
    // 1970-01-01 was a Thursday: a weekly rate fires on Thursdays at 00:00 UTC (2026-01-01 is one)
    expect(nextFireTime(utc("rate(7 days)"), at("2026-01-01T00:00:00Z"))?.toISOString()).toBe(
      "2026-01-08T00:00:00.000Z",
    );
    // 7 minutes does not divide a day: the grid runs on from 1970. 2026-01-02T00:00Z is day 20,455
    // since 1970-01-01 (56 years, 14 of them leap: 20,454 days to 2026-01-01), minute 29,455,200,
    // and 29,455,200 = 7 * 4,207,885 + 5: the grid passed 5 minutes earlier, next at 00:02, 00:09.
    expect(iso(nextFireTimes(utc("rate(7 minutes)"), at("2026-01-02T00:00:00Z"), 2))).toEqual([
      "2026-01-02T00:02:00.000Z",
      "2026-01-02T00:09:00.000Z",
    ]);
  });

  it("answers the same fire times whatever moment it is asked at (the status API's nextScheduledAt)", () => {
    const askedAt = ["2026-01-01T10:00:01Z", "2026-01-01T10:20:00Z", "2026-01-01T10:59:59.999Z"];
    expect(askedAt.map((t) => nextFireTime(utc("rate(1 hour)"), at(t))?.toISOString())).toEqual([
      "2026-01-01T11:00:00.000Z",
      "2026-01-01T11:00:00.000Z",
      "2026-01-01T11:00:00.000Z",
    ]);
  });

  it("rate(5 minutes) anchored at the schedule's start", () => {
    const anchored = { rateAnchor: at("2026-01-01T10:02:00Z") };
    expect(iso(nextFireTimes(utc("rate(5 minutes)"), at("2026-01-01T10:20:30Z"), 3, anchored))).toEqual([
      "2026-01-01T10:22:00.000Z",
      "2026-01-01T10:27:00.000Z",
      "2026-01-01T10:32:00.000Z",
    ]);
    // On a fire time: strictly after it.
    expect(nextFireTime(utc("rate(5 minutes)"), at("2026-01-01T10:22:00Z"), anchored)?.toISOString()).toBe(
      "2026-01-01T10:27:00.000Z",
    );
    // A start in the future is the first fire time.
    expect(nextFireTime(utc("rate(5 minutes)"), at("2026-01-01T09:00:00Z"), anchored)?.toISOString()).toBe(
      "2026-01-01T10:02:00.000Z",
    );
  });

  it("rateScheduleStartDate: the first grid point at least the margin after synthesis, none for cron", () => {
    expect(RATE_START_MARGIN_MS).toBe(15 * 60_000);
    // synthesized 10:20 -> not before 10:35 -> the next whole hour
    expect(rateScheduleStartDate(utc("rate(1 hour)"), at("2026-01-01T10:20:00Z"))).toBe(
      "2026-01-01T11:00:00Z",
    );
    // synthesized 10:50 -> not before 11:05 -> 12:00 (11:00 would be in the past by deploy time)
    expect(rateScheduleStartDate(utc("rate(1 hour)"), at("2026-01-01T10:50:00Z"))).toBe(
      "2026-01-01T12:00:00Z",
    );
    // exactly on the margin: that grid point itself
    expect(rateScheduleStartDate(utc("rate(5 minutes)"), at("2026-01-01T10:05:00Z"))).toBe(
      "2026-01-01T10:20:00Z",
    );
    expect(rateScheduleStartDate(utc("rate(1 day)"), at("2026-03-07T23:50:00Z"))).toBe(
      "2026-03-09T00:00:00Z",
    );
    expect(rateScheduleStartDate(utc("cron(0 6 * * ? *)"), at("2026-01-01T10:20:00Z"))).toBeUndefined();
  });

  it("a StartDate on the grid fires exactly the grid's times, and nothing before it", () => {
    const startDate = rateScheduleStartDate(utc("rate(1 hour)"), at("2026-01-01T10:50:00Z")) ?? "";
    const anchored = { rateAnchor: at(startDate) };
    // before the StartDate the scheduler does not fire: its first fire is the StartDate
    expect(nextFireTime(utc("rate(1 hour)"), at("2026-01-01T10:55:00Z"), anchored)?.toISOString()).toBe(
      "2026-01-01T12:00:00.000Z",
    );
    // after it, the anchored times and the grid's are the same
    const later = at("2026-01-02T03:30:00Z");
    expect(iso(nextFireTimes(utc("rate(1 hour)"), later, 3, anchored))).toEqual(
      iso(nextFireTimes(utc("rate(1 hour)"), later, 3)),
    );
  });

  it("rate(1 day) is 24 hours even across a daylight-saving change (the zone does not apply)", () => {
    const daily = { expression: "rate(1 day)", timezone: "America/New_York" };
    expect(
      iso(nextFireTimes(daily, at("2026-03-07T11:00:00Z"), 2, { rateAnchor: at("2026-03-07T11:00:00Z") })),
    ).toEqual(["2026-03-08T11:00:00.000Z", "2026-03-09T11:00:00.000Z"]);
  });
});

describe("arguments", () => {
  it("rejects an expression or zone Scheduler would reject, with the validator's message", () => {
    expect(() => nextFireTimes(utc("cron(0 6 * * * *)"), new Date(), 1)).toThrow(ConfigError);
    expect(() => nextFireTimes(utc("cron(0 6 * * * *)"), new Date(), 1)).toThrow(/exactly one of/);
    expect(() => nextFireTimes({ expression: "rate(1 hour)", timezone: "+02:00" }, new Date(), 1)).toThrow(
      ConfigError,
    );
    expect(() => nextFireTimes(utc("rate(1 hour)"), new Date(), -1)).toThrow(RangeError);
  });

  it("count 0 answers an empty list", () => {
    expect(nextFireTimes(utc("cron(0 6 * * ? *)"), new Date(), 0)).toEqual([]);
  });
});
