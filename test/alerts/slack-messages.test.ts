import { readFile } from "node:fs/promises";
import {
  BLOCK_KIT_LIMITS,
  blockKitProblems,
  breachEvent,
  type Incident,
  notificationOfAlarm,
  notificationOfAlert,
  recoveryEvent,
  type SlackMessage,
} from "@tapestry/core/alerts";
import { describe, expect, it } from "vitest";

/** Messages as the notifier sends them, for each kind of alert, checked against Block Kit's limits. */

const NOW = new Date("2026-03-02T11:30:00.000Z");
const RUN = "rain-shield-audience-20260302T110000Z";
const CONTEXT = { statusApiUrl: "https://abc123.execute-api.eu-central-1.amazonaws.com", stage: "prod" };

function incident(overrides: Partial<Incident>): Incident {
  const breach = { figure: 1, summary: "something happened", at: "2026-03-02T11:05:00.000Z", runId: RUN };
  return {
    id: "01JNB7Z4Q2V8W3X5Y6Z7A8B9C0",
    key: "rain-shield-audience:run-failed",
    pipeline: "rain-shield-audience",
    rule: "run-failed",
    status: "open",
    unit: "runs",
    threshold: 0,
    openedAt: "2026-03-02T11:05:00.000Z",
    breach,
    latest: breach,
    breaches: 1,
    openedBy: RUN,
    ...overrides,
  };
}

/** The header, the fields (label -> value), every text of the message, and the buttons' links. */
function read(message: SlackMessage) {
  const fields: Record<string, string> = {};
  const texts: string[] = [message.text];
  const links: Record<string, string> = {};
  let header = "";
  for (const block of message.blocks) {
    if (block.type === "header") header = block.text.text;
    if (block.type === "section") {
      if (block.text) texts.push(block.text.text);
      for (const field of block.fields ?? []) {
        const [label, ...rest] = field.text.split("\n");
        fields[(label ?? "").replaceAll("*", "")] = rest.join("\n");
      }
    }
    if (block.type === "context") texts.push(...block.elements.map((e) => e.text));
    if (block.type === "actions") for (const b of block.elements) links[b.text.text] = b.url;
  }
  return { header, fields, text: texts.join("\n"), links };
}

const breachMessageOf = (overrides: Partial<Incident>) => {
  const event = breachEvent(incident(overrides), NOW);
  const notification = notificationOfAlert(event, CONTEXT);
  expect(blockKitProblems(notification.message)).toEqual([]);
  return { notification, ...read(notification.message) };
};

