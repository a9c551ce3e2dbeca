import {
  type DbtCloudStep,
  type PipelineSpec,
  parseConfig,
  type TapestryConfig,
} from "@tapestry/core/config";
import { createDbtCloudConnector } from "@tapestry/core/connectors";
import { createEvent, type RunTrigger, type TapestryEvent } from "@tapestry/core/events";
import type { RunLedger } from "@tapestry/core/ledger";
import { silentLogger } from "@tapestry/core/logging";
import { describeTaskError, scheduledRunId } from "@tapestry/core/pipeline";
import { applyProvisioningEvent, newRunRecord } from "@tapestry/core/provisioning";
import { nextFireTime } from "@tapestry/core/schedule";
import { SqliteProvisioningStore, SqliteToolStackRecords } from "@tapestry/local/ledger";
import { expect } from "vitest";
import { createStatusApiHandler, type StatusApiHandler } from "../../functions/api/status-api";
import { createWebhookApiHandler } from "../../functions/webhooks/webhook-api";
import { type ApiServer, startApiServer } from "../../packages/local/src/api-server";
import { withWebhookRoutes } from "../../packages/local/src/control-plane/webhooks";
import { SqliteAlertStore, SqliteRunLedger, SqliteTaskTokenStore } from "../../packages/local/src/ledger";
import kickstart from "../../tapestry.config";
import type { RunEvents } from "../ledger/run-events";
import { provisioningRunEvents } from "../provisioning/provisioning-events";
import { startStubServer } from "../support/stub-server";
import { plan, scheduledRun, skippedRun } from "./run-events";
import { checkAnswer } from "./status-api-answers";

/** The status API over real HTTP: the kickstart config plus one pipeline per health, a real (in-memory) SQLite ledger. */

export const NOW = new Date("2026-03-02T12:00:00.000Z");

const day = (n: number, hour = 6) => new Date(Date.UTC(2026, 2, 1 - n, hour, 0, 0));

export const KICKSTART = parseConfig(kickstart, "tapestry.config.ts");
const kickstartPipeline = KICKSTART.pipelines[0] as PipelineSpec;

function like(name: string, changes: Partial<PipelineSpec> = {}): PipelineSpec {
  return { ...kickstartPipeline, name, ...changes };
}

/** The kickstart config (secret NAMES and all) with one pipeline per health and overlap case. */
export const CONFIG: TapestryConfig = parseConfig({
  ...KICKSTART,
  pipelines: [
    kickstartPipeline, // 5 succeeded runs -> healthy; overlap skip, no lock: a manual run is accepted
    like("failing-audience"), // succeeded, then failed -> failing
    like("running-audience"), // a run going, holding the lock, overlap skip -> running, manual run 409
    like("fresh-audience"), // no run -> never-run
    like("paused-audience", { schedule: { ...kickstartPipeline.schedule, enabled: false } }), // -> paused
    like("queued-audience", { overlap: "queue" }), // a run going, holding the lock, overlap queue -> 202
    like("skipped-audience"), // succeeded, then a skipped fire -> healthy (skipped runs do not count)
    like("locked-out-audience"), // dbt Cloud refused its token: the step's error names the secret
  ],
});

/** The browser origin the tests' deployment allows (CORS); locally there is none. */
export const ALLOWED_ORIGIN = "https://ops.example.com";

export const SECRET_NAMES = [
  "AIRBYTE_CLIENT_ID",
  "AIRBYTE_CLIENT_SECRET",
  "DBT_CLOUD_TOKEN",
  "GROUPAROO_API_KEY",
];

export function spec(name: string): PipelineSpec {
  const found = CONFIG.pipelines.find((p) => p.name === name);
  if (!found) throw new Error(`no pipeline ${name} in the test config`);
  return found;
}

/** The webhook routes' secrets, by the names the kickstart config gives them. */
export const WEBHOOK_SECRETS = {
  AIRBYTE_WEBHOOK_SECRET: "airbyte-url-secret-7Qm2Zr8Kd4",
  DBT_CLOUD_WEBHOOK_SECRET: "dbt-hmac-key-N5vW9xLp3T",
} as const;

/** The value of DBT_CLOUD_TOKEN in the locked-out run: it must never reach an answer. */
export const DBT_TOKEN_VALUE = "dbtc_Zq3LrT9vX1wYpK7m";

