/**
 * Alerts end to end on the embedded control plane: the real ASL, handlers, sandboxes, bus, ledger
 * and incident store, a clock the test moves, and a Slack incoming webhook on 127.0.0.1. Each
 * fault gives exactly one breach event and one message with its figures; its recovery one
 * resolved message; a healthy run none.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { text } from "../support/stub-server";
import {
  type AlertingPlane,
  alertingConfig,
  messageFacts,
  PIPELINE,
  type SlackReceiver,
  startAlertingPlane,
  startSlackReceiver,
  WEBHOOK_SECRET_PATH,
  ZOOM_CONNECTION,
} from "./embedded-harness";

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const each of open.splice(0).reverse()) await each.close();
});

async function start(
  options: Parameters<typeof startAlertingPlane>[0] & { readonly receiver?: SlackReceiver },
): Promise<{ plane: AlertingPlane; slack: SlackReceiver }> {
  const slack = options.receiver ?? (await startSlackReceiver());
  const plane = await startAlertingPlane({ ...options, slackWebhookUrl: slack.url });
  open.push(slack, { close: () => plane.stop() });
  return { plane, slack };
}

/** The figures the alert states, as the event and /alerts carry them. */
const figures = (plane: AlertingPlane) =>
  plane.breaches().map((e) => {
    const d = e.detail.data;
    return { rule: d.rule, step: d.step, figure: d.figure, threshold: d.threshold, unit: d.unit };
  });

describe("a healthy run", () => {
  it("raises nothing and sends nothing; neither does a freshness check right after it", async () => {
    const { plane, slack } = await start({ config: alertingConfig() });
    const runId = await plane.run();
    await plane.alerts.checkFreshness();
    expect((await plane.ledger.getRun(runId))?.status).toBe("succeeded");
    expect(plane.breaches()).toEqual([]);
    expect(plane.recoveries()).toEqual([]);
    expect(slack.calls).toEqual([]);
    expect(await plane.alerts.store.listIncidents({ limit: 10 })).toEqual({ incidents: [] });
  });
});

describe("a zero-row Airbyte sync on a step with minRows", () => {
  it("gives one breach of rows-below-minimum (0 rows against 1) and one message; the next run with rows one resolved message", async () => {
    const { plane, slack } = await start({
      config: alertingConfig(),
      scenario: {
        airbyte: { outcomes: [{ for: ZOOM_CONNECTION, outcome: "succeeded", rows: 0, bytes: 0 }] },
      },
    });
    const failed = await plane.run();
    expect((await plane.ledger.getRun(failed))?.status).toBe("failed");
    // one cause, one incident: the failed run is this floor, not a second "run failed"
    expect(figures(plane)).toEqual([
      { rule: "rows-below-minimum", step: "zoom-webinar-registrants", figure: 0, threshold: 1, unit: "rows" },
    ]);
    expect(slack.calls).toHaveLength(1);
    const breach = messageFacts(slack.messages()[0] ?? { text: "", blocks: [] });
    expect(breach.header).toBe(`🔴 Rows below the minimum: ${PIPELINE}`);
    expect(breach.fields).toMatchObject({
      Pipeline: PIPELINE,
      Step: "ingest/zoom-webinar-registrants",
      Figure: "0 rows",
      Threshold: "at least 1 row",
      Run: failed,
    });
    expect(breach.text).toContain(`GET ${plane.apiUrl}/runs/${failed}`);

    const recovered = await plane.run();
    expect((await plane.ledger.getRun(recovered))?.status).toBe("succeeded");
    expect(plane.breaches()).toHaveLength(1);
    expect(plane.recoveries().map((e) => [e.detail.data.rule, e.detail.data.figure])).toEqual([
      ["rows-below-minimum", 1204],
    ]);
    expect(slack.calls).toHaveLength(2);
    const resolved = messageFacts(slack.messages()[1] ?? { text: "", blocks: [] });
    expect(resolved.header).toBe(`✅ Resolved: Rows below the minimum: ${PIPELINE}`);
    expect(resolved.fields).toMatchObject({ "Figure now": "1,204 rows", Run: recovered });
    expect(plane.lines.filter((l) => l.includes("✉ Slack"))).toHaveLength(2);
  });
});

