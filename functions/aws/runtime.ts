/**
 * The one edge module of the deployed functions that reads the environment (process.env and the
 * bundled tapestry config). Everything here is built on first use and kept for the life of the
 * container: a function needs exactly the variables and IAM permissions of the adapters its code
 * path touches, and nothing is read (nor any AWS client created) for an adapter it never uses.
 * A missing or malformed variable is an EnvironmentError naming it, raised on the invocation
 * that needs it, so it shows up by name in the Lambda's error and in Step Functions' history.
 *
 * Environment contract (set by the stacks):
 *   every function      POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL
 *                       (read by Powertools itself), TAPESTRY_STAGE
 *   TAPESTRY_STAGE              the SSM path of the tools' secrets: start/poll/cancel-step,
 *                               reconcile-run, await-webhook, webhook-receiver
 *   TAPESTRY_LEDGER_TABLE       the run ledger: run-lock, project-event, status-api, reconcile-run;
 *                               the task-token items beside it: await-webhook, webhook-receiver
 *   TAPESTRY_EVENT_BUS          the event bus, for every function that publishes: run-lock,
 *                               publish-event, start/poll/cancel-step, reconcile-run, status-api,
 *                               await-webhook, webhook-receiver
 *   TAPESTRY_STATE_MACHINE_ARN  the pipeline-run state machine: start-scheduled-run, status-api,
 *                               reconcile-run (await-webhook and webhook-receiver answer its task
 *                               tokens, which name it)
 *   TAPESTRY_PROVISION_STATE_MACHINE_ARN  the provision state machine: status-api
 *   TAPESTRY_GROUPAROO_CONFIG_BUCKET      the bucket of Grouparoo's config files: write-grouparoo-config
 * Provisioning (stacks/provisioning.ts): its runs are items of TAPESTRY_LEDGER_TABLE (`PROV#`), the
 * ids it records SSM parameters under /tapestry/<TAPESTRY_STAGE>/provisioning/airbyte/ (which
 * start/poll/cancel-step read to resolve a step's `connection`).
 *   TAPESTRY_STATUS_API_URL     the status API's base URL, for the run paths in Slack messages: notify-slack
 * (the alert functions: evaluate-alerts and check-freshness read the ledger and the bundled config,
 * write incidents beside the ledger and publish on the bus; notify-slack reads the Slack webhook's
 * secret and records what it sent in the ledger's table; record-metrics only writes EMF to its log.)
 * (the status API records queued runs and cancel requests in the ledger and puts them on the bus.)
 * The tapestry config is not in the environment (Lambda's 4 KB limit): the stacks inline its JSON
 * at bundle time as the global identifier __TAPESTRY_CONFIG__ (esbuild `define`); start/poll/
 * cancel-step, await-webhook, webhook-receiver and reconcile-run read its tools (reconcile-run its
 * pipelines and `reconcile` too), status-api its pipelines, evaluate-alerts and check-freshness its
 * pipelines and `alerts`, notify-slack `alerts.slack`, and the others never read it.
 */

