import { ToolNotConfiguredError } from "../connectors/registry";
import {
  EventPublishError,
  SecretNotSetError,
  SecretReadError,
  SecretUnavailableError,
  ToolAuthError,
  ToolRequestError,
  ToolResponseError,
  ToolUnavailableError,
} from "../errors";
import { LAMBDA_TRANSIENT_ERRORS, TASK_RETRY_POLICY, type TapestryErrorClass } from "../pipeline/task-errors";
import {
  NothingToProvisionError,
  ProvisioningBusyError,
  ProvisioningInputError,
  ProvisioningRunMissingError,
  ProvisioningStoreUnavailableError,
  ToolObjectConflictError,
} from "./errors";
import {
  CloudFormationRequestError,
  CloudFormationUnavailableError,
  ToolNeverHealthyError,
  ToolStackDeadlineError,
  ToolStackDeployFailedError,
  ToolStackNotConfiguredError,
  ToolStackStuckError,
} from "./stacks/errors";
import {
  WarehouseBootstrapError,
  WarehouseHistoryChangedError,
  WarehouseUnavailableError,
} from "./warehouse/errors";

/**
 * The provision state machine's task functions: the `${Name}` placeholders of
 * state-machines/provision.asl.json, each function's timeout, what each task can throw and what a
 * retry can cure. The ASL generator builds every Task state's Retry from here, and test/provisioning
 * checks each error against the generated Retry and Catch.
 */

export const PROVISION_FUNCTIONS = [
  "ProvisioningRunFunctionArn",
  "BootstrapWarehouseFunctionArn",
  "EnsureAirbyteFunctionArn",
  "WriteGrouparooConfigFunctionArn",
  "ToolStackFunctionArn",
  "ToolHealthFunctionArn",
] as const;
export type ProvisionFunction = (typeof PROVISION_FUNCTIONS)[number];

/** The deprovision state machine's functions: its run's begin and end, and the tool-stack function. */
export const DEPROVISION_FUNCTIONS = ["DeprovisioningRunFunctionArn", "ToolStackFunctionArn"] as const;
export type DeprovisionFunction = (typeof DEPROVISION_FUNCTIONS)[number];
/** Any function of the two state machines. */
export type ProvisioningFunction = ProvisionFunction | DeprovisionFunction;

/**
 * How long each function may run. The bootstrap runs its statements one at a time, each with its
 * own timeout (the warehouse section's), so it gets Lambda's most; Airbyte's objects are a few
 * dozen requests; the rest are a store write and a publish.
 */
export const PROVISION_FUNCTION_TIMEOUT_SECONDS: Readonly<Record<ProvisioningFunction, number>> = {
  ProvisioningRunFunctionArn: 30,
  BootstrapWarehouseFunctionArn: 900,
  EnsureAirbyteFunctionArn: 300,
  WriteGrouparooConfigFunctionArn: 60,
  // a few CloudFormation calls per invocation: the waiting is the state machine's
  ToolStackFunctionArn: 60,
  // one health request, or two secret reads
  ToolHealthFunctionArn: 30,
  DeprovisioningRunFunctionArn: 30,
};

/** A Task state waits this much longer than its function, so the function's own timeout comes first. */
export const PROVISION_TASK_SLACK_SECONDS = 10;

export function provisionTaskTimeoutSeconds(fn: ProvisioningFunction): number {
  return PROVISION_FUNCTION_TIMEOUT_SECONDS[fn] + PROVISION_TASK_SLACK_SECONDS;
}

/** What each kind of work can retry. */
const RETRY = {
  store: [ProvisioningStoreUnavailableError],
  publish: [EventPublishError],
  secrets: [SecretUnavailableError],
  warehouse: [WarehouseUnavailableError],
  airbyte: [ToolUnavailableError],
  cloudformation: [CloudFormationUnavailableError],
  /** Airbyte's host writes its client credentials just after its install: a missing one is waited for */
  credentials: [SecretNotSetError],
} as const satisfies Record<string, readonly TapestryErrorClass[]>;
type Kind = keyof typeof RETRY;

