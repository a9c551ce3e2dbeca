import type { ProvisioningStep } from "@tapestry/core/events";
import {
  PROVISION_RETRY_POLICY,
  PROVISION_TASKS,
  type ProvisionTaskName,
  provisionRetriedErrorNames,
  provisionTaskTimeoutSeconds,
  provisionTimeoutSeconds,
} from "@tapestry/core/provisioning";
import type { PassState, PayloadTemplate, StateMachineDefinition, States, TaskState } from "./asl";

/**
 * The provision state machine, described in TypeScript; `npm run asl` writes it to
 * state-machines/provision.asl.json, the file AWS and the embedded control plane both run.
 *
 * validate -> bootstrap the warehouse -> [issue 11: the tool stacks] -> ensure the Airbyte objects
 * -> write the Grouparoo config -> record outputs (ProvisioningSucceeded). A step the config has
 * nothing for is skipped. Every Task retries what its task can raise and a retry can cure (core
 * provisioning/task-errors.ts) and catches everything else into PublishProvisioningFailed, which
 * publishes ProvisioningFailed naming the step; nothing after a failed step runs. The execution's
 * input is `{ runId, trigger }`.
 */

/** The Task states, each with the core task it runs. */
export const PROVISION_TASK_STATES = {
  BeginProvisioning: "beginProvisioning",
  BootstrapWarehouse: "bootstrapWarehouse",
  EnsureAirbyteObjects: "ensureAirbyte",
  WriteGrouparooConfig: "writeGrouparooConfig",
  RecordOutputs: "finishProvisioning",
  PublishProvisioningFailed: "failProvisioning",
} as const satisfies Record<string, ProvisionTaskName>;
type ProvisionTaskState = keyof typeof PROVISION_TASK_STATES;

/** The step each Task state does, as ProvisioningFailed names it. */
export const PROVISION_STATE_STEPS: Readonly<
  Record<Exclude<ProvisionTaskState, "PublishProvisioningFailed">, ProvisioningStep>
> = {
  BeginProvisioning: "validate",
  BootstrapWarehouse: "bootstrap-warehouse",
  EnsureAirbyteObjects: "ensure-airbyte",
  WriteGrouparooConfig: "write-grouparoo-config",
  RecordOutputs: "record-outputs",
};

const RUN_REF: PayloadTemplate = { "runId.$": "$.runId", "trigger.$": "$.trigger" };
const ANY_ERROR = "States.ALL";

/** A Task state running its core task's function, with its Retry and one Catch (into the failure path, or as given). */
function task(
  name: ProvisionTaskState,
  spec: {
    readonly comment: string;
    readonly parameters: PayloadTemplate;
    readonly resultPath: string | null;
    readonly next: string;
    readonly catchTo?: string;
  },
): TaskState {
  const coreTask = PROVISION_TASK_STATES[name];
  const fn = PROVISION_TASKS[coreTask].function;
  return {
    Type: "Task",
    Comment: spec.comment,
    Resource: `\${${fn}}`,
    Parameters: spec.parameters,
    ResultPath: spec.resultPath,
    TimeoutSeconds: provisionTaskTimeoutSeconds(fn),
    Retry: [
      {
        ErrorEquals: provisionRetriedErrorNames(coreTask),
        IntervalSeconds: PROVISION_RETRY_POLICY.intervalSeconds,
        BackoffRate: PROVISION_RETRY_POLICY.backoffRate,
        MaxAttempts: PROVISION_RETRY_POLICY.maxAttempts,
        JitterStrategy: PROVISION_RETRY_POLICY.jitterStrategy,
      },
    ],
    Catch: [{ ErrorEquals: [ANY_ERROR], ResultPath: "$.failure", Next: spec.catchTo ?? `${name}Failed` }],
    Next: spec.next,
  };
}

/** Where a step's failure goes: the step's name at $.failedStep, then PublishProvisioningFailed. */
function failedAt(state: keyof typeof PROVISION_STATE_STEPS): States {
  const pass: PassState = {
    Type: "Pass",
    Parameters: { step: PROVISION_STATE_STEPS[state] },
    ResultPath: "$.failedStep",
    Next: "PublishProvisioningFailed",
  };
  return { [`${state}Failed`]: pass };
}