export interface Seeded {
  /** rain-shield-audience's runs, newest first */
  kickstartRuns: string[];
  failingRunId: string;
  runningRunId: string;
  queuedActiveRunId: string;
  skippedRunId: string;
  lockedOutRunId: string;
}

export async function seed(ledger: RunLedger): Promise<Seeded> {
  const record = async (run: { runId: string; events: readonly Parameters<RunLedger["record"]>[0][] }) => {
    for (const event of run.events) await ledger.record(event);
    return run.runId;
  };
  /** A run of `pipeline` started today and still going, holding its pipeline's lock for an hour. */
  const runHoldingItsLock = async (pipeline: string) => {
    const runId = await record(scheduledRun(spec(pipeline), day(0), "running"));
    await ledger.acquireRunLock({
      pipeline,
      runId,
      expiresAt: new Date(NOW.getTime() + 3_600_000).toISOString(),
      now: NOW.toISOString(),
    });
    return runId;
  };
  const kickstartRuns: string[] = [];
  for (let n = 5; n >= 1; n--)
    kickstartRuns.unshift(await record(scheduledRun(spec("rain-shield-audience"), day(n), "succeeded")));

  await record(scheduledRun(spec("failing-audience"), day(2), "succeeded"));
  const failingRunId = await record(scheduledRun(spec("failing-audience"), day(1), "failed"));

  const runningRunId = await runHoldingItsLock("running-audience");

  await record(scheduledRun(spec("paused-audience"), day(3), "succeeded"));

  const queuedActiveRunId = await runHoldingItsLock("queued-audience");

  const skippedActive = await record(scheduledRun(spec("skipped-audience"), day(1), "succeeded"));
  const skippedRunId = await record(skippedRun(spec("skipped-audience"), day(1, 7), skippedActive));

  const lockedOutRunId = await record(await lockedOutRun(spec("locked-out-audience"), day(1)));

  return { kickstartRuns, failingRunId, runningRunId, queuedActiveRunId, skippedRunId, lockedOutRunId };
}

/**
 * A run whose dbt Cloud step was refused: the real connector, holding the token's value, triggers
 * against a server that answers 401 and echoes the Authorization header back (as a badly behaved
 * proxy might); the step's error is what the state machine records (StepErrored).
 */
async function lockedOutRun(pipeline: PipelineSpec, start: Date): Promise<RunEvents> {
  const stub = await startStubServer([
    (call, res) =>
      res
        .writeHead(401, { "content-type": "application/json" })
        .end(
          JSON.stringify({ status: { code: 401 }, detail: `bad credentials: ${call.headers.authorization}` }),
        ),
  ]);
  const transform = pipeline.stages.find((s) => s.name === "transform");
  const step = transform?.steps[0] as DbtCloudStep;
  let failure: Error | undefined;
  try {
    const connector = await createDbtCloudConnector(
      {
        baseUrl: stub.url,
        tokenSecret: "DBT_CLOUD_TOKEN",
        requestTimeoutSeconds: 5,
        webhook: { hmacKeySecret: "DBT_CLOUD_WEBHOOK_SECRET" },
      },
      { secrets: async () => DBT_TOKEN_VALUE },
    );
    await connector.start(step, { pipeline: pipeline.name, runId: "x", deadline: Date.now() + 30_000 });
  } catch (error) {
    failure = error as Error;
  } finally {
    await stub.close();
  }
  if (!failure) throw new Error("the stub was expected to refuse the token");
  const error = describeTaskError({ Error: failure.name, Cause: failure.message });
  const runId = scheduledRunId(pipeline.name, start);
  const at = (s: number) => ({ pipeline: pipeline.name, now: new Date(start.getTime() + s * 1000) });
  const time = (s: number) => new Date(start.getTime() + s * 1000).toISOString();
  return {
    runId,
    events: [
      createEvent(
        "PipelineRunStarted",
        { runId, trigger: { kind: "schedule", scheduledTime: time(0) }, stages: plan(pipeline) },
        at(0),
      ),
      createEvent(
        "StepFailed",
        {
          runId,
          stage: "transform",
          step: step.name,
          tool: "dbt-cloud",
          reason: "error",
          error,
          endedAt: time(2),
        },
        at(2),
      ),
      createEvent(
        "PipelineRunFailed",
        {
          runId,
          startedAt: time(0),
          endedAt: time(3),
          durationMs: 3000,
          failedSteps: [step.name],
          error: `step ${step.name} failed: ${error}`,
        },
        at(3),
      ),
    ],
  };
}

