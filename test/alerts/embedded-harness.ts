import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blockKitProblems, type SlackMessage } from "@tapestry/core/alerts";
import { parseConfig, type TapestryConfig, type TapestryConfigInput } from "@tapestry/core/config";
import type { EventOf, TapestryEvent } from "@tapestry/core/events";
import type { Logger } from "@tapestry/core/logging";
import {
  type ControlPlane,
  formatEvent,
  formatNotification,
  type NotificationReport,
  REPO_ROOT,
  startControlPlane,
} from "@tapestry/local";
import { parseScenario } from "@tapestry/local/sandboxes";
import { expect } from "vitest";
import kickstart from "../../tapestry.config";
import { FAST_TOOLS, TASK_STATES } from "../state-machines/harness";
import { type StubAnswer, type StubCall, startStubServer, text } from "../support/stub-server";

/** The path part of an incoming webhook's URL is its secret: it must appear nowhere but in the request. */
export const WEBHOOK_SECRET_PATH = "/services/T0TAPESTRY/B0ALERTS/xQ9kw2VhTsecretWebhookToken";

export const PIPELINE = "alerting-audience";
export const ZOOM_CONNECTION = "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11";

/** A three-stage pipeline on the kickstart's tools, with every threshold the end-to-end tests need. */
export function alertingConfig(change?: (config: TapestryConfigInput) => void): TapestryConfig {
  const input = {
    tools: structuredClone(kickstart.tools),
    pipelines: [
      {
        name: PIPELINE,
        schedule: { expression: "cron(0 6 * * ? *)", timezone: "UTC" },
        alerts: { maxDurationMinutes: 10 },
        stages: [
          {
            name: "ingest",
            steps: [
              {
                name: "zoom-webinar-registrants",
                tool: "airbyte",
                connectionId: ZOOM_CONNECTION,
                timeoutMinutes: 60,
                minRows: 1,
              },
            ],
          },
          {
            name: "transform",
            steps: [
              { name: "email-model", tool: "dbt-cloud", accountId: 70403, jobId: 112233, timeoutMinutes: 60 },
            ],
          },
          {
            name: "sync",
            steps: [
              {
                name: "mailchimp-audience",
                tool: "grouparoo",
                scheduleId: "sch_mailchimp_audience",
                timeoutMinutes: 60,
              },
            ],
          },
        ],
      },
    ],
  } as TapestryConfigInput;
  change?.(input);
  return parseConfig(input);
}

/** A Slack incoming webhook on 127.0.0.1: records every post, answers as Slack does. */
export interface SlackReceiver {
  readonly url: string;
  readonly calls: StubCall[];
  messages(): SlackMessage[];
  close(): Promise<void>;
}

export async function startSlackReceiver(answers: StubAnswer[] = [text(200, "ok")]): Promise<SlackReceiver> {
  const stub = await startStubServer(answers);
  return {
    url: `${stub.url}${WEBHOOK_SECRET_PATH}`,
    calls: stub.calls,
    messages: () => stub.calls.map((call) => JSON.parse(call.body) as SlackMessage),
    close: stub.close,
  };
}

export interface AlertingPlane extends ControlPlane {
  /** the state folder (removed when the plane stops) */
  readonly stateDir: string;
  readonly events: TapestryEvent[];
  /** every line `tapestry local` would print: events and notifications */
  readonly lines: string[];
  readonly reports: NotificationReport[];
  readonly logs: string[];
  /** moves the control plane's clock forward */
  advance(minutes: number): void;
  /** starts a manual run and waits until it has ended and every event (and message) is handled */
  run(): Promise<string>;
  breaches(): EventOf<"ThresholdBreached">[];
  recoveries(): EventOf<"ThresholdRecovered">[];
}

/** The embedded control plane with alerts: fast sandbox jobs, a clock the test moves, a Slack receiver. */
export async function startAlertingPlane(options: {
  readonly config: TapestryConfig;
  readonly scenario?: Record<string, unknown>;
  readonly slackWebhookUrl?: string;
  /** run from an event's delivery to the console, e.g. to move the clock while a run goes */
  readonly onEvent?: (event: TapestryEvent, plane: { advance(minutes: number): void }) => void;
}): Promise<AlertingPlane> {
  const stateDir = mkdtempSync(join(tmpdir(), "tapestry-alerts-"));
  let offsetMs = 0;
  const clock = { advance: (minutes: number) => (offsetMs += minutes * 60_000) };
  const events: TapestryEvent[] = [];
  const lines: string[] = [];
  const reports: NotificationReport[] = [];
  const logs: string[] = [];
  const capture =
    (level: string) =>
    (message: string, attributes?: Record<string, unknown>): void => {
      logs.push(
        `${level} ${message} ${JSON.stringify(attributes ?? {}, (_k, v) => (v instanceof Error ? `${v.name}: ${v.message}` : v))}`,
      );
    };
  const logger: Logger = {
    debug: capture("DEBUG"),
    info: capture("INFO"),
    warn: capture("WARN"),
    error: capture("ERROR"),
  };
  const scenario = Object.fromEntries(
    Object.entries(FAST_TOOLS).map(([tool, section]) => [
      tool,
      { ...section, ...(options.scenario?.[tool] as object | undefined) },
    ]),
  );
  const plane = await startControlPlane({
    config: options.config,
    repoRoot: REPO_ROOT,
    stateDir,
    port: 0,
    scenario: parseScenario(scenario),
    schedule: false,
    now: () => new Date(Date.now() + offsetMs),
    logger,
    onEvent: (event) => {
      events.push(event);
      lines.push(formatEvent(event, { color: false }));
      options.onEvent?.(event, clock);
    },
    onNotification: (report) => {
      reports.push(report);
      lines.push(formatNotification(report, { color: false }));
    },
    ...(options.slackWebhookUrl ? { slackWebhookUrl: options.slackWebhookUrl } : {}),
    alerts: { freshnessIntervalMs: 0, slack: { baseDelayMs: 5, maxDelayMs: 20 } },
    waitTimeOverrides: { WaitForJob: 25, WaitForRunLock: 25 },
    retryIntervalOverrides: Object.fromEntries(TASK_STATES.map((state) => [state, 10])),
  });
  return {
    ...plane,
    stateDir,
    events,
    lines,
    reports,
    logs,
    advance: clock.advance,
    run: async () => {
      const started = await plane.startRun(PIPELINE, { kind: "manual" });
      await started.execution?.outcome;
      await plane.idle();
      return started.runId;
    },
    breaches: () =>
      events.filter((e): e is EventOf<"ThresholdBreached"> => e["detail-type"] === "ThresholdBreached"),
    recoveries: () =>
      events.filter((e): e is EventOf<"ThresholdRecovered"> => e["detail-type"] === "ThresholdRecovered"),
    stop: async (cause) => {
      const stopped = await plane.stop(cause);
      rmSync(stateDir, { recursive: true, force: true });
      return stopped;
    },
  };
}

/** The text of a message's header, and its fields as label -> value. */
export function messageFacts(message: SlackMessage): {
  header: string;
  fields: Record<string, string>;
  text: string;
} {
  expect(blockKitProblems(message)).toEqual([]);
  const header = message.blocks.find((b) => b.type === "header");
  const fields: Record<string, string> = {};
  for (const block of message.blocks) {
    if (block.type !== "section" || !block.fields) continue;
    for (const field of block.fields) {
      const [label, ...value] = field.text.split("\n");
      fields[(label ?? "").replaceAll("*", "")] = value.join("\n");
    }
  }
  return { header: header?.type === "header" ? header.text.text : "", fields, text: JSON.stringify(message) };
}