const STATES: States = {
  BeginProvisioning: task("BeginProvisioning", {
    comment:
      "validate: the config declares something to provision; take the stage's provisioning lock (one run at a time); ProvisioningStarted",
    parameters: { action: "begin", ...RUN_REF },
    resultPath: "$.plan",
    next: "WarehouseDeclared",
  }),
  ...failedAt("BeginProvisioning"),
  WarehouseDeclared: {
    Type: "Choice",
    Choices: [{ Variable: "$.plan.bootstrapWarehouse", BooleanEquals: true, Next: "BootstrapWarehouse" }],
    Default: "DeployToolStacks",
  },
  BootstrapWarehouse: task("BootstrapWarehouse", {
    comment:
      "The warehouse's versioned statements, one at a time; those applied before are skipped (a re-run resumes); WarehouseBootstrapped",
    parameters: RUN_REF,
    resultPath: "$.warehouse",
    next: "DeployToolStacks",
  }),
  ...failedAt("BootstrapWarehouse"),
  DeployToolStacks: {
    Type: "Pass",
    Comment:
      "SLOT FOR ISSUE 11 (self-hosted tool stacks): when the config asks Tapestry to host Airbyte and Grouparoo, their stacks deploy here (Airbyte's in parallel with BootstrapWarehouse, then wait until it answers its health route and read its API credentials), before EnsureAirbyteObjects; Grouparoo's after WriteGrouparooConfig. Today the tools are external and this state passes.",
    Next: "AirbyteDeclared",
  },
  AirbyteDeclared: {
    Type: "Choice",
    Choices: [{ Variable: "$.plan.ensureAirbyte", BooleanEquals: true, Next: "EnsureAirbyteObjects" }],
    Default: "GrouparooDeclared",
  },
  EnsureAirbyteObjects: task("EnsureAirbyteObjects", {
    comment:
      "The workspace, destination, sources and connections by name: created when absent, updated when different, left when equal; the ids recorded; a ToolConfigured each",
    parameters: RUN_REF,
    resultPath: "$.airbyte",
    next: "GrouparooDeclared",
  }),
  ...failedAt("EnsureAirbyteObjects"),
  GrouparooDeclared: {
    Type: "Choice",
    Choices: [{ Variable: "$.plan.writeGrouparooConfig", BooleanEquals: true, Next: "WriteGrouparooConfig" }],
    Default: "RecordOutputs",
  },
  WriteGrouparooConfig: task("WriteGrouparooConfig", {
    comment: "Grouparoo's config files from the config, where Grouparoo reads them; a ToolConfigured each",
    parameters: RUN_REF,
    resultPath: "$.grouparoo",
    next: "RecordOutputs",
  }),
  ...failedAt("WriteGrouparooConfig"),
  RecordOutputs: task("RecordOutputs", {
    comment: "ProvisioningSucceeded with what was done to the tools' objects; the lock freed",
    parameters: { action: "finish", ...RUN_REF },
    resultPath: "$.outputs",
    next: "ProvisioningSucceeded",
  }),
  ...failedAt("RecordOutputs"),
  ProvisioningSucceeded: { Type: "Succeed" },
  PublishProvisioningFailed: task("PublishProvisioningFailed", {
    comment:
      "ProvisioningFailed naming the step that failed and why; the lock freed. Nothing after that step ran",
    parameters: { action: "fail", ...RUN_REF, "step.$": "$.failedStep.step", "failure.$": "$.failure" },
    resultPath: null,
    next: "ProvisioningFailed",
    catchTo: "ProvisioningFailed",
  }),
  ProvisioningFailed: {
    Type: "Fail",
    Error: "ProvisioningFailed",
    Cause: "A step of the provisioning run failed; see its ProvisioningFailed event (GET /provisioning)",
  },
};

/** The provision state machine. */
export function provisionDefinition(): StateMachineDefinition {
  return {
    Comment:
      "One provisioning run of a Tapestry stage: validate -> bootstrap the warehouse -> [issue 11: the tool stacks] -> ensure the Airbyte objects -> write the Grouparoo config -> record outputs. A step with nothing configured is skipped; a failed step publishes ProvisioningFailed and nothing after it runs; a re-run resumes (what was done is found done). The execution input is {runId, trigger}. Generated from state-machines/src/provision.ts by `npm run asl`: do not edit. Function ARN placeholders are filled at deploy time and by the embedded runner.",
    StartAt: "BeginProvisioning",
    TimeoutSeconds: provisionTimeoutSeconds(),
    States: STATES,
  };
}
