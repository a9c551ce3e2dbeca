/**
 * The deployed alert functions (functions/aws/{record-metrics,evaluate-alerts,check-freshness,
 * notify-slack}) as Lambda runs them: the environment and bundled config the Alerts stack sets,
 * the ledger's table on the DynamoDB emulator (AWS_ENDPOINT_URL_DYNAMODB), EventBridge and SSM on
 * aws-sdk-client-mock, and Slack as a receiver on 127.0.0.1.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { SSMClient } from "@aws-sdk/client-ssm";
import { DynamoDbAlertStore, DynamoDbRunLedger } from "@tapestry/core/adapters/aws";
import type { TapestryConfigInput } from "@tapestry/core/config";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ACCOUNT,
  acceptEveryEvent,
  BASE_ENV,
  busDelivery,
  coldStart,
  deploy,
  EVENT_BUS_NAME,
  entryTestHooks,
  KICKSTART,
  LEDGER_TABLE_NAME,
  lambdaContext,
  REGION,
  serveSecret,
} from "../aws/harness";
import { failedRun, successfulRun } from "../ledger/run-events";
import { type EmulatedLedgerTable, startLedgerTable } from "../support/dynamodb-emulator";
import { text } from "../support/stub-server";
import { failedRunIncident } from "./alert-events";
import { type SlackReceiver, startSlackReceiver, WEBHOOK_SECRET_PATH } from "./embedded-harness";

const eventBridge = mockClient(EventBridgeClient);
const ssm = mockClient(SSMClient);
entryTestHooks(eventBridge, ssm);

/** The fixtures' pipeline ("rain-shield", steps as the kickstart's), watched as the kickstart is, on a Slack webhook. */
const PIPELINE = "rain-shield";
const CONFIG: TapestryConfigInput = {
  ...KICKSTART,
  alerts: { email: [], slack: { webhookUrlSecret: "SLACK_WEBHOOK_URL" } },
  pipelines: [
    {
      ...(KICKSTART.pipelines[0] as object),
      name: PIPELINE,
      stages: (KICKSTART.pipelines[0]?.stages ?? []).map((stage) => ({
        ...stage,
        steps: stage.steps.map((step) =>
          step.name === "zoom-webinar-registrants" ? { ...step, rowsAnomaly: true } : step,
        ),
      })),
    } as never,
  ],
};
const STATUS_API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com";

let table: EmulatedLedgerTable;
let slack: SlackReceiver | undefined;

beforeEach(async () => {
  table = await startLedgerTable(LEDGER_TABLE_NAME);
  acceptEveryEvent(eventBridge);
});

afterEach(async () => {
  await table.close();
  await slack?.close();
  slack = undefined;
  vi.restoreAllMocks();
});

const env = (extra: Record<string, string> = {}) => ({
  ...BASE_ENV,
  TAPESTRY_LEDGER_TABLE: LEDGER_TABLE_NAME,
  TAPESTRY_EVENT_BUS: EVENT_BUS_NAME,
  AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
  ...extra,
});

const published = () =>
  eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((call) => (call.args[0].input.Entries ?? []) as PutEventsRequestEntry[])
    .map((entry) => ({ type: entry.DetailType, data: JSON.parse(entry.Detail ?? "{}").data }));

