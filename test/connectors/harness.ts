import {
  type AirbyteStep,
  type AirbyteToolConfig,
  createAirbyteConnector,
  createDbtCloudConnector,
  createGrouparooConnector,
  type DbtCloudStep,
  type DbtCloudToolConfig,
  type GrouparooStep,
  type GrouparooToolConfig,
  type JobStatus,
  type Logger,
  type RetryPolicy,
  type StepConnector,
  type StepSpec,
} from "@tapestry/core";
import {
  type AirbyteSandbox,
  type DbtCloudSandbox,
  type GrouparooSandbox,
  type JobRunner,
  parseScenario,
  startAirbyteSandbox,
  startDbtCloudSandbox,
  startGrouparooSandbox,
} from "@tapestry/local/sandboxes";
import { afterEach } from "vitest";

/**
 * Canary credentials: real-looking values that must never show up in an error, a log line or a
 * value a connector returns. Each is long and distinctive, so a leak cannot hide.
 */
export const CANARY = {
  airbyteClientId: "canary-client-id-3f9e2b7c41d8",
  airbyteClientSecret: "canary-client-secret-8b1d4e6f27a9c053",
  dbtToken: "dbtc_canary_token_5e7a9c1b3d2f4e6a",
  grouparooKey: "canary-grouparoo-key-0d2c4b6a8f9e",
} as const;

export const ALL_CANARIES: readonly string[] = Object.values(CANARY);

/** Short lifecycles so a whole job takes a fraction of a second. */
export const FAST = { queuedMs: 20, durationMs: 80 } as const;

/** Quick backoff for tests; delays are recorded, and waited only in part (see sleeps). */
const TEST_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 5000 };

export interface Recorder {
  readonly logger: Logger;
  readonly lines: string[];
  /** every delay the HTTP client asked for, in ms */
  readonly sleeps: number[];
  readonly sleep: (ms: number) => Promise<void>;
}

