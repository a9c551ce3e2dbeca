import { pipelineThresholds } from "@tapestry/core/alerts";
import { parseConfig } from "@tapestry/core/config";
import { ConfigError } from "@tapestry/core/errors";
import { describe, expect, it } from "vitest";
import kickstart from "../../tapestry.config";

// biome-ignore lint/suspicious/noExplicitAny: the tests bend configs into invalid shapes on purpose
type Loose = Record<string, any>;

const NOW = new Date("2026-03-02T12:00:00Z");

function withChange(change: (config: Loose) => void): unknown {
  const copy = structuredClone(kickstart) as Loose;
  change(copy);
  return copy;
}

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseConfig(input, undefined, { now: NOW });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error("expected the config to be refused");
}

describe("alert thresholds in the config: defaults a user would pick", () => {
  it("watches every pipeline for failed runs and staleness (twice the schedule's longest gap), tells no one, and needs no alerts section", () => {
    const config = parseConfig(kickstart, undefined, { now: NOW });
    expect(config.alerts).toEqual({ email: [] });
    expect(config.pipelines[0]?.alerts).toEqual({ onFailure: true });
    const thresholds = pipelineThresholds(config.pipelines[0] as never, NOW);
    // daily at 06:00 New York: 25 h on the night the clocks go back
    expect(thresholds).toMatchObject({ onFailure: true, maxStaleMinutes: 3000 });
    expect(thresholds.maxDurationMinutes).toBeUndefined();
    expect(thresholds.steps.map((s) => [s.step, s.minRows, s.rowsAnomaly])).toEqual([
      ["zoom-webinar-registrants", 1, undefined],
      ["salesforce-contacts", 1, undefined],
      ["email-model", undefined, undefined],
      ["mailchimp-audience", 1, undefined],
    ]);
  });

  it("derives staleness from each kind of schedule: a rate, a weekday cron (its weekend), none for a disabled one; false turns it off", () => {
    const stale = (schedule: Loose, alerts: Loose = {}) =>
      pipelineThresholds(
        parseConfig(
          withChange((c) => {
            c.pipelines[0].schedule = schedule;
            c.pipelines[0].alerts = alerts;
          }),
          undefined,
          { now: NOW },
        ).pipelines[0] as never,
        NOW,
      ).maxStaleMinutes;
    expect(stale({ expression: "rate(15 minutes)" })).toBe(30);
    expect(stale({ expression: "rate(1 hour)" })).toBe(120);
    // Friday 06:00 to Monday 06:00 UTC
    expect(stale({ expression: "cron(0 6 ? * MON-FRI *)" })).toBe(2 * 3 * 1440);
    expect(stale({ expression: "rate(1 day)", enabled: false })).toBeUndefined();
    expect(stale({ expression: "rate(1 day)" }, { maxStaleMinutes: false })).toBeUndefined();
    expect(stale({ expression: "rate(1 day)" }, { maxStaleMinutes: 2000 })).toBe(2000);
  });

  it("takes rowsAnomaly as true (2 standard deviations) or { stdDevs }, e-mail addresses, and a Slack webhook's secret name", () => {
    const config = parseConfig(
      withChange((c) => {
        c.alerts = {
          email: ["data-oncall@rain-shield.example"],
          slack: { webhookUrlSecret: "SLACK_WEBHOOK_URL" },
        };
        c.pipelines[0].alerts = { maxDurationMinutes: 0.5, onFailure: false };
        c.pipelines[0].stages[0].steps[0].rowsAnomaly = true;
        c.pipelines[0].stages[0].steps[1].rowsAnomaly = { stdDevs: 3.5 };
      }),
      undefined,
      { now: NOW },
    );
    expect(config.alerts).toEqual({
      email: ["data-oncall@rain-shield.example"],
      slack: { webhookUrlSecret: "SLACK_WEBHOOK_URL" },
    });
    const thresholds = pipelineThresholds(config.pipelines[0] as never, NOW);
    expect(thresholds).toMatchObject({ onFailure: false, maxDurationMinutes: 0.5 });
    expect(thresholds.steps.slice(0, 2).map((s) => s.rowsAnomaly)).toEqual([
      { stdDevs: 2 },
      { stdDevs: 3.5 },
    ]);
  });
});