export interface ProvisionTask {
  readonly function: ProvisioningFunction;
  readonly kinds: readonly Kind[];
  /** every named error its code lets escape (a bug is caught by States.ALL, unretried) */
  readonly throws: readonly TapestryErrorClass[];
}

const SECRET_FAILURES = [SecretNotSetError, SecretUnavailableError, SecretReadError] as const;

export const PROVISION_TASKS = {
  /** takes the lock, publishes ProvisioningStarted, says which steps run */
  beginProvisioning: {
    function: "ProvisioningRunFunctionArn",
    kinds: ["store", "publish"],
    throws: [
      ProvisioningStoreUnavailableError,
      ProvisioningBusyError,
      NothingToProvisionError,
      EventPublishError,
    ],
  },
  /** the injected WarehouseBootstrapper, then WarehouseBootstrapped */
  bootstrapWarehouse: {
    function: "BootstrapWarehouseFunctionArn",
    kinds: ["warehouse", "secrets", "store", "publish"],
    throws: [
      WarehouseBootstrapError,
      WarehouseUnavailableError,
      WarehouseHistoryChangedError,
      ...SECRET_FAILURES,
      ProvisioningStoreUnavailableError,
      EventPublishError,
    ],
  },
  /** the Airbyte objects by name, a ToolConfigured each */
  ensureAirbyte: {
    function: "EnsureAirbyteFunctionArn",
    kinds: ["airbyte", "secrets", "store", "publish"],
    throws: [
      ToolUnavailableError,
      ToolAuthError,
      ToolRequestError,
      ToolResponseError,
      ToolNotConfiguredError,
      ToolObjectConflictError,
      ProvisioningInputError,
      ...SECRET_FAILURES,
      ProvisioningStoreUnavailableError,
      EventPublishError,
    ],
  },
  /** Grouparoo's config files, a ToolConfigured each */
  writeGrouparooConfig: {
    function: "WriteGrouparooConfigFunctionArn",
    kinds: ["store", "publish"],
    throws: [ProvisioningInputError, ProvisioningStoreUnavailableError, EventPublishError],
  },
  /** a tool stack's deploy started (create, update, recreate) or waited for */
  deployToolStack: {
    function: "ToolStackFunctionArn",
    kinds: ["cloudformation", "store", "publish"],
    throws: [
      CloudFormationUnavailableError,
      CloudFormationRequestError,
      ToolStackStuckError,
      ToolStackNotConfiguredError,
      ProvisioningStoreUnavailableError,
      EventPublishError,
    ],
  },
  /** where a tool stack's deploy stands; StackDeployed or StackDeployFailed at its end */
  checkToolStack: {
    function: "ToolStackFunctionArn",
    kinds: ["cloudformation", "store", "publish"],
    throws: [
      CloudFormationUnavailableError,
      CloudFormationRequestError,
      ToolStackDeployFailedError,
      ToolStackDeadlineError,
      ProvisioningStoreUnavailableError,
      EventPublishError,
    ],
  },
  /** one GET of a self-hosted tool's health route */
  checkToolHealth: {
    function: "ToolHealthFunctionArn",
    kinds: [],
    throws: [ToolNeverHealthyError, ProvisioningInputError],
  },
  /** the two secrets of tools.airbyte.auth, written by Airbyte's host, are there */
  readAirbyteCredentials: {
    function: "ToolHealthFunctionArn",
    kinds: ["secrets", "credentials"],
    throws: [...SECRET_FAILURES, ProvisioningInputError],
  },
  /** a tool stack's delete asked for */
  deleteToolStack: {
    function: "ToolStackFunctionArn",
    kinds: ["cloudformation"],
    throws: [
      CloudFormationUnavailableError,
      CloudFormationRequestError,
      ToolStackStuckError,
      ToolStackNotConfiguredError,
    ],
  },
  /** whether a tool stack's delete has ended; StackDeleted */
  checkToolStackDeleted: {
    function: "ToolStackFunctionArn",
    kinds: ["cloudformation", "store", "publish"],
    throws: [
      CloudFormationUnavailableError,
      CloudFormationRequestError,
      ToolStackStuckError,
      ToolStackDeadlineError,
      ProvisioningStoreUnavailableError,
      EventPublishError,
    ],
  },
  /** deprovisioning: the lock, DeprovisioningStarted */
  beginDeprovisioning: {
    function: "DeprovisioningRunFunctionArn",
    kinds: ["store", "publish"],
    throws: [ProvisioningStoreUnavailableError, ProvisioningBusyError, EventPublishError],
  },
  /** deprovisioning: what remains (purge), DeprovisioningSucceeded, the lock freed */
  finishDeprovisioning: {
    function: "DeprovisioningRunFunctionArn",
    kinds: ["store", "publish"],
    throws: [ProvisioningStoreUnavailableError, ProvisioningRunMissingError, EventPublishError],
  },
  /** deprovisioning: DeprovisioningFailed, the lock freed */
  failDeprovisioning: {
    function: "DeprovisioningRunFunctionArn",
    kinds: ["store", "publish"],
    throws: [ProvisioningStoreUnavailableError, EventPublishError],
  },
  /** ProvisioningSucceeded, the lock freed */
  finishProvisioning: {
    function: "ProvisioningRunFunctionArn",
    kinds: ["store", "publish"],
    throws: [ProvisioningStoreUnavailableError, ProvisioningRunMissingError, EventPublishError],
  },
  /** ProvisioningFailed naming the step, the lock freed */
  failProvisioning: {
    function: "ProvisioningRunFunctionArn",
    kinds: ["store", "publish"],
    throws: [ProvisioningStoreUnavailableError, EventPublishError],
  },
} as const satisfies Record<string, ProvisionTask>;
export type ProvisionTaskName = keyof typeof PROVISION_TASKS;