export function recorder(): Recorder {
  const lines: string[] = [];
  const sleeps: number[] = [];
  const line = (level: string) => (message: string, attributes?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(attributes ?? {})}`);
  };
  return {
    logger: { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") },
    lines,
    sleeps,
    // Retry-After is honoured as asked, but the test does not sit through whole seconds of it.
    sleep: async (ms) => {
      sleeps.push(ms);
      await new Promise((resolve) => setTimeout(resolve, Math.min(ms, 25)));
    },
  };
}

const secretStore: Record<string, string> = {
  AIRBYTE_CLIENT_ID: CANARY.airbyteClientId,
  AIRBYTE_CLIENT_SECRET: CANARY.airbyteClientSecret,
  DBT_CLOUD_TOKEN: CANARY.dbtToken,
  GROUPAROO_API_KEY: CANARY.grouparooKey,
};

const readSecret = async (name: string): Promise<string> => {
  const value = secretStore[name];
  if (value === undefined) throw new Error(`no secret ${name}`);
  return value;
};

function deps(rec: Recorder) {
  return { secrets: readSecret, logger: rec.logger, retry: TEST_RETRY, random: () => 0.5, sleep: rec.sleep };
}

/** What a task handler gives each call: the Lambda's 120 s less the 10 s margin, from when the call is made. */
const withBudget = <T extends object>(fields: T): T & { readonly deadline: number } =>
  Object.defineProperty({ ...fields }, "deadline", {
    get: () => Date.now() + 110_000,
    enumerable: true,
  }) as T & { readonly deadline: number };

/** The bound of one poll or cancel. */
export const call = withBudget({});

/** A start's context. */
export const context = withBudget({ pipeline: "rain-shield-audience", runId: "01JDQ7ZKX4T9E8W2M5R3B6N1CY" });

const stepDefaults = { timeoutMinutes: 5, pollIntervalSeconds: 1 };

export const ZOOM_CONNECTION = "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11";

export function airbyteStep(overrides: Partial<AirbyteStep> = {}): AirbyteStep {
  return {
    ...stepDefaults,
    name: "zoom-webinar-registrants",
    tool: "airbyte",
    connectionId: ZOOM_CONNECTION,
    completion: "poll",
    fallbackPollSeconds: 300,
    ...overrides,
  };
}

export function dbtStep(overrides: Partial<DbtCloudStep> = {}): DbtCloudStep {
  return {
    ...stepDefaults,
    name: "email-model",
    tool: "dbt-cloud",
    accountId: 70403,
    jobId: 917,
    attachToInFlightRun: true,
    completion: "poll",
    fallbackPollSeconds: 300,
    ...overrides,
  };
}

export function grouparooStep(overrides: Partial<GrouparooStep> = {}): GrouparooStep {
  return {
    ...stepDefaults,
    name: "mailchimp-audience",
    tool: "grouparoo",
    scheduleId: "sch_mailchimp_audience",
    completion: "poll",
    allowPartialSuccess: false,
    ...overrides,
  };
}

export interface Rig<S extends StepSpec, X> {
  connector: StepConnector<S>;
  sandbox: X;
  rec: Recorder;
  close(): Promise<void>;
}

type Section = Record<string, unknown>;

/** Tracks what a test opens (a rig, a sandbox), and closes all of it after the test. */
export function closingAfterEach(): <R extends { close(): Promise<void> }>(
  opening: Promise<R>,
) => Promise<R> {
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((each) => each.close()));
  });
  return async (opening) => {
    const each = await opening;
    opened.push(each);
    return each;
  };
}

/** `open`, with every rig it opens closed after the test that opened it. */
export function closedAfterEach<A extends unknown[], R extends { close(): Promise<void> }>(
  open: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  const track = closingAfterEach();
  return (...args) => track(open(...args));
}

/** Airbyte sandbox with client-credentials auth (the canaries) and a connector pointed at it. */
export async function airbyteRig(
  section: Section = {},
  config: Partial<AirbyteToolConfig> = {},
): Promise<Rig<AirbyteStep, AirbyteSandbox>> {
  const sandbox = await startAirbyteSandbox({
    scenario: parseScenario({
      airbyte: {
        defaults: FAST,
        auth: {
          kind: "client-credentials",
          clientId: CANARY.airbyteClientId,
          clientSecret: CANARY.airbyteClientSecret,
        },
        ...section,
      },
    }).airbyte,
  });
  const rec = recorder();
  const connector = await createAirbyteConnector(
    {
      baseUrl: sandbox.baseUrl,
      requestTimeoutSeconds: 1,
      auth: {
        kind: "client-credentials",
        clientIdSecret: "AIRBYTE_CLIENT_ID",
        clientSecretSecret: "AIRBYTE_CLIENT_SECRET",
      },
      webhook: { urlSecret: "AIRBYTE_WEBHOOK_SECRET" },
      ...config,
    },
    deps(rec),
  );
  return { connector, sandbox, rec, close: () => sandbox.close() };
}

export async function dbtRig(
  section: Section = {},
  config: Partial<DbtCloudToolConfig> = {},
  runner?: JobRunner,
): Promise<Rig<DbtCloudStep, DbtCloudSandbox>> {
  const sandbox = await startDbtCloudSandbox({
    scenario: parseScenario({
      "dbt-cloud": { defaults: FAST, auth: { kind: "token", token: CANARY.dbtToken }, ...section },
    })["dbt-cloud"],
    runner,
  });
  const rec = recorder();
  const connector = await createDbtCloudConnector(
    {
      baseUrl: sandbox.baseUrl,
      requestTimeoutSeconds: 1,
      tokenSecret: "DBT_CLOUD_TOKEN",
      webhook: { hmacKeySecret: "DBT_CLOUD_WEBHOOK_SECRET" },
      ...config,
    },
    deps(rec),
  );
  return { connector, sandbox, rec, close: () => sandbox.close() };
}

export async function grouparooRig(
  section: Section = {},
  config: Partial<GrouparooToolConfig> = {},
): Promise<Rig<GrouparooStep, GrouparooSandbox>> {
  const sandbox = await startGrouparooSandbox({
    scenario: parseScenario({
      grouparoo: { defaults: FAST, auth: { kind: "api-key", apiKey: CANARY.grouparooKey }, ...section },
    }).grouparoo,
  });
  const rec = recorder();
  const connector = await createGrouparooConnector(
    { baseUrl: sandbox.baseUrl, requestTimeoutSeconds: 1, apiKeySecret: "GROUPAROO_API_KEY", ...config },
    deps(rec),
  );
  return { connector, sandbox, rec, close: () => sandbox.close() };
}

/** Polls a job until it ends (or `maxMs` passes), as the state machine's poll loop would. */
export async function pollToEnd<S extends StepSpec>(
  connector: StepConnector<S>,
  step: S,
  externalId: string,
  options: { intervalMs?: number; maxMs?: number } = {},
): Promise<{ final: JobStatus; seen: string[] }> {
  const deadline = Date.now() + (options.maxMs ?? 5000);
  const seen: string[] = [];
  for (;;) {
    const status = await connector.poll(step, externalId, call);
    if (seen.at(-1) !== status.toolStatus) seen.push(status.toolStatus);
    if (status.state !== "running" || Date.now() > deadline) return { final: status, seen };
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 15));
  }
}

/** Everything a user could ever see of an error, as one string. */
export function everythingIn(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    if (current instanceof Error) {
      parts.push(current.name, current.message, current.stack ?? "", JSON.stringify({ ...current }));
      current = current.cause;
    } else {
      parts.push(JSON.stringify(current) ?? String(current));
      current = undefined;
    }
  }
  return parts.join("\n");
}

export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}
