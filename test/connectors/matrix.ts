import type { JobStatus, StartedJob, StepConnector, StepSpec } from "@tapestry/core";
import type { RecordedExchange } from "@tapestry/local/sandboxes";
import { beforeAll } from "vitest";
import {
  airbyteRig,
  airbyteStep,
  CANARY,
  call,
  context,
  dbtRig,
  dbtStep,
  everythingIn,
  grouparooRig,
  grouparooStep,
  pollToEnd,
  type Rig,
  ZOOM_CONNECTION,
} from "./harness";

/** One scripted situation, named as in docs/sandbox-scenarios.md. */
interface Case {
  readonly name: string;
  readonly section: Record<string, unknown>;
  /** the answers break the spec on purpose (e.g. a status outside the enum) */
  readonly offSpec?: boolean;
}

const common: Case[] = [
  { name: "normal", section: {} },
  {
    name: "5xx after processing",
    section: { rules: [{ on: "TRIGGER", calls: [1], process: true, respond: { status: 500 } }] },
  },
  {
    name: "5xx before processing",
    section: { rules: [{ on: "TRIGGER", calls: [1], respond: { status: 503 } }] },
  },
  {
    name: "drop after processing",
    section: { rules: [{ on: "TRIGGER", calls: [1], process: true, drop: true }] },
  },
  { name: "drop before processing", section: { rules: [{ on: "TRIGGER", calls: [1], drop: true }] } },
  {
    name: "429 with Retry-After",
    section: { rules: [{ on: "TRIGGER", times: 2, respond: { status: 429, retryAfterSeconds: 1 } }] },
  },
  {
    name: "429 without Retry-After",
    section: { rules: [{ on: "POLL", calls: [1, 2], respond: { status: 429 } }] },
  },
  { name: "latency", section: { rules: [{ on: "POLL", calls: [1], latencyMs: 1200 }] } },
  { name: "stuck", section: { outcomes: [{ outcome: "stuck" }] } },
  { name: "failed", section: { outcomes: [{ outcome: "failed", error: "boom" }] } },
  { name: "cancelled", section: { outcomes: [{ outcome: "cancelled" }] } },
  { name: "refused credentials", section: { rules: [{ on: "POLL", from: 1, respond: { status: 401 } }] } },
];

const operations = {
  airbyte: { TRIGGER: "createJob", POLL: "getJob" },
  "dbt-cloud": { TRIGGER: "triggerRun", POLL: "getRun" },
  grouparoo: { TRIGGER: "runSchedule", POLL: "getRun" },
} as const;

/** A tool (or a proxy in front of it) that echoes the credential back in an error body. */
const echoes = (secret: string): Case => ({
  name: "echoes the credential",
  section: {
    rules: [
      { on: "POLL", from: 1, respond: { status: 500, body: { message: `rejected credential ${secret}` } } },
    ],
  },
});

function forTool(tool: keyof typeof operations, section: Record<string, unknown>): Record<string, unknown> {
  const names: Record<string, string> = operations[tool];
  const rules = (section.rules as Record<string, unknown>[] | undefined)?.map((rule) => ({
    ...rule,
    on: names[String(rule.on)] ?? rule.on,
  }));
  return rules ? { ...section, rules } : section;
}