describe("a failed dbt run", () => {
  it("gives one breach of run-failed with the tool's error and one message, a second failure none, the next success one resolved message", async () => {
    const error = 'Database Error in model email_audience: relation "stg_zoom__webinars" does not exist';
    const { plane, slack } = await start({
      config: alertingConfig(),
      scenario: {
        "dbt-cloud": {
          outcomes: [
            { outcome: "failed", error },
            { outcome: "failed", error },
          ],
        },
      },
    });
    const first = await plane.run();
    await plane.run();
    expect(figures(plane)).toEqual([
      { rule: "run-failed", step: "email-model", figure: 1, threshold: 0, unit: "runs" },
    ]);
    expect(plane.breaches()[0]?.detail.data).toMatchObject({
      runId: first,
      stage: "transform",
      error: expect.stringContaining(error),
    });
    expect(slack.calls).toHaveLength(1);
    const breach = messageFacts(slack.messages()[0] ?? { text: "", blocks: [] });
    expect(breach.header).toBe(`🔴 Run failed: ${PIPELINE}`);
    expect(breach.fields).toMatchObject({
      Step: "transform/email-model",
      Figure: "1 failed run",
      Threshold: "any failed run",
    });
    // the tool's error, escaped for mrkdwn (its quotes are plain text)
    expect(breach.text).toContain("Database Error in model email_audience");
    const incident = (await plane.alerts.store.openIncidents())[0];
    expect(incident?.breaches).toBe(2);

    await plane.run();
    expect(plane.recoveries()).toHaveLength(1);
    expect(slack.calls).toHaveLength(2);
    expect(messageFacts(slack.messages()[1] ?? { text: "", blocks: [] }).header).toBe(
      `✅ Resolved: Run failed: ${PIPELINE}`,
    );
    expect(await plane.alerts.store.openIncidents()).toEqual([]);
  });
});

describe("a run that exceeds maxDurationMinutes", () => {
  it("gives one breach of run-too-long with the run's minutes against the limit, and one message; a run within it one resolved message", async () => {
    let slow = true;
    const { plane, slack } = await start({
      config: alertingConfig(),
      // 15 minutes pass (on the control plane's clock) while the first run goes
      onEvent: (event, clock) => {
        if (event["detail-type"] === "PipelineRunStarted" && slow) {
          slow = false;
          clock.advance(15);
        }
      },
    });
    const runId = await plane.run();
    expect((await plane.ledger.getRun(runId))?.status).toBe("succeeded");
    const [breach] = plane.breaches();
    expect(plane.breaches()).toHaveLength(1);
    expect(breach?.detail.data).toMatchObject({
      rule: "run-too-long",
      unit: "minutes",
      threshold: 10,
      runId,
    });
    expect(breach?.detail.data.figure).toBeGreaterThanOrEqual(15);
    expect(breach?.detail.data.figure).toBeLessThan(16);
    expect(slack.calls).toHaveLength(1);
    const message = messageFacts(slack.messages()[0] ?? { text: "", blocks: [] });
    expect(message.header).toBe(`🔴 Run took too long: ${PIPELINE}`);
    expect(message.fields.Threshold).toBe("at most 10 min");
    expect(message.fields.Figure).toMatch(/^15(\.\d+)? min$/);

    await plane.run();
    expect(plane.recoveries().map((e) => e.detail.data.rule)).toEqual(["run-too-long"]);
    expect(slack.calls).toHaveLength(2);
  });
});

describe("a pipeline that stops running", () => {
  it("gives one breach of stale (minutes since the last success against twice the schedule's gap) and one message; a success one resolved message", async () => {
    const { plane, slack } = await start({ config: alertingConfig() });
    const last = await plane.run();
    // daily at 06:00 UTC: the longest gap is 1,440 min, so stale after 2,880
    plane.advance(2_881);
    await plane.alerts.checkFreshness();
    await plane.alerts.checkFreshness();
    await plane.idle();
    expect(figures(plane)).toEqual([
      { rule: "stale", step: undefined, figure: expect.any(Number), threshold: 2_880, unit: "minutes" },
    ]);
    expect(plane.breaches()[0]?.detail.data.figure).toBeGreaterThanOrEqual(2_881);
    expect(plane.breaches()[0]?.detail.data.runId).toBe(last);
    expect(slack.calls).toHaveLength(1);
    const message = messageFacts(slack.messages()[0] ?? { text: "", blocks: [] });
    expect(message.header).toBe(`🔴 No successful run for too long: ${PIPELINE}`);
    expect(message.fields.Threshold).toBe("a success within 2,880 min");

    await plane.run();
    await plane.alerts.checkFreshness();
    await plane.idle();
    expect(plane.recoveries().map((e) => e.detail.data.rule)).toEqual(["stale"]);
    expect(slack.calls).toHaveLength(2);
  });
});