describe("the message of each kind of alert", () => {
  it("failure: the failed step, the tool's error in a code block, the tool's link, the run's status API path, what to do", () => {
    const m = breachMessageOf({
      stage: "transform",
      step: "email-model",
      breach: {
        figure: 1,
        summary: `Run ${RUN} failed: transform/email-model (dbt-cloud) failed`,
        at: "2026-03-02T11:05:00.000Z",
        runId: RUN,
        url: "https://cloud.getdbt.com/deploy/70403/projects/1/runs/42",
        error: 'Database Error in model email_audience: relation "stg_zoom__webinars" does not exist',
      },
    });
    expect(m.notification).toMatchObject({
      key: "01JNB7Z4Q2V8W3X5Y6Z7A8B9C0#breach",
      kind: "breach",
      pipeline: "rain-shield-audience",
    });
    expect(m.header).toBe("🔴 Run failed: rain-shield-audience");
    expect(m.fields).toMatchObject({
      Pipeline: "rain-shield-audience",
      Step: "transform/email-model",
      Figure: "1 failed run",
      Threshold: "any failed run",
      Run: RUN,
    });
    expect(m.text).toContain(
      '```Database Error in model email_audience: relation "stg_zoom__webinars" does not exist```',
    );
    expect(m.links).toEqual({
      "Open the job in its tool": "https://cloud.getdbt.com/deploy/70403/projects/1/runs/42",
    });
    // the status API's path (SigV4 on AWS: a path to fetch with awscurl, not a link to click)
    expect(m.text).toContain(`GET ${CONTEXT.statusApiUrl}/runs/${RUN}`);
    expect(m.text).toContain(`GET ${CONTEXT.statusApiUrl}/alerts`);
    expect(m.text).toContain("*What to do*");
    expect(m.text).toContain("POST /pipelines/rain-shield-audience/runs");
  });

  it("rows below the floor: the step, its rows against its minRows", () => {
    const m = breachMessageOf({
      rule: "rows-below-minimum",
      stage: "ingest",
      step: "zoom-webinar-registrants",
      unit: "rows",
      threshold: 1,
      breach: {
        figure: 0,
        summary: "ingest/zoom-webinar-registrants (airbyte) moved 0 rows, below its minimum of 1",
        at: "2026-03-02T11:05:00.000Z",
        runId: RUN,
      },
    });
    expect(m.header).toBe("🔴 Rows below the minimum: rain-shield-audience");
    expect(m.fields).toMatchObject({
      Step: "ingest/zoom-webinar-registrants",
      Figure: "0 rows",
      Threshold: "at least 1 row",
    });
    expect(m.text).toContain("minRows");
  });

  it("rows anomaly: the rows against the band's lower bound", () => {
    const m = breachMessageOf({
      rule: "rows-anomaly",
      stage: "ingest",
      step: "salesforce-contacts",
      unit: "rows",
      threshold: 1_043,
      breach: {
        figure: 12,
        summary: "ingest/salesforce-contacts (airbyte) moved 12 rows, far below its usual 1,180 ± 46",
        at: "2026-03-02T11:05:00.000Z",
        runId: RUN,
      },
    });
    expect(m.header).toBe("🔴 Rows far below their history: rain-shield-audience");
    expect(m.fields).toMatchObject({
      Figure: "12 rows",
      Threshold: "at least 1,043 rows (the band's lower bound)",
    });
  });

  it("stale: the minutes since the last success against maxStaleMinutes; no step", () => {
    const m = breachMessageOf({
      rule: "stale",
      unit: "minutes",
      threshold: 3000,
      breach: {
        figure: 3004,
        summary: "No successful run for 3,004 min, over the 3,000 min allowed",
        at: "2026-03-02T11:05:00.000Z",
        runId: RUN,
      },
    });
    expect(m.header).toBe("🔴 No successful run for too long: rain-shield-audience");
    expect(m.fields).toMatchObject({ Figure: "3,004 min", Threshold: "a success within 3,000 min" });
    expect(m.fields.Step).toBeUndefined();
    expect(m.text).toContain("GET /status");
  });

  it("run too long: the run's minutes against maxDurationMinutes", () => {
    const m = breachMessageOf({
      rule: "run-too-long",
      unit: "minutes",
      threshold: 90,
      breach: {
        figure: 97.5,
        summary: `Run ${RUN} took 97.5 min, over the 90 min allowed`,
        at: "2026-03-02T11:05:00.000Z",
        runId: RUN,
      },
    });
    expect(m.header).toBe("🔴 Run took too long: rain-shield-audience");
    expect(m.fields).toMatchObject({ Figure: "97.5 min", Threshold: "at most 90 min" });
  });

  it("resolved: the figure back within its threshold, and how long the incident was open", () => {
    const resolved = incident({
      rule: "rows-below-minimum",
      stage: "ingest",
      step: "zoom-webinar-registrants",
      unit: "rows",
      threshold: 1,
      status: "resolved",
      resolvedAt: "2026-03-03T11:10:00.000Z",
      recovery: {
        figure: 40,
        summary: "ingest/zoom-webinar-registrants (airbyte) moved 40 rows",
        at: "2026-03-03T11:10:00.000Z",
        runId: "rain-shield-audience-20260303T110000Z",
      },
    });
    const notification = notificationOfAlert(recoveryEvent(resolved, NOW), CONTEXT);
    expect(blockKitProblems(notification.message)).toEqual([]);
    const m = read(notification.message);
    expect(notification).toMatchObject({ key: "01JNB7Z4Q2V8W3X5Y6Z7A8B9C0#resolved", kind: "resolved" });
    expect(m.header).toBe("✅ Resolved: Rows below the minimum: rain-shield-audience");
    expect(m.fields).toMatchObject({
      "Figure now": "40 rows",
      Threshold: "at least 1 row",
      "Open for": "24.1 h",
    });
  });

  it("a control-plane alarm into ALARM and back to OK: one message each; other changes none", () => {
    const change = (value: string, previous: string) => ({
      source: "aws.cloudwatch" as const,
      "detail-type": "CloudWatch Alarm State Change" as const,
      region: "eu-central-1",
      resources: [],
      detail: {
        alarmName: "tapestry-prod-health-projector-dead-letters",
        state: {
          value: value as "ALARM",
          reason: "Threshold Crossed: 1 datapoint [3.0] was >= 1.0",
          timestamp: "2026-03-02T11:05:00.000+0000",
        },
        previousState: { value: previous as "OK", reason: "", timestamp: "2026-03-02T10:05:00.000+0000" },
        configuration: {
          description: "Tapestry prod: dead-letter queue tapestry-prod-ProjectorDeadLetters holds messages",
        },
      },
    });
    const alarm = notificationOfAlarm(change("ALARM", "OK"), { stage: "prod" });
    expect(alarm?.kind).toBe("alarm");
    expect(blockKitProblems(alarm?.message ?? { text: "", blocks: [] })).toEqual([]);
    const m = read(alarm?.message ?? { text: "", blocks: [] });
    expect(m.header).toBe("🔴 Control plane alarm: tapestry-prod-health-projector-dead-letters");
    expect(m.text).toContain("holds messages");
    expect(m.links["Open the alarm in CloudWatch"]).toBe(
      "https://eu-central-1.console.aws.amazon.com/cloudwatch/home?region=eu-central-1#alarmsV2:alarm/tapestry-prod-health-projector-dead-letters",
    );
    expect(notificationOfAlarm(change("OK", "ALARM"))?.kind).toBe("alarm-resolved");
    expect(notificationOfAlarm(change("INSUFFICIENT_DATA", "OK"))).toBeUndefined();
    expect(notificationOfAlarm(change("OK", "INSUFFICIENT_DATA"))).toBeUndefined();
  });
});

