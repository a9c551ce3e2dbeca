/**
 * Shared by the tests of the deployed entry points (functions/aws): each test sets the
 * environment and the bundled config the way the stacks do, then imports the entry afresh (its
 * adapters are built once per module instance, as once per Lambda container), with its AWS
 * clients mocked by aws-sdk-client-mock (or, for a ledger that must behave as DynamoDB does, the
 * DynamoDB emulator of test/support on 127.0.0.1). Nothing leaves the machine.
 */
import { randomUUID } from "node:crypto";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";
import {
  type DbtCloudStep,
  parseConfig,
  type TapestryConfig,
  type TapestryConfigInput,
} from "@tapestry/core/config";
import type { TapestryEvent } from "@tapestry/core/events";
import { type DbtCloudSandbox, parseScenario, startDbtCloudSandbox } from "@tapestry/local/sandboxes";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import type { AwsClientStub } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeEach, vi } from "vitest";
import kickstart from "../../tapestry.config";

export const STAGE = "test";
export const REGION = "us-east-1";
export const ACCOUNT = "123456789012";
export const LEDGER_TABLE_NAME = "tapestry-test-ledger";
export const EVENT_BUS_NAME = "tapestry-test";
export const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:tapestry-test-pipeline-run`;

/** The variables the stacks set on every function, and the ones each function reads. */
export const BASE_ENV = {
  TAPESTRY_STAGE: STAGE,
  POWERTOOLS_SERVICE_NAME: "tapestry-test",
  POWERTOOLS_METRICS_NAMESPACE: "Tapestry",
  POWERTOOLS_LOG_LEVEL: "SILENT",
  // No CloudWatch here: Powertools' own switch keeps EMF lines off the test output.
  POWERTOOLS_METRICS_DISABLED: "true",
  // Fake credentials and a region, so no SDK client ever looks further (instance metadata, files).
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
  AWS_SECRET_ACCESS_KEY: "test-secret-not-a-real-one",
  AWS_EC2_METADATA_DISABLED: "true",
} as const;

export const FULL_ENV = {
  ...BASE_ENV,
  TAPESTRY_LEDGER_TABLE: LEDGER_TABLE_NAME,
  TAPESTRY_EVENT_BUS: EVENT_BUS_NAME,
  TAPESTRY_STATE_MACHINE_ARN: STATE_MACHINE_ARN,
} as const;

export const KICKSTART: TapestryConfig = parseConfig(kickstart, "tapestry.config.ts");
export const PIPELINE = KICKSTART.pipelines[0] as TapestryConfig["pipelines"][number];

type Global = typeof globalThis & { __TAPESTRY_CONFIG__?: string };

const saved = { ...process.env };

/**
 * Sets the function's environment (replacing the AWS and Tapestry variables of the previous test)
 * and the bundled config, as esbuild's `define` would: the config's JSON text, or nothing.
 */
export function deploy(env: Readonly<Record<string, string>>, config?: TapestryConfigInput | null): void {
  for (const key of Object.keys(process.env)) {
    if (/^(TAPESTRY_|POWERTOOLS_|AWS_)/.test(key)) delete process.env[key];
  }
  Object.assign(process.env, env);
  const global = globalThis as Global;
  if (config === null) delete global.__TAPESTRY_CONFIG__;
  else global.__TAPESTRY_CONFIG__ = JSON.stringify(config ?? KICKSTART);
}

export function undeploy(): void {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  delete (globalThis as Global).__TAPESTRY_CONFIG__;
}

/** A Lambda entry as a cold start loads it: a fresh module graph, so nothing is shared with the last test. */
export async function coldStart<M>(load: () => Promise<M>): Promise<M> {
  vi.resetModules();
  return load();
}

export function lambdaContext(name: string): Context {
  const functionName = `tapestry-test-${name}`;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "2026/03/02/[$LATEST]0123456789abcdef",
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A catalog event as the bus delivers it to a rule's target: EventBridge's envelope around it. */
export function busDelivery(event: TapestryEvent): Record<string, unknown> {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": event["detail-type"],
    source: event.source,
    account: ACCOUNT,
    // EventBridge keeps the entry's Time, to the second
    time: `${event.detail.metadata.occurredAt.slice(0, 19)}Z`,
    region: REGION,
    resources: [],
    detail: event.detail,
  };
}

/** An API Gateway HTTP API (payload format 2.0) request, as the `$default` route hands it to the function. */
export function httpRequest(
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string>; pathParameters?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  const [rawPath = path, rawQueryString = ""] = path.split("?");
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers: { host: "abc123.execute-api.us-east-1.amazonaws.com", ...options.headers },
    ...(rawQueryString
      ? { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) }
      : {}),
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    requestContext: {
      accountId: ACCOUNT,
      apiId: "abc123",
      domainName: "abc123.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "abc123",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "vitest" },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: "02/Mar/2026:12:00:00 +0000",
      timeEpoch: Date.parse("2026-03-02T12:00:00Z"),
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: false,
  };
}

/**
 * The hooks every entry test file needs, registered once: its aws-sdk-client-mock stubs reset
 * before each test (before the file's own set-up) and restored after the file, and the function's
 * environment undeployed after each test.
 */
export function entryTestHooks(...stubs: readonly { reset(): unknown; restore(): unknown }[]): void {
  beforeEach(() => {
    for (const stub of stubs) stub.reset();
  });
  afterEach(() => undeploy());
  afterAll(() => {
    for (const stub of stubs) stub.restore();
  });
}

/** SSM answers the stage's parameter of secret `name` (a SecureString, read decrypted) with `value`. */
export function serveSecret(ssm: AwsClientStub<SSMClient>, name: string, value: string): void {
  const parameter = `/tapestry/${STAGE}/${name}`;
  ssm
    .on(GetParameterCommand, { Name: parameter, WithDecryption: true })
    .resolves({ Parameter: { Name: parameter, Type: "SecureString", Value: value } });
}

/** EventBridge takes every entry put on the bus. */
export function acceptEveryEvent(eventBridge: AwsClientStub<EventBridgeClient>): void {
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "eb-1" }] });
}

export interface DbtCloudBehindKickstart {
  readonly sandbox: DbtCloudSandbox;
  /** the kickstart config, its dbt Cloud endpoint pointed at the sandbox */
  readonly config: TapestryConfigInput;
  /** the kickstart's dbt Cloud step */
  readonly step: DbtCloudStep;
}

/** The dbt Cloud sandbox on 127.0.0.1, taking `token` (the secret DBT_CLOUD_TOKEN), behind the kickstart config. */
export async function startDbtCloudBehindKickstart(
  token: string,
  defaults: { readonly queuedMs: number; readonly durationMs: number },
): Promise<DbtCloudBehindKickstart> {
  const sandbox = await startDbtCloudSandbox({
    scenario: parseScenario({ "dbt-cloud": { defaults, auth: { kind: "token", token } } })["dbt-cloud"],
  });
  const config = {
    ...KICKSTART,
    tools: {
      ...KICKSTART.tools,
      "dbt-cloud": { baseUrl: sandbox.baseUrl, tokenSecret: "DBT_CLOUD_TOKEN", requestTimeoutSeconds: 5 },
    },
  };
  const step = parseConfig(config)
    .pipelines[0]?.stages.flatMap((s) => s.steps)
    .find((s) => s.tool === "dbt-cloud");
  if (step?.tool !== "dbt-cloud") throw new Error("the kickstart has no dbt Cloud step");
  return { sandbox, config, step };
}