/** The error names a Task state of `task` retries: its kinds' classes and Lambda's transient errors. */
export function provisionRetriedErrorNames(task: ProvisionTaskName): string[] {
  const kinds: readonly Kind[] = PROVISION_TASKS[task].kinds;
  const classes = kinds.flatMap((kind): readonly TapestryErrorClass[] => RETRY[kind]);
  return [...new Set([...classes.map((error) => error.name), ...LAMBDA_TRANSIENT_ERRORS])];
}

/** The same policy as the pipeline-run tasks: 5 s, 10, 20, 40, full jitter. */
export const PROVISION_RETRY_POLICY = TASK_RETRY_POLICY;

/**
 * The provision execution's TimeoutSeconds: every task at every attempt, with the retries' pauses,
 * plus 15 minutes. The lock a run holds lasts as long, so a run that died frees it by itself.
 */
export function provisionTimeoutSeconds(): number {
  const attempts = PROVISION_RETRY_POLICY.maxAttempts + 1;
  let pauses = 0;
  for (let i = 0; i < PROVISION_RETRY_POLICY.maxAttempts; i++) {
    pauses += PROVISION_RETRY_POLICY.intervalSeconds * PROVISION_RETRY_POLICY.backoffRate ** i;
  }
  const tasks = Object.values(PROVISION_TASKS).reduce(
    (sum, task) => sum + provisionTaskTimeoutSeconds(task.function) * attempts + pauses,
    0,
  );
  // each tool stack's deploy and health waits (their Wait/check loops have deadlines of their own)
  const toolWaits = 2 * (STACK_DEPLOY_TIMEOUT_MINUTES + TOOL_HEALTH_TIMEOUT_MINUTES) * 60;
  return tasks + toolWaits + 15 * 60;
}

/** The deploy and health deadlines of the tool-stack tasks (stacks/tasks.ts), config-free. */
export const STACK_DEPLOY_TIMEOUT_MINUTES = 60;
export const TOOL_HEALTH_TIMEOUT_MINUTES = 45;