const perTool: Record<keyof typeof operations, Case[]> = {
  airbyte: [
    echoes(CANARY.airbyteClientSecret),
    { name: "zero rows", section: { outcomes: [{ outcome: "succeeded", rows: 0 }] } },
    {
      name: "409 attach",
      section: { alreadyRunning: [{ connectionId: ZOOM_CONNECTION, remainingMs: 1000 }] },
    },
    {
      name: "incomplete then succeeded",
      section: { outcomes: [{ outcome: "incomplete-then-succeeded", incompleteMs: 60 }] },
    },
    {
      name: "token expiry",
      section: {
        auth: {
          kind: "client-credentials",
          clientId: CANARY.airbyteClientId,
          clientSecret: CANARY.airbyteClientSecret,
          tokenTtlSeconds: 0.2,
        },
        defaults: { queuedMs: 20, durationMs: 500 },
      },
    },
    { name: "token revoked", section: { rules: [{ on: "getJob", calls: [1], revokeTokens: true }] } },
    {
      name: "wrong client secret",
      section: {
        auth: {
          kind: "client-credentials",
          clientId: CANARY.airbyteClientId,
          clientSecret: "not-the-canary",
        },
      },
    },
    {
      name: "unknown status",
      section: { outcomes: [{ outcome: "unknown-status", status: "paused", durationMs: 30 }] },
      offSpec: true,
    },
  ],
  "dbt-cloud": [
    echoes(CANARY.dbtToken),
    {
      name: "in-flight attach",
      section: { alreadyRunning: [{ jobId: 917, accountId: 70403, remainingMs: 1000 }] },
    },
    {
      name: "unknown status",
      section: { outcomes: [{ outcome: "unknown-status", status: 4, durationMs: 30 }] },
      offSpec: true,
    },
  ],
  grouparoo: [
    echoes(CANARY.grouparooKey),
    { name: "zero rows", section: { outcomes: [{ outcome: "succeeded", rows: 0 }] } },
    {
      name: "in-flight attach",
      section: { alreadyRunning: [{ scheduleId: "sch_mailchimp_audience", remainingMs: 1000 }] },
    },
    {
      name: "unknown status",
      section: { outcomes: [{ outcome: "unknown-status", status: "paused", durationMs: 30 }] },
      offSpec: true,
    },
  ],
};

export interface CaseResult {
  readonly tool: string;
  readonly name: string;
  readonly offSpec: boolean;
  /** everything the connector handed back or threw, and every log line, as text */
  readonly visible: string[];
  readonly traffic: RecordedExchange[];
}

/** Drives one connector through start -> polls -> cancel, catching what fails. */
async function drive<S extends StepSpec, X extends { traffic: RecordedExchange[] }>(
  rig: Rig<S, X>,
  step: S,
): Promise<{ visible: string[]; traffic: RecordedExchange[] }> {
  const visible: string[] = [];
  const keep = (value: StartedJob | JobStatus) => visible.push(JSON.stringify(value));
  const connector: StepConnector<S> = rig.connector;
  try {
    const started = await connector.start(step, context);
    keep(started);
    try {
      const { final } = await pollToEnd(connector, step, started.externalId, { maxMs: 1500 });
      keep(final);
    } catch (error) {
      visible.push(everythingIn(error));
    }
    keep(await connector.cancel(step, started.externalId, call));
  } catch (error) {
    visible.push(everythingIn(error));
  }
  visible.push(...rig.rec.lines);
  await rig.close();
  return { visible, traffic: rig.sandbox.traffic };
}

/** Runs every case of every tool, three tools at a time. */
export async function runConnectorMatrix(): Promise<CaseResult[]> {
  const jobs: Promise<CaseResult>[] = [];
  for (const tool of ["airbyte", "dbt-cloud", "grouparoo"] as const) {
    for (const c of [...common, ...perTool[tool]]) {
      const section = forTool(tool, c.section);
      const run = async () => {
        const outcome =
          tool === "airbyte"
            ? await drive(await airbyteRig(section), airbyteStep({ minRows: 1 }))
            : tool === "dbt-cloud"
              ? await drive(await dbtRig(section), dbtStep())
              : await drive(await grouparooRig(section), grouparooStep({ minRows: 1 }));
        return { tool, name: c.name, offSpec: c.offSpec ?? false, ...outcome };
      };
      jobs.push(run());
    }
  }
  return Promise.all(jobs);
}

/**
 * The matrix's results for the tests of a file: empty until the matrix has run, once, before them
 * (it takes seconds: three tools' worth of sandboxes and scenarios).
 */
export function connectorMatrixBeforeAll(): readonly CaseResult[] {
  const results: CaseResult[] = [];
  beforeAll(async () => {
    results.push(...(await runConnectorMatrix()));
  }, 60_000);
  return results;
}
