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
] as const;
export type ProvisionFunction = (typeof PROVISION_FUNCTIONS)[number];

/**
 * How long each function may run. The bootstrap runs its statements one at a time, each with its
 * own timeout (the warehouse section's), so it gets Lambda's most; Airbyte's objects are a few
 * dozen requests; the rest are a store write and a publish.
 */
export const PROVISION_FUNCTION_TIMEOUT_SECONDS: Readonly<Record<ProvisionFunction, number>> = {
  ProvisioningRunFunctionArn: 30,
  BootstrapWarehouseFunctionArn: 900,
  EnsureAirbyteFunctionArn: 300,
  WriteGrouparooConfigFunctionArn: 60,
};

/** A Task state waits this much longer than its function, so the function's own timeout comes first. */
export const PROVISION_TASK_SLACK_SECONDS = 10;

export function provisionTaskTimeoutSeconds(fn: ProvisionFunction): number {
  return PROVISION_FUNCTION_TIMEOUT_SECONDS[fn] + PROVISION_TASK_SLACK_SECONDS;
}

/** What each kind of work can retry. */
const RETRY = {
  store: [ProvisioningStoreUnavailableError],
  publish: [EventPublishError],
  secrets: [SecretUnavailableError],
  warehouse: [WarehouseUnavailableError],
  airbyte: [ToolUnavailableError],
} as const satisfies Record<string, readonly TapestryErrorClass[]>;
type Kind = keyof typeof RETRY;

export interface ProvisionTask {
  readonly function: ProvisionFunction;
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
  return tasks + 15 * 60;
}