/** Records the runs the API starts; `failNext` makes the next start throw. */
export class FakeRunController {
  readonly started: { pipeline: PipelineSpec; runId: string; trigger: RunTrigger }[] = [];
  readonly stopped: string[] = [];
  failNext: Error | undefined;

  async start(pipeline: PipelineSpec, runId: string, trigger: RunTrigger): Promise<void> {
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    this.started.push({ pipeline, runId, trigger });
  }

  async stop(runId: string): Promise<void> {
    this.stopped.push(runId);
  }
}

/** The bus, as the status API publishes on it: what it got, in order. */
export class FakeBus {
  readonly published: TapestryEvent[] = [];

  async publish(events: readonly TapestryEvent[]): Promise<void> {
    this.published.push(...events);
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected freely
  json: any;
}

export interface ApiUnderTest {
  server: ApiServer;
  /** the handler itself, for what only API Gateway can send it (the local server guards its door) */
  handler: StatusApiHandler;
  ledger: SqliteRunLedger;
  alerts: SqliteAlertStore;
  seededAlerts: SeededAlerts;
  runs: FakeRunController;
  bus: FakeBus;
  seeded: Seeded;
  /** the provisioning runs (one seeded: a run that succeeded) */
  provisioningRuns: SqliteProvisioningStore;
  /** the provisioning runs POST /provisioning started, by id */
  provisioningStarts: string[];
  /** the deprovisioning runs DELETE /provisioning started: `<runId> purge=<bool>` */
  deprovisionStarts: string[];
  /** every answer so far, for the whole-suite checks */
  replies: (Reply & { method: string; path: string })[];
  /** sends a request and checks the answer against the OpenAPI file */
  call(
    method: string,
    path: string,
    init?: { body?: string; headers?: Record<string, string> },
  ): Promise<Reply>;
  close(): Promise<void>;
}

/** One provisioning run that succeeded before the API started (its lock freed). */
async function seedProvisioning(store: SqliteProvisioningStore): Promise<void> {
  const startedAt = new Date(NOW.getTime() - 3_600_000).toISOString();
  const record = newRunRecord("provision-01M7YX2KPAGR0A6P46956VKQW9", "api", startedAt, [
    "validate",
    "bootstrap-warehouse",
    "ensure-airbyte",
    "record-outputs",
  ]);
  await store.begin(record, NOW.toISOString());
  for (const event of provisioningRunEvents(new Date(startedAt)).filter(
    (e) => e.detail.data.runId === record.runId,
  )) {
    const current = await store.getRun(record.runId);
    if (current) await store.save(applyProvisioningEvent(current, event));
  }
  await store.release(record.runId);
}

export async function startApiUnderTest(
  options: { corsAllowOrigins?: readonly string[] } = {},
): Promise<ApiUnderTest> {
  const ledger = SqliteRunLedger.open(":memory:");
  const seeded = await seed(ledger);
  const alerts = SqliteAlertStore.open(":memory:");
  const seededAlerts = await seedAlerts(alerts, seeded);
  const runs = new FakeRunController();
  const bus = new FakeBus();
  const provisioningRuns = SqliteProvisioningStore.open(":memory:", { now: () => NOW });
  await seedProvisioning(provisioningRuns);
  const provisioningStarts: string[] = [];
  const deprovisionStarts: string[] = [];
  const stackRecords = SqliteToolStackRecords.open(":memory:");
  const handler = createStatusApiHandler({
    config: CONFIG,
    ledger,
    alerts,
    runs,
    bus,
    now: () => NOW,
    nextFireTime: (pipeline, after) => nextFireTime(pipeline.schedule, after),
    logger: silentLogger,
    ...(options.corsAllowOrigins ? { corsAllowOrigins: options.corsAllowOrigins } : {}),
    provisioning: {
      runs: provisioningRuns,
      starter: { start: async (input) => void provisioningStarts.push(input.runId) },
      deprovisionStarter: {
        start: async (input) => void deprovisionStarts.push(`${input.runId} purge=${input.purge}`),
      },
      stacks: { records: stackRecords, stackNameOf: (tool) => `tapestry-test-${tool}` },
    },
  });
  // the webhook routes, as the embedded control plane serves them beside the status API
  const tokens = SqliteTaskTokenStore.open(":memory:");
  const webhooks = createWebhookApiHandler({
    pipeline: {
      connectors: {
        start: async () => Promise.reject(new Error("no job starts here")),
        poll: async () => ({ state: "succeeded", toolStatus: "succeeded", rows: 1 }),
        cancel: async () => Promise.reject(new Error("no job is cancelled here")),
      },
      publisher: bus,
      now: () => NOW,
      logger: silentLogger,
    },
    tokens,
    tasks: { sendTaskSuccess: async () => "closed" },
    tools: CONFIG.tools,
    secrets: async (name) => WEBHOOK_SECRETS[name as keyof typeof WEBHOOK_SECRETS] ?? "",
    logger: silentLogger,
  });
  const server = await startApiServer({ handler: withWebhookRoutes(handler, webhooks), port: 0 });
  const replies: ApiUnderTest["replies"] = [];
  return {
    server,
    handler,
    ledger,
    alerts,
    seededAlerts,
    runs,
    bus,
    seeded,
    replies,
    provisioningRuns,
    provisioningStarts,
    deprovisionStarts,
    async call(method, path, init = {}) {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: init.headers,
        body: init.body,
      });
      const text = await response.text();
      const headers = Object.fromEntries(response.headers.entries());
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const reply: Reply = { status: response.status, headers, text, json };
      replies.push({ ...reply, method, path });
      expect(checkAnswer({ method, path, status: response.status, headers, body: text })).toEqual([]);
      return reply;
    },
    async close() {
      await server.close();
      ledger.close();
      provisioningRuns.close();
      stackRecords.close();
      alerts.close();
      tokens.close();
    },
  };
}