import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SSMClient } from "@aws-sdk/client-ssm";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  createSsmSecretReader,
  DynamoDbAlertStore,
  DynamoDbProvisioningRuns,
  DynamoDbRunLedger,
  DynamoDbTaskTokenStore,
  EventBridgePublisher,
  SsmPrivateKeyStore,
  SsmProvisionedObjects,
  StepFunctionsProvisioningStarter,
  StepFunctionsRunController,
  StepFunctionsTaskTokens,
  s3GrouparooSink,
  ssmConnectionIds,
} from "@tapestry/core/adapters/aws";
import { createSnowflakeConnect } from "@tapestry/core/adapters/snowflake";
import type { AlertServiceDeps, AlertStore, Notification } from "@tapestry/core/alerts";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { airbyteHttpClient, ConnectorRegistry, type SecretReader } from "@tapestry/core/connectors";
import { TapestryError } from "@tapestry/core/errors";
import type { EventPublisher } from "@tapestry/core/events";
import type { RunLedger } from "@tapestry/core/ledger";
import { DEPLOYMENT_STAGE_NAME } from "@tapestry/core/names";
import { DEFAULT_PIPELINE_SETTINGS } from "@tapestry/core/pipeline";
import {
  type BootstrapDeps,
  type EnsureAirbyteTaskDeps,
  type GrouparooTaskDeps,
  type ProvisioningDeps,
  ProvisioningInputError,
  type ProvisioningRuns,
} from "@tapestry/core/provisioning";
import { createWarehouseBootstrapper } from "@tapestry/core/provisioning/warehouse";
import { nextFireTime } from "@tapestry/core/schedule";
import type { RunController } from "@tapestry/core/status";
import type { CompletionDeps, TaskTokenStore } from "@tapestry/core/webhooks";
import { issuesText } from "@tapestry/core/zod-messages";
import { z } from "zod";
import type { EvaluateAlertsDeps, NotifySlackDeps, OnceByKey } from "../alerts";
import type { StatusApiDeps } from "../api/status-api";
import type { ReconcileRunDeps } from "../pipeline/reconcile-run";
import type { PipelineHandlerDeps } from "../pipeline/task-handler";
import { coreLogger } from "../powertools";
import type { AwaitWebhookHandlerDeps } from "../webhooks/await-webhook";
import type { WebhookApiDeps } from "../webhooks/webhook-api";

/** The tapestry config's JSON text, inlined by esbuild `define` at bundle time (tests set it on globalThis). */
declare const __TAPESTRY_CONFIG__: string | undefined;

/** The function was deployed without something it needs: a variable, or the bundled config. */
export class EnvironmentError extends TapestryError {
  override readonly name = "EnvironmentError";
}

const VARIABLES = {
  TAPESTRY_STAGE: {
    what: "the stage's name (its tools' secrets are the SSM parameters /tapestry/<stage>/<NAME>)",
    schema: z.string().regex(DEPLOYMENT_STAGE_NAME.pattern, {
      error: `expected a stage name: ${DEPLOYMENT_STAGE_NAME.rule}`,
    }),
  },
  TAPESTRY_LEDGER_TABLE: {
    what: "the name of the run ledger's DynamoDB table",
    schema: z.string().regex(/^[a-zA-Z0-9_.-]{3,255}$/, {
      error: "expected a DynamoDB table name: 3 to 255 letters, digits, '_', '-' and '.'",
    }),
  },
  TAPESTRY_EVENT_BUS: {
    what: "the name (or ARN) of the Tapestry event bus, tapestry-<stage>",
    schema: z
      .string()
      .regex(/^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[A-Za-z0-9._\-/]{1,256}$/, {
        error: "expected an event bus name or ARN",
      }),
  },
  TAPESTRY_STATUS_API_URL: {
    what: "the status API's base URL (https://<api>.execute-api.<region>.amazonaws.com), for the links of Slack messages",
    schema: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }),
  },
  TAPESTRY_STATE_MACHINE_ARN: {
    what: "the ARN of the pipeline-run state machine",
    schema: z.string().regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, {
      error: "expected a state machine ARN, arn:aws:states:<region>:<account>:stateMachine:<name>",
    }),
  },
  TAPESTRY_PROVISION_STATE_MACHINE_ARN: {
    what: "the ARN of the provision state machine",
    schema: z.string().regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, {
      error: "expected a state machine ARN, arn:aws:states:<region>:<account>:stateMachine:<name>",
    }),
  },
  TAPESTRY_GROUPAROO_CONFIG_BUCKET: {
    what: "the name of the S3 bucket Grouparoo's config files are written to",
    schema: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
      error: "expected an S3 bucket name: 3 to 63 lower-case letters, digits, '.' and '-'",
    }),
  },
} as const;

export type VariableName = keyof typeof VARIABLES;

/** One variable of the contract, checked; EnvironmentError naming it when it is missing or malformed. */
export function env(name: VariableName): string {
  const { what, schema } = VARIABLES[name];
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") {
    throw new EnvironmentError(
      `environment variable ${name} is not set: this function needs ${what}; the stack that deploys it sets it`,
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new EnvironmentError(
      `environment variable ${name} is invalid (${issuesText(parsed.error.issues, { root: "" })}): it should hold ${what}`,
    );
  }
  return parsed.data;
}

