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
 *                               reconcile-run
 *   TAPESTRY_LEDGER_TABLE       the run ledger: run-lock, project-event, status-api, reconcile-run
 *   TAPESTRY_EVENT_BUS          the event bus, for every function that publishes: run-lock,
 *                               publish-event, start/poll/cancel-step, reconcile-run, status-api
 *   TAPESTRY_STATE_MACHINE_ARN  the pipeline-run state machine: start-scheduled-run, status-api,
 *                               reconcile-run
 * (the status API records queued runs and cancel requests in the ledger and puts them on the bus.)
 * The tapestry config is not in the environment (Lambda's 4 KB limit): the stacks inline its JSON
 * at bundle time as the global identifier __TAPESTRY_CONFIG__ (esbuild `define`); start/poll/
 * cancel-step and reconcile-run read its tools (reconcile-run its pipelines and `reconcile` too),
 * status-api its pipelines, and the others never read it.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SFNClient } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  createSsmSecretReader,
  DynamoDbRunLedger,
  EventBridgePublisher,
  StepFunctionsRunController,
} from "@tapestry/core/adapters/aws";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { ConnectorRegistry } from "@tapestry/core/connectors";
import { TapestryError } from "@tapestry/core/errors";
import type { EventPublisher } from "@tapestry/core/events";
import type { RunLedger } from "@tapestry/core/ledger";
import { DEPLOYMENT_STAGE_NAME } from "@tapestry/core/names";
import { DEFAULT_PIPELINE_SETTINGS } from "@tapestry/core/pipeline";
import { nextFireTime } from "@tapestry/core/schedule";
import type { RunController } from "@tapestry/core/status";
import { issuesText } from "@tapestry/core/zod-messages";
import { z } from "zod";
import type { StatusApiDeps } from "../api/status-api";
import type { ReconcileRunDeps } from "../pipeline/reconcile-run";
import type { PipelineHandlerDeps } from "../pipeline/task-handler";
import { coreLogger } from "../powertools";

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
  TAPESTRY_STATE_MACHINE_ARN: {
    what: "the ARN of the pipeline-run state machine",
    schema: z.string().regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, {
      error: "expected a state machine ARN, arn:aws:states:<region>:<account>:stateMachine:<name>",
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
const documentClient = once(() => DynamoDBDocumentClient.from(new DynamoDBClient({})));
const eventBridgeClient = once(() => new EventBridgeClient({}));
const sfnClient = once(() => new SFNClient({}));

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

/** The configured tools' connectors; each tool's secrets are read from SSM when a step of it first runs. */
export const connectors = once(
  () =>
    new ConnectorRegistry(tapestryConfig().tools, {
      secrets: createSsmSecretReader({ stage: env("TAPESTRY_STAGE") }),
      logger: coreLogger(logger()),
    }),
);

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
    runs: deferredRunController(),
    bus: { publish: async (events) => eventPublisher().publish(events) },
    now: () => new Date(),
    nextFireTime: (pipeline, after) => nextFireTime(pipeline.schedule, after),
    logger: logger(),
  };
}