describe("alert thresholds in the config: each wrong value refused at its path, with the fix", () => {
  it.each([
    [
      (c: Loose) => (c.pipelines[0].alerts = { maxDurationMinutes: 0 }),
      "pipelines[0].alerts.maxDurationMinutes",
      "expected minutes, a number above 0 and at most 10080 (a week), got 0",
    ],
    [
      (c: Loose) => (c.pipelines[0].alerts = { maxDurationMinutes: "90" }),
      "pipelines[0].alerts.maxDurationMinutes",
      'expected minutes, a number above 0 and at most 10080 (a week), got "90"',
    ],
    [
      (c: Loose) => (c.pipelines[0].alerts = { maxStaleMinutes: 90.5 }),
      "pipelines[0].alerts.maxStaleMinutes",
      "expected whole minutes from 1 to 527040 (a year), or false to not watch for staleness; leave it out for twice the schedule's longest gap between runs",
    ],
    [
      (c: Loose) => (c.pipelines[0].alerts = { maxStaleMinutes: true }),
      "pipelines[0].alerts.maxStaleMinutes",
      "expected whole minutes from 1 to 527040 (a year), or false to not watch for staleness; leave it out for twice the schedule's longest gap between runs",
    ],
    [
      (c: Loose) => (c.pipelines[0].alerts = { onFailure: "yes" }),
      "pipelines[0].alerts.onFailure",
      'expected true or false, got "yes"',
    ],
    [(c: Loose) => (c.pipelines[0].alerts = { minRows: 1 }), "pipelines[0].alerts.minRows", "unknown key"],
    [
      (c: Loose) => (c.pipelines[0].stages[0].steps[0].rowsAnomaly = { stdDevs: 0.1 }),
      "pipelines[0].stages[0].steps[0].rowsAnomaly.stdDevs",
      "expected the band's width in standard deviations, a number from 0.5 to 10 (default 2), got 0.1",
    ],
    [
      (c: Loose) => (c.pipelines[0].stages[0].steps[0].rowsAnomaly = "yes"),
      "pipelines[0].stages[0].steps[0].rowsAnomaly",
      "expected true (a band of 2 standard deviations), false, or { stdDevs: <number> }",
    ],
    [
      (c: Loose) => (c.alerts = { email: ["not-an-address"] }),
      "alerts.email[0]",
      'expected an e-mail address, e.g. "data-oncall@example.com", got "not-an-address"',
    ],
    [
      (c: Loose) => (c.alerts = { email: "ops@example.com" }),
      "alerts.email",
      'expected a list of e-mail addresses, e.g. ["data-oncall@example.com"]',
    ],
    [
      (c: Loose) => (c.alerts = { slack: {} }),
      "alerts.slack.webhookUrlSecret",
      "is required: expected the NAME of a secret",
    ],
    [(c: Loose) => (c.alerts = { pagerDuty: {} }), "alerts.pagerDuty", "unknown key"],
  ])("refuses case %#, naming its path", (change, path, message) => {
    const issues = issuesOf(withChange(change));
    expect(issues).toEqual([expect.objectContaining({ path, message: expect.stringContaining(message) })]);
  });

  it("never repeats a webhook URL typed where its secret's name belongs", () => {
    const url = "https://hooks.slack.com/services/T0AAAA1/B0BBBB2/abcdefghijklmnopqrstuvwx";
    const issues = issuesOf(withChange((c) => (c.alerts = { slack: { webhookUrlSecret: url } })));
    expect(issues.map((i) => i.path)).toEqual(["alerts.slack.webhookUrlSecret"]);
    expect(JSON.stringify(issues)).not.toContain("abcdefghijklmnopqrstuvwx");
  });

  it("refuses a maxStaleMinutes shorter than the schedule's longest gap: the pipeline would be stale between runs", () => {
    const issues = issuesOf(
      withChange((c) => {
        c.pipelines[0].schedule = { expression: "cron(0 6 ? * MON-FRI *)" };
        c.pipelines[0].alerts = { maxStaleMinutes: 1500 };
      }),
    );
    expect(issues).toEqual([
      {
        path: "pipelines[0].alerts.maxStaleMinutes",
        message:
          "1500 min is shorter than the longest gap between the runs of cron(0 6 ? * MON-FRI *) (4320 min): the pipeline would be stale between runs; make it at least 4320, or leave it out for twice the gap",
      },
    ]);
  });
});