/** Built on the first call, kept after that; a failed build is not kept (the next call tries again). */
function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}

/** The validated tapestry config the stacks bundled in; parsed on first use. */
export const tapestryConfig = once((): TapestryConfig => {
  if (typeof __TAPESTRY_CONFIG__ !== "string") {
    throw new EnvironmentError(
      "the tapestry config was not bundled into this function: its stack must build it with esbuild `define: { __TAPESTRY_CONFIG__: JSON.stringify(JSON.stringify(config)) }`",
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(__TAPESTRY_CONFIG__);
  } catch (error) {
    throw new EnvironmentError("the bundled tapestry config (__TAPESTRY_CONFIG__) is not JSON", {
      cause: error,
    });
  }
  // checked against the clock at deploy time: a schedule that has ended since must not stop the steps
  return parseConfig(json, "the bundled tapestry config (__TAPESTRY_CONFIG__)", {
    judgeSchedulesAgainstClock: false,
  });
});

// Powertools reads POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL and POWERTOOLS_METRICS_NAMESPACE itself.
export const logger = once(() => new Logger());
// Metrics' own warnings (e.g. an invocation that added no metric) go through the function's logger:
// structured, with the Lambda context, and held back by POWERTOOLS_LOG_LEVEL like every other line.
export const metrics = once(() => new Metrics({ logger: logger() }));

// One client per container, default credential and region chain (the Lambda's role and region).
const dynamoClient = once(() => new DynamoDBClient({}));
const documentClient = once(() => DynamoDBDocumentClient.from(dynamoClient()));
const eventBridgeClient = once(() => new EventBridgeClient({}));
const sfnClient = once(() => new SFNClient({}));
const ssmClient = once(() => new SSMClient({}));

export const runLedger = once(
  (): RunLedger =>
    new DynamoDbRunLedger({ client: documentClient(), tableName: env("TAPESTRY_LEDGER_TABLE") }),
);

export const eventPublisher = once(
  (): EventPublisher =>
    new EventBridgePublisher({ client: eventBridgeClient(), eventBusName: env("TAPESTRY_EVENT_BUS") }),
);

export const runController = once(
  () =>
    new StepFunctionsRunController({
      client: sfnClient(),
      stateMachineArn: env("TAPESTRY_STATE_MACHINE_ARN"),
    }),
);

/** The stage's secrets in SSM (/tapestry/<stage>/<NAME>), read through Powertools Parameters (cached). */
const ssmSecrets = once((): SecretReader => createSsmSecretReader({ stage: env("TAPESTRY_STAGE") }));

/**
 * Provisioning reads its secrets afresh (no cache): the loader's private key it hands to Airbyte
 * may have been rotated by the bootstrap a moment before, in another function of the same run.
 */
const freshSecretReader = once(() =>
  createSsmSecretReader({ stage: env("TAPESTRY_STAGE"), maxAgeSeconds: 0 }),
);

/** The ids provisioning recorded (SSM parameters under the stage's path). */
const provisionedObjects = once(
  () => new SsmProvisionedObjects({ client: ssmClient(), stage: env("TAPESTRY_STAGE") }),
);

/**
 * The configured tools' connectors; each tool's secrets are read from SSM when a step of it first
 * runs, and a step's `connection` name is resolved from what provisioning recorded.
 */
export const connectors = once(
  () =>
    new ConnectorRegistry(tapestryConfig().tools, {
      secrets: ssmSecrets(),
      logger: coreLogger(logger()),
      connectionIds: ssmConnectionIds({
        get: async (kind, name) => provisionedObjects().get(kind, name),
      }),
    }),
);

/** The provision state machine, started (and asked about) by the status API. */
const provisioningStarter = once(
  () =>
    new StepFunctionsProvisioningStarter({
      client: sfnClient(),
      stateMachineArn: env("TAPESTRY_PROVISION_STATE_MACHINE_ARN"),
    }),
);

/** Provisioning's runs and lock, in the ledger's table under `PROV#`. */
const provisioningRuns = once(
  (): ProvisioningRuns =>
    new DynamoDbProvisioningRuns({ client: documentClient(), tableName: env("TAPESTRY_LEDGER_TABLE") }),
);

/** Forwarding calls: a provision task builds only the adapters its code path uses. */
const deferredProvisioningRuns: ProvisioningRuns = {
  begin: async (record, expiresAt) => provisioningRuns().begin(record, expiresAt),
  save: async (record) => provisioningRuns().save(record),
  release: async (runId) => provisioningRuns().release(runId),
  getRun: async (runId) => provisioningRuns().getRun(runId),
  last: async () => provisioningRuns().last(),
};

/** What every task of the provision state machine reads: the bundled config, its runs, the bus. */
export function provisioningDeps(): ProvisioningDeps {
  return {
    config: tapestryConfig(),
    runs: deferredProvisioningRuns,
    publisher: { publish: async (events) => eventPublisher().publish(events) },
    now: () => new Date(),
    logger: coreLogger(logger()),
  };
}

/** BootstrapWarehouse: prov-warehouse's bootstrapper over snowflake-promise, the keys in SSM. */
export function bootstrapWarehouseDeps(): BootstrapDeps {
  return {
    ...provisioningDeps(),
    bootstrapper: () => {
      const warehouse = tapestryConfig().warehouse;
      if (!warehouse) throw new ProvisioningInputError("the config has no warehouse section to bootstrap");
      const keys = new SsmPrivateKeyStore({ client: ssmClient(), stage: env("TAPESTRY_STAGE") });
      return createWarehouseBootstrapper(warehouse, {
        connect: createSnowflakeConnect(),
        secrets: (name) => keys.readRequired(name),
        keys,
        logger: coreLogger(logger()),
      });
    },
  };
}

/** EnsureAirbyteObjects: Airbyte's public API with the configured auth, the ids in SSM. */
export function ensureAirbyteDeps(): EnsureAirbyteTaskDeps {
  return {
    ...provisioningDeps(),
    objects: {
      get: async (kind, name) => provisionedObjects().get(kind, name),
      put: async (object) => provisionedObjects().put(object),
      list: async () => provisionedObjects().list(),
    },
    secrets: async (name) => freshSecretReader()(name),
    airbyte: (deps) => {
      const airbyte = tapestryConfig().tools.airbyte;
      if (!airbyte)
        throw new ProvisioningInputError(
          "the airbyte section needs tools.airbyte: its endpoint and secret names",
        );
      return airbyteHttpClient(airbyte, { ...deps, logger: coreLogger(logger()) });
    },
  };
}

/** The prefix of Grouparoo's files in their bucket (issue 11's Grouparoo tasks copy it). */
export const GROUPAROO_CONFIG_PREFIX = "grouparoo/";

/** WriteGrouparooConfig: the files as objects of the Provisioning stack's bucket. */
export function writeGrouparooConfigDeps(): GrouparooTaskDeps {
  return {
    ...provisioningDeps(),
    sink: s3GrouparooSink({
      bucket: env("TAPESTRY_GROUPAROO_CONFIG_BUCKET"),
      prefix: GROUPAROO_CONFIG_PREFIX,
    }),
  };
}

/** Where steps' task tokens wait for their jobs' webhooks: TOKEN# items in the ledger's table. */
export const taskTokenStore = once(
  (): TaskTokenStore =>
    new DynamoDbTaskTokenStore({ client: documentClient(), tableName: env("TAPESTRY_LEDGER_TABLE") }),
);

/** SendTaskSuccess on the pipeline-run state machine's waiting tasks. */
export const taskTokenSender = once(() => new StepFunctionsTaskTokens({ client: sfnClient() }));

/** The token store and Step Functions, each built when first used. */
function webhookCompletion(): Pick<CompletionDeps, "tokens" | "tasks"> {
  return {
    tokens: {
      register: async (key, registration) => taskTokenStore().register(key, registration),
      recordDelivery: async (key, now) => taskTokenStore().recordDelivery(key, now),
      claim: async (key, token, now, until) => taskTokenStore().claim(key, token, now, until),
      release: async (key, token) => taskTokenStore().release(key, token),
      complete: async (key, token) => taskTokenStore().complete(key, token),
    },
    tasks: { sendTaskSuccess: async (token, output) => taskTokenSender().sendTaskSuccess(token, output) },
  };
}

/**
 * What the five pipeline task functions are built from. Each adapter is reached through a
 * forwarding call, so a task builds only what its code path uses (run-lock never reads a secret,
 * start-step never touches the ledger).
 */
export function pipelineHandlerDeps(): PipelineHandlerDeps {
  return {
    core: {
      connectors: {
        start: async (step, context) => connectors().start(step, context),
        poll: async (step, externalId, call) => connectors().poll(step, externalId, call),
        cancel: async (step, externalId, call) => connectors().cancel(step, externalId, call),
      },
      publisher: { publish: async (events) => eventPublisher().publish(events) },
      ledger: {
        acquireRunLock: async (input) => runLedger().acquireRunLock(input),
        getRun: async (runId) => runLedger().getRun(runId),
        releaseRunLock: async (input) => runLedger().releaseRunLock(input),
      },
      now: () => new Date(),
      logger: coreLogger(logger()),
      settings: DEFAULT_PIPELINE_SETTINGS,
    },
    logger: logger(),
    metrics: metrics(),
  };
}

/** WaitForWebhook's task: the pipeline tasks' dependencies, the token store, SendTaskSuccess. */
export function awaitWebhookHandlerDeps(): AwaitWebhookHandlerDeps {
  return { ...pipelineHandlerDeps(), webhooks: webhookCompletion() };
}

/**
 * The webhook routes' receiver: the tools' secrets (the webhooks' own and the connectors', for the
 * confirming poll), the bundled tools config, the token store, the bus and SendTaskSuccess.
 */
export function webhookApiDeps(): WebhookApiDeps {
  const { core } = pipelineHandlerDeps();
  return {
    pipeline: { connectors: core.connectors, publisher: core.publisher, now: core.now, logger: core.logger },
    ...webhookCompletion(),
    tools: tapestryConfig().tools,
    secrets: async (name) => ssmSecrets()(name),
    logger: logger(),
  };
}

/** A run controller that builds the Step Functions one when a run is first started or stopped. */
export function deferredRunController(): RunController {
  return {
    start: async (pipeline, runId, trigger) => runController().start(pipeline, runId, trigger),
    stop: async (runId) => runController().stop(runId),
  };
}

/** The run reconciler's dependencies: the ledger, the bus, the tools' connectors, the bundled pipelines. */
export function reconcileRunDeps(): ReconcileRunDeps {
  return {
    reconcile: {
      ledger: {
        getRun: async (runId) => runLedger().getRun(runId),
        releaseRunLock: async (input) => runLedger().releaseRunLock(input),
      },
      publisher: { publish: async (events) => eventPublisher().publish(events) },
      connectors: { cancel: async (step, externalId, call) => connectors().cancel(step, externalId, call) },
      pipeline: (name) => tapestryConfig().pipelines.find((p) => p.name === name),
      now: () => new Date(),
      jobs: tapestryConfig().reconcile.jobs,
    },
    describeEnd: async (runId) => {
      const { error, cause } = await runController().ending(runId);
      return { ...(error ? { error } : {}), ...(cause ? { cause } : {}) };
    },
    executionGoing: async (runId) => (await runController().ending(runId)).status === "RUNNING",
    logger: logger(),
  };
}

/** The incidents, in the run ledger's table under ALERT# keys (core/adapters/aws/dynamodb-alert-store.ts). */
export const alertStore = once(
  (): AlertStore =>
    new DynamoDbAlertStore({ client: documentClient(), tableName: env("TAPESTRY_LEDGER_TABLE") }),
);

/**
 * The alert service of the evaluator and the freshness check: the bundled pipelines, the ledger
 * (read), the incidents, the bus. The rows anomaly rule is CloudWatch's on AWS (`anomaly: "alarm"`).
 */
export function alertServiceDeps(): Omit<AlertServiceDeps, "logger"> {
  return {
    config: tapestryConfig(),
    ledger: {
      listEvents: async (runId) => runLedger().listEvents(runId),
      listRuns: async (pipeline, page) => runLedger().listRuns(pipeline, page),
      latestRuns: async (pipelines) => runLedger().latestRuns(pipelines),
    },
    store: alertStore(),
    publisher: { publish: async (events) => eventPublisher().publish(events) },
    now: () => new Date(),
    anomaly: "alarm",
  };
}

export function evaluateAlertsDeps(): EvaluateAlertsDeps {
  return { service: alertServiceDeps, stage: () => env("TAPESTRY_STAGE"), logger: logger() };
}

/** Slack's webhook URL: the SSM SecureString the config's alerts.slack.webhookUrlSecret names, cached 5 minutes. */
const slackWebhookSecret = once(() => createSsmSecretReader({ stage: env("TAPESTRY_STAGE") }));

async function slackWebhookUrl(): Promise<string> {
  const name = tapestryConfig().alerts.slack?.webhookUrlSecret;
  if (name === undefined) {
    throw new EnvironmentError(
      "the bundled tapestry config names no Slack webhook (alerts.slack.webhookUrlSecret): the notifier is deployed only with one",
    );
  }
  return slackWebhookSecret()(name);
}

/** What the notifier has sent: Powertools Idempotency records in the ledger's table (`ALERT#NOTIFIED`), kept 7 days. */
const notificationRecords = once(
  () =>
    new DynamoDBPersistenceLayer({
      tableName: env("TAPESTRY_LEDGER_TABLE"),
      keyAttr: "pk",
      sortKeyAttr: "sk",
      staticPkValue: "ALERT#NOTIFIED",
      expiryAttr: "ttl",
      awsSdkV3Client: dynamoClient(),
    }),
);

/** Each notification key is delivered once: a redelivered event finds its record and posts nothing. */
export const onceByKey: OnceByKey = (deliver) => {
  const config = new IdempotencyConfig({ eventKeyJmesPath: "key", expiresAfterSeconds: 7 * 86_400 });
  const idempotent = once(() =>
    makeIdempotent(async (notification: Notification, deadline: number) => deliver(notification, deadline), {
      persistenceStore: notificationRecords(),
      config,
    }),
  );
  return async (notification, context, deadline) => {
    config.registerLambdaContext(context);
    return idempotent()(notification, deadline);
  };
};

export function notifySlackDeps(): NotifySlackDeps {
  return {
    webhookUrl: slackWebhookUrl,
    context: () => ({
      statusApiUrl: env("TAPESTRY_STATUS_API_URL").replace(/\/+$/, ""),
      stage: env("TAPESTRY_STAGE"),
      ...(process.env.AWS_REGION ? { region: process.env.AWS_REGION } : {}),
    }),
    once: onceByKey,
    logger: logger(),
  };
}

/** A ledger that only records, built when the first event arrives. */
export function deferredLedgerRecorder(): Pick<RunLedger, "record"> {
  return { record: async (event) => runLedger().record(event) };
}

/** The status API's dependencies: the bundled config's pipelines and CORS origins, the ledger, Step Functions for manual runs. */
export function statusApiDeps(): StatusApiDeps {
  return {
    config: tapestryConfig(),
    corsAllowOrigins: tapestryConfig().aws.statusApi.corsAllowOrigins,
    ledger: runLedger(),
    alerts: alertStore(),
    runs: deferredRunController(),
    bus: { publish: async (events) => eventPublisher().publish(events) },
    now: () => new Date(),
    nextFireTime: (pipeline, after) => nextFireTime(pipeline.schedule, after),
    logger: logger(),
    provisioning: {
      runs: deferredProvisioningRuns,
      starter: {
        start: async (input) => provisioningStarter().start(input),
        going: async (runId) => provisioningStarter().going(runId),
      },
    },
  };
}