describe("Block Kit's limits", () => {
  it("hold for the longest names, summaries and errors the events allow: text is shortened, never refused", () => {
    const long = (n: number) => "x".repeat(n);
    const m = breachMessageOf({
      pipeline: `p${long(39)}`,
      stage: `s${long(63)}`,
      step: `t${long(63)}`,
      breach: {
        figure: 1,
        summary: `<@here> & ${long(990)}`,
        at: "2026-03-02T11:05:00.000Z",
        runId: `p${long(39)}-m01JNB7Z4Q2V8W3X5Y6Z7A8B9C0`,
        url: `https://cloud.getdbt.com/${long(2900)}`,
        error: `\`\`\`</code> ${long(1500)}${"😀".repeat(500)}`,
      },
    });
    expect(m.header.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.headerText);
    expect(m.header.endsWith("…")).toBe(false);
    // mrkdwn markup in tool text is escaped: no mention, no link injected
    expect(m.text).toContain("&lt;@here&gt; &amp;");
    expect(m.text).not.toContain("<@here>");
    expect(m.text).toContain("&lt;/code&gt;");
    expect(m.notification.message.blocks.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.blocksPerMessage);
  });

  it("are what blockKitProblems checks: it names each limit a message breaks", () => {
    const broken: SlackMessage = {
      text: "x".repeat(3001),
      blocks: [
        { type: "header", text: { type: "plain_text", text: "h".repeat(151) } },
        {
          type: "section",
          fields: Array.from({ length: 11 }, () => ({ type: "mrkdwn" as const, text: "f" })),
        },
        { type: "section", text: { type: "mrkdwn", text: "s".repeat(3001) } },
        { type: "context", elements: [] },
        ...Array.from({ length: 47 }, () => ({ type: "divider" as const })),
      ],
    };
    expect(blockKitProblems(broken)).toEqual([
      "text: 3001 characters, over 3000",
      "blocks: 51, over 50",
      "blocks[0] (header).text: 151 characters, over 150",
      "blocks[1] (section).fields: 11, over 10",
      "blocks[2] (section).text: 3001 characters, over 3000",
      "blocks[3] (context).elements: 0, expected 1 to 10",
    ]);
  });
});

describe("the README's sample message", () => {
  it("is what the notifier posts for that incident", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const sample =
      /The Slack message of that incident \(Block Kit, as posted\):\n\n```json\n([\s\S]*?)\n```/.exec(
        readme,
      )?.[1];
    expect(sample, "the README's operations section shows a sample Slack message").toBeDefined();
    const at = "2026-03-02T11:02:14.000Z";
    const breach = {
      figure: 0,
      summary: "ingest/zoom-webinar-registrants (airbyte) moved 0 rows, below its minimum of 1",
      at,
      runId: RUN,
      url: "https://cloud.airbyte.com/workspaces/7f3c/connections/5f0c8a52/job-history#/4711",
    };
    const event = breachEvent(
      incident({
        key: "rain-shield-audience:rows-below-minimum:ingest/zoom-webinar-registrants",
        rule: "rows-below-minimum",
        stage: "ingest",
        step: "zoom-webinar-registrants",
        unit: "rows",
        threshold: 1,
        openedAt: at,
        breach,
        latest: breach,
      }),
      new Date(at),
    );
    expect(notificationOfAlert(event, CONTEXT).message).toEqual(JSON.parse(sample ?? "null"));
  });
});