describe("the webhook's URL", () => {
  it("appears in no event, console line, log line, notification report, stored incident or status API answer, even when Slack keeps failing", async () => {
    const receiver = await startSlackReceiver([text(500, "internal_error")]);
    const { plane, slack } = await start({
      receiver,
      config: alertingConfig(),
      scenario: { "dbt-cloud": { outcomes: [{ outcome: "failed", error: "boom" }] } },
    });
    await plane.run();
    expect(slack.calls.length).toBeGreaterThan(1);
    expect(plane.reports).toEqual([
      expect.objectContaining({ outcome: "failed", error: expect.stringContaining("500") }),
    ]);
    const answer = await (await fetch(`${plane.apiUrl}/alerts`)).text();
    const everything = [
      JSON.stringify(plane.events),
      ...plane.lines,
      ...plane.logs,
      JSON.stringify(plane.reports),
      JSON.stringify(await plane.alerts.store.listIncidents({ limit: 10 })),
      answer,
    ].join("\n");
    expect(everything).toContain("run-failed");
    expect(everything).not.toContain(WEBHOOK_SECRET_PATH);
    expect(everything).not.toContain("secretWebhookToken");
    expect(everything).not.toContain(slack.url);
  });
});

describe("the embedded metrics recorder", () => {
  it("writes the AWS recorder's data points as EMF lines in the state folder: the run's, each step's, and freshness", async () => {
    const { plane } = await start({ config: alertingConfig() });
    await plane.run();
    plane.advance(30);
    await plane.alerts.checkFreshness();
    await plane.idle();
    const documents = (await readFile(join(plane.stateDir, "metrics.emf.jsonl"), "utf8"))
      .trimEnd()
      .split("\n")
      .map(
        (line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: unknown[] } },
      );
    // each document one point, in namespace Tapestry, with exactly the alarms' dimensions
    const points = documents.map((doc) => {
      const [directive] = doc._aws.CloudWatchMetrics as {
        Namespace: string;
        Dimensions: string[][];
        Metrics: { Name: string; Unit: string }[];
      }[];
      expect(directive?.Namespace).toBe("Tapestry");
      expect(directive?.Metrics).toHaveLength(1);
      const name = directive?.Metrics[0]?.Name ?? "";
      const dimensions = Object.fromEntries((directive?.Dimensions[0] ?? []).map((d) => [d, doc[d]]));
      return { name, unit: directive?.Metrics[0]?.Unit, value: doc[name], dimensions };
    });
    const pipeline = { Pipeline: PIPELINE };
    const step = (name: string) => ({ Pipeline: PIPELINE, Step: name });
    expect(points).toEqual(
      expect.arrayContaining([
        {
          name: "RowsSynced",
          unit: "Count",
          value: expect.any(Number),
          dimensions: step("zoom-webinar-registrants"),
        },
        {
          name: "StepDurationSeconds",
          unit: "Seconds",
          value: expect.any(Number),
          dimensions: step("email-model"),
        },
        { name: "RunSucceeded", unit: "Count", value: 1, dimensions: pipeline },
        { name: "RunFailed", unit: "Count", value: 0, dimensions: pipeline },
        { name: "RunDurationSeconds", unit: "Seconds", value: expect.any(Number), dimensions: pipeline },
        { name: "MinutesSinceLastSuccess", unit: "None", value: 30, dimensions: pipeline },
      ]),
    );
    // one writer: the run counted once
    expect(points.filter((p) => p.name === "RunSucceeded")).toHaveLength(1);
    expect(documents.every((doc) => !("service" in doc))).toBe(true);
  });
});

describe("a stop of the control plane mid-run", () => {
  it("judges the run it ended like any failed run (one breach, one message) and leaves no delivery half done", async () => {
    const slack = await startSlackReceiver();
    open.push(slack);
    const plane = await startAlertingPlane({
      config: alertingConfig(),
      slackWebhookUrl: slack.url,
      scenario: { airbyte: { defaults: { queuedMs: 20, durationMs: 60_000 } } },
    });
    const started = await plane.startRun(PIPELINE, { kind: "manual" });
    while (!plane.events.some((e) => e["detail-type"] === "StepStarted")) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stopped = await plane.stop();
    expect(stopped.map((r) => r.runId)).toEqual([started.runId]);
    expect(plane.events.map((e) => e["detail-type"])).toContain("PipelineRunFailed");
    expect(plane.breaches().map((e) => [e.detail.data.rule, e.detail.data.runId])).toEqual([
      ["run-failed", started.runId],
    ]);
    expect(slack.calls).toHaveLength(1);
    expect(plane.deadLetters()).toEqual([]);
    expect(plane.logs.filter((line) => line.startsWith("ERROR"))).toEqual([]);
  });
});