export interface SeededAlerts {
  /** failing-audience's failed run: open */
  openIncidentId: string;
  /** rain-shield-audience's zoom step below its floor, two days ago: resolved the next day */
  resolvedIncidentId: string;
}

/** One open incident (the failing pipeline's failed run) and one resolved (a floor not met, then met). */
async function seedAlerts(store: SqliteAlertStore, seeded: Seeded): Promise<SeededAlerts> {
  const floor = {
    pipeline: "rain-shield-audience",
    rule: "rows-below-minimum" as const,
    stage: "ingest",
    step: "zoom-webinar-registrants",
    threshold: 1,
    unit: "rows" as const,
  };
  const resolvedIncidentId = "01JXSEED000000000000000001";
  await store.open({
    incidentId: resolvedIncidentId,
    cause: seeded.kickstartRuns[1] ?? "",
    verdict: {
      ...floor,
      breaching: true,
      figure: 0,
      summary: "ingest/zoom-webinar-registrants (airbyte) moved 0 rows, below its minimum of 1",
      at: day(2, 7).toISOString(),
      runId: seeded.kickstartRuns[1],
    },
  });
  await store.resolve({
    cause: seeded.kickstartRuns[0] ?? "",
    verdict: {
      ...floor,
      breaching: false,
      figure: 40,
      summary: "ingest/zoom-webinar-registrants (airbyte) moved 40 rows, at least its minimum of 1",
      at: day(1, 7).toISOString(),
      runId: seeded.kickstartRuns[0],
    },
  });
  const openIncidentId = "01JXSEED000000000000000002";
  await store.open({
    incidentId: openIncidentId,
    cause: seeded.failingRunId,
    verdict: {
      pipeline: "failing-audience",
      rule: "run-failed",
      stage: "ingest",
      step: "zoom-webinar-registrants",
      breaching: true,
      figure: 1,
      threshold: 0,
      unit: "runs",
      summary: `Run ${seeded.failingRunId} failed: ingest/zoom-webinar-registrants (airbyte) failed`,
      error: "Airbyte job 7 failed",
      at: day(1, 7).toISOString(),
      runId: seeded.failingRunId,
    },
  });
  return { openIncidentId, resolvedIncidentId };
}