/** Every line the function writes (stdout and stderr, where Lambda's log goes) during `call`. */
async function logOf<T>(call: () => Promise<T>): Promise<{ result?: T; error?: unknown; lines: string[] }> {
  const lines: string[] = [];
  const capture = (chunk: unknown) => {
    lines.push(...String(chunk).split("\n").filter(Boolean));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
  try {
    return { result: await call(), lines };
  } catch (error) {
    return { error, lines };
  } finally {
    vi.restoreAllMocks();
  }
}

describe("functions/aws/record-metrics", () => {
  it("writes a step's end as EMF in namespace Tapestry, dimensions Pipeline and Step", async () => {
    deploy({ ...BASE_ENV, POWERTOOLS_METRICS_DISABLED: "false", POWERTOOLS_LOG_LEVEL: "INFO" }, null);
    const { handler } = await coldStart(() => import("../../functions/aws/record-metrics"));
    const step = successfulRun(PIPELINE, new Date("2026-03-02T06:00:00Z")).events.find(
      (e) => e["detail-type"] === "StepSucceeded",
    );
    if (!step) throw new Error("no step event");
    const { lines, error } = await logOf(() => handler(busDelivery(step), lambdaContext("record-metrics")));
    expect(error).toBeUndefined();
    const emf = lines.filter((l) => l.includes('"CloudWatchMetrics"')).map((l) => JSON.parse(l));
    expect(emf.flatMap((e) => Object.keys(e).filter((k) => /Synced|Seconds/.test(k))).sort()).toEqual([
      "BytesSynced",
      "RowsSynced",
      "StepDurationSeconds",
    ]);
    for (const document of emf) {
      expect(document).toMatchObject({
        Pipeline: PIPELINE,
        Step: "salesforce-contacts",
        _aws: { CloudWatchMetrics: [{ Namespace: "Tapestry", Dimensions: [["Pipeline", "Step"]] }] },
      });
      // exactly the dimensions the alarms name: Powertools' default `service` would make another metric
      expect(document.service).toBeUndefined();
    }
    expect(emf.find((e) => "RowsSynced" in e)?.RowsSynced).toBe(1204);
  });
});

describe("functions/aws/evaluate-alerts", () => {
  it("judges a run's end against the ledger: a floor not met opens one incident and puts ThresholdBreached on the bus", async () => {
    deploy(env(), CONFIG);
    const ledger = new DynamoDbRunLedger({ client: table.client(), tableName: LEDGER_TABLE_NAME });
    const { events } = failedRun(PIPELINE, new Date("2026-03-02T06:00:00Z"));
    for (const event of events.slice(0, -1)) await ledger.record(event);
    const end = events.at(-1);
    if (!end) throw new Error("no run end");
    const { handler } = await coldStart(() => import("../../functions/aws/evaluate-alerts"));

    expect(await handler(busDelivery(end), lambdaContext("evaluate-alerts"))).toEqual({ published: 1 });
    expect(published()).toEqual([
      {
        type: "ThresholdBreached",
        data: expect.objectContaining({
          rule: "rows-below-minimum",
          step: "salesforce-contacts",
          figure: 0,
          threshold: 1,
          unit: "rows",
        }),
      },
    ]);
    // a redelivery of the same end publishes the same incident again, and opens nothing new
    await handler(busDelivery(end), lambdaContext("evaluate-alerts"));
    const store = new DynamoDbAlertStore({ client: table.client(), tableName: LEDGER_TABLE_NAME });
    expect(await store.openIncidents()).toHaveLength(1);
    const ids = published().map((p) => p.data.incidentId);
    expect(new Set(ids).size).toBe(1);
  });

  it("takes a rows-anomaly alarm's change into ALARM as a breach with CloudWatch's figures", async () => {
    deploy(env(), CONFIG);
    const { handler } = await coldStart(() => import("../../functions/aws/evaluate-alerts"));
    const alarmName = "tapestry-test-rain-shield-rows-anomaly-zoom-webinar-registrants";
    await handler(
      {
        version: "0",
        id: "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        source: "aws.cloudwatch",
        account: ACCOUNT,
        time: "2026-03-02T07:05:00Z",
        region: REGION,
        resources: [`arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${alarmName}`],
        detail: {
          alarmName,
          state: {
            value: "ALARM",
            reason:
              "Thresholds Crossed: 1 out of the last 1 datapoints [12.0] was less than the lower thresholds [1043.6]",
            reasonData: JSON.stringify({ recentDatapoints: [12], recentLowerThresholds: [1043.6] }),
            timestamp: "2026-03-02T07:05:00.000+0000",
          },
          previousState: { value: "OK", reason: "", timestamp: "2026-03-01T07:05:00.000+0000" },
        },
      },
      lambdaContext("evaluate-alerts"),
    );
    expect(published()).toEqual([
      {
        type: "ThresholdBreached",
        data: expect.objectContaining({
          rule: "rows-anomaly",
          step: "zoom-webinar-registrants",
          figure: 12,
          threshold: 1043,
          alarmName,
        }),
      },
    ]);
  });
});

describe("the alert functions' deliveries", () => {
  it("are refused when they are no EventBridge event (Powertools' ParseError: the rule's dead-letter queue keeps them)", async () => {
    deploy(env({ TAPESTRY_STATUS_API_URL: STATUS_API_URL }), CONFIG);
    const evaluate = await coldStart(() => import("../../functions/aws/evaluate-alerts"));
    await expect(
      evaluate.handler({ source: "tapestry.pipeline", detail: {} }, lambdaContext("evaluate-alerts")),
    ).rejects.toMatchObject({ name: "ParseError" });
    const notify = await coldStart(() => import("../../functions/aws/notify-slack"));
    await expect(notify.handler({ hello: "slack" }, lambdaContext("notify-slack"))).rejects.toMatchObject({
      name: "ParseError",
    });
    const freshness = await coldStart(() => import("../../functions/aws/check-freshness"));
    await expect(
      freshness.handler("every 5 minutes", lambdaContext("check-freshness")),
    ).rejects.toMatchObject({
      name: "ParseError",
    });
    expect(published()).toEqual([]);
  });
});

describe("functions/aws/check-freshness", () => {
  it("writes MinutesSinceLastSuccess per pipeline, and a pipeline gone stale opens one incident, once per scheduled fire", async () => {
    deploy({ ...env(), POWERTOOLS_METRICS_DISABLED: "false", POWERTOOLS_LOG_LEVEL: "INFO" }, CONFIG);
    const ledger = new DynamoDbRunLedger({ client: table.client(), tableName: LEDGER_TABLE_NAME });
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    for (const event of successfulRun(PIPELINE, tenDaysAgo).events) await ledger.record(event);
    const { handler } = await coldStart(() => import("../../functions/aws/check-freshness"));
    const fire = { scheduledTime: new Date().toISOString() };

    const { result, lines } = await logOf(() => handler(fire, lambdaContext("check-freshness")));
    expect(result).toEqual({ pipelines: 1, published: 1 });
    const emf = lines.filter((l) => l.includes('"CloudWatchMetrics"')).map((l) => JSON.parse(l));
    expect(emf).toEqual([
      expect.objectContaining({ Pipeline: PIPELINE, MinutesSinceLastSuccess: expect.any(Number) }),
    ]);
    expect(emf[0].MinutesSinceLastSuccess).toBeGreaterThan(10 * 1440 - 5);
    expect(emf[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([["Pipeline"]]);
    expect(published()).toEqual([
      {
        type: "ThresholdBreached",
        data: expect.objectContaining({ rule: "stale", threshold: 3000, unit: "minutes" }),
      },
    ]);
    // Scheduler retries a fire with the same scheduled time: the same incident, published again, not opened twice
    await logOf(() => handler(fire, lambdaContext("check-freshness")));
    const store = new DynamoDbAlertStore({ client: table.client(), tableName: LEDGER_TABLE_NAME });
    expect(await store.openIncidents()).toHaveLength(1);
    expect((await store.openIncidents())[0]?.breaches).toBe(1);
  });
});

describe("functions/aws/notify-slack", () => {
  const notifier = async (answers = [text(200, "ok")]) => {
    slack = await startSlackReceiver(answers);
    serveSecret(ssm, "SLACK_WEBHOOK_URL", slack.url);
    deploy(env({ TAPESTRY_STATUS_API_URL: STATUS_API_URL, POWERTOOLS_LOG_LEVEL: "DEBUG" }), CONFIG);
    return (await coldStart(() => import("../../functions/aws/notify-slack"))).handler;
  };
  const { breach, recovery } = failedRunIncident(PIPELINE, new Date("2026-03-02T06:05:00Z"));

  it("posts one message per incident and kind, whatever the redeliveries (idempotency records in the ledger's table)", async () => {
    const handler = await notifier();
    const first = await logOf(() => handler(busDelivery(breach), lambdaContext("notify-slack")));
    expect(first.result).toEqual({ sent: true, key: `${breach.detail.data.incidentId}#breach` });
    // EventBridge delivers at least once: a second delivery (another envelope id) posts nothing
    await logOf(() => handler(busDelivery(breach), lambdaContext("notify-slack")));
    await logOf(() => handler(busDelivery(recovery), lambdaContext("notify-slack")));
    expect(slack?.calls).toHaveLength(2);
    const [opened, resolved] = slack?.messages() ?? [];
    expect(opened?.text).toContain("Run failed: rain-shield");
    expect(JSON.stringify(opened)).toContain(`GET ${STATUS_API_URL}/runs/rain-shield-20260301T060000Z`);
    expect(resolved?.text).toContain("Resolved: Run failed: rain-shield");
    const records = (await table.items()).filter((item) => item.pk === "ALERT#NOTIFIED");
    expect(records).toHaveLength(2);
    expect(records.every((r) => typeof r.ttl === "number")).toBe(true);
  });

  it("posts a health alarm's change into ALARM", async () => {
    const handler = await notifier();
    await logOf(() =>
      handler(
        {
          version: "0",
          id: "0f0e0d0c-0000-4000-8000-000000000001",
          "detail-type": "CloudWatch Alarm State Change",
          source: "aws.cloudwatch",
          account: ACCOUNT,
          time: "2026-03-02T07:05:00Z",
          region: REGION,
          resources: [],
          detail: {
            alarmName: "tapestry-test-health-projector-dead-letters",
            state: {
              value: "ALARM",
              reason: "Threshold Crossed: 1 datapoint [2.0] >= 1.0",
              timestamp: "2026-03-02T07:05:00.000+0000",
            },
            previousState: { value: "OK", reason: "", timestamp: "2026-03-01T07:05:00.000+0000" },
            configuration: {
              description:
                "Tapestry test: dead-letter queue tapestry-test-ProjectorDeadLetters holds messages",
            },
          },
        },
        lambdaContext("notify-slack"),
      ),
    );
    expect(slack?.messages().map((m) => m.text)).toEqual([
      expect.stringContaining("Control plane alarm: tapestry-test-health-projector-dead-letters"),
    ]);
  });

  it("fails with SlackDeliveryError when Slack keeps failing (Lambda's retries, then the dead-letter queue), and a later retry posts", async () => {
    const handler = await notifier([text(503, "service_unavailable")]);
    const failed = await logOf(() => handler(busDelivery(breach), lambdaContext("notify-slack")));
    expect(failed.error).toMatchObject({ name: "SlackDeliveryError" });
    expect(slack?.calls.length).toBe(5);
    // nothing was recorded as sent: Lambda's retry posts it
    const healthy = await startSlackReceiver();
    serveSecret(ssm, "SLACK_WEBHOOK_URL", healthy.url);
    try {
      const retry = await coldStart(() => import("../../functions/aws/notify-slack"));
      const retried = await logOf(() => retry.handler(busDelivery(breach), lambdaContext("notify-slack")));
      expect(retried.result).toMatchObject({ sent: true });
      expect(healthy.calls).toHaveLength(1);
    } finally {
      await healthy.close();
    }
  }, 60_000);

  it("never writes the webhook's URL: not in a log line (debug included), an error, a result or a stored record", async () => {
    const handler = await notifier([text(500, "internal_error")]);
    const failed = await logOf(() => handler(busDelivery(breach), lambdaContext("notify-slack")));
    const everything = [
      ...failed.lines,
      String(failed.error),
      (failed.error as Error).stack ?? "",
      JSON.stringify(failed.error),
      JSON.stringify(await table.items()),
    ].join("\n");
    expect(failed.lines.length).toBeGreaterThan(0);
    expect(everything).not.toContain(WEBHOOK_SECRET_PATH);
    expect(everything).not.toContain("secretWebhookToken");
  }, 60_000);
});
