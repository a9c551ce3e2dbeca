import { type ProvisionTaskName, provisionTimeoutSeconds } from "@tapestry/core/provisioning";
import { STACK_CHECK_INTERVAL_SECONDS } from "@tapestry/core/provisioning/stacks";
import type { PassState, PayloadTemplate, StateMachineDefinition, States, TaskState } from "./asl";
import { type ProvisionTaskSpec, provisionTask } from "./provision-task";

/**
 * The deprovision state machine (DELETE /provisioning), described in TypeScript; `npm run asl`
 * writes it to state-machines/deprovision.asl.json, which AWS and the embedded control plane run.
 *
 * begin (the provisioning lock; DeprovisioningStarted) -> delete Grouparoo's stack, wait until it is
 * gone -> delete Airbyte's, wait -> report what remains on purpose (DeprovisioningSucceeded
 * {remains}; with `purge: true` the parameters Tapestry wrote are deleted first). A stack the config
 * does not self-host is skipped; a failure publishes DeprovisioningFailed naming the stack, and a
 * re-run carries on (a stack already gone counts as deleted). The input is `{ runId, trigger, purge }`.
 */

export const DEPROVISION_TASK_STATES = {
  BeginDeprovisioning: "beginDeprovisioning",
  DeleteGrouparooStack: "deleteToolStack",
  CheckGrouparooDeleted: "checkToolStackDeleted",
  DeleteAirbyteStack: "deleteToolStack",
  CheckAirbyteDeleted: "checkToolStackDeleted",
  ReportRemains: "finishDeprovisioning",
  PublishDeprovisioningFailed: "failDeprovisioning",
} as const satisfies Record<string, ProvisionTaskName>;
type DeprovisionTaskState = keyof typeof DEPROVISION_TASK_STATES;

/** What DeprovisioningFailed names as the step of each Task state. */
export const DEPROVISION_STATE_STEPS: Readonly<
  Record<Exclude<DeprovisionTaskState, "PublishDeprovisioningFailed">, string>
> = {
  BeginDeprovisioning: "validate",
  DeleteGrouparooStack: "delete-grouparoo-stack",
  CheckGrouparooDeleted: "delete-grouparoo-stack",
  DeleteAirbyteStack: "delete-airbyte-stack",
  CheckAirbyteDeleted: "delete-airbyte-stack",
  ReportRemains: "report-remains",
};

const RUN_REF: PayloadTemplate = { "runId.$": "$.runId", "trigger.$": "$.trigger", "purge.$": "$.purge" };

/** A Task state running its core task's function (provision-task.ts). */
function task(name: DeprovisionTaskState, spec: ProvisionTaskSpec): TaskState {
  return provisionTask(name, DEPROVISION_TASK_STATES[name], spec);
}

function failedAt(state: keyof typeof DEPROVISION_STATE_STEPS): States {
  const pass: PassState = {
    Type: "Pass",
    Parameters: { step: DEPROVISION_STATE_STEPS[state], "failure.$": "$.failure" },
    ResultPath: "$.failedStep",
    Next: "PublishDeprovisioningFailed",
  };
  return { [`${state}Failed`]: pass };
}

type Tool = "Airbyte" | "Grouparoo";

function deleteStates(tool: Tool, then: string): States {
  const ref: PayloadTemplate = { "runId.$": "$.runId", tool: tool.toLowerCase() };
  return {
    [`Delete${tool}Stack`]: task(`Delete${tool}Stack`, {
      comment: `DeleteStack on ${tool}'s stack (nothing to do when there is none)`,
      parameters: { action: "delete", ...ref },
      resultPath: `$.${tool.toLowerCase()}Delete`,
      next: `Wait${tool}Deleted`,
    }),
    ...failedAt(`Delete${tool}Stack`),
    [`Wait${tool}Deleted`]: {
      Type: "Wait",
      Seconds: STACK_CHECK_INTERVAL_SECONDS,
      Next: `Check${tool}Deleted`,
    },
    [`Check${tool}Deleted`]: task(`Check${tool}Deleted`, {
      comment: `Whether ${tool}'s stack is gone; StackDeleted. DELETE_FAILED fails naming the resource that could not be deleted`,
      parameters: { action: "checkDeleted", ...ref, "delete.$": `$.${tool.toLowerCase()}Delete` },
      resultPath: `$.${tool.toLowerCase()}Deleted`,
      next: `${tool}Gone`,
    }),
    ...failedAt(`Check${tool}Deleted`),
    [`${tool}Gone`]: {
      Type: "Choice",
      Choices: [{ Variable: `$.${tool.toLowerCase()}Deleted.state`, StringEquals: "deleted", Next: then }],
      Default: `Wait${tool}Deleted`,
    },
  };
}

const STATES: States = {
  BeginDeprovisioning: task("BeginDeprovisioning", {
    comment:
      "The stage's provisioning lock (provisioning and deprovisioning never run at once); DeprovisioningStarted; which stacks are deleted",
    parameters: { action: "begin", ...RUN_REF },
    resultPath: "$.plan",
    next: "GrouparooSelfHosted",
  }),
  ...failedAt("BeginDeprovisioning"),
  GrouparooSelfHosted: {
    Type: "Choice",
    Choices: [{ Variable: "$.plan.deleteGrouparooStack", BooleanEquals: true, Next: "DeleteGrouparooStack" }],
    Default: "AirbyteSelfHosted",
  },
  ...deleteStates("Grouparoo", "AirbyteSelfHosted"),
  AirbyteSelfHosted: {
    Type: "Choice",
    Choices: [{ Variable: "$.plan.deleteAirbyteStack", BooleanEquals: true, Next: "DeleteAirbyteStack" }],
    Default: "ReportRemains",
  },
  ...deleteStates("Airbyte", "ReportRemains"),
  ReportRemains: task("ReportRemains", {
    comment:
      "What remains on purpose (retained buckets, the final database snapshot, parameters, the Snowflake objects with the SQL to drop them); purge deletes the parameters Tapestry wrote; DeprovisioningSucceeded; the lock freed",
    parameters: { action: "finish", ...RUN_REF },
    resultPath: "$.remains",
    next: "DeprovisioningSucceeded",
  }),
  ...failedAt("ReportRemains"),
  DeprovisioningSucceeded: { Type: "Succeed" },
  PublishDeprovisioningFailed: task("PublishDeprovisioningFailed", {
    comment: "DeprovisioningFailed naming the stack and why; the lock freed",
    parameters: {
      action: "fail",
      ...RUN_REF,
      "step.$": "$.failedStep.step",
      "failure.$": "$.failedStep.failure",
    },
    resultPath: null,
    next: "DeprovisioningFailed",
    catchTo: "DeprovisioningFailed",
  }),
  DeprovisioningFailed: {
    Type: "Fail",
    Error: "DeprovisioningFailed",
    Cause: "A stack could not be deleted; see the DeprovisioningFailed event (GET /provisioning)",
  },
};

/** The deprovision state machine. */
export function deprovisionDefinition(): StateMachineDefinition {
  return {
    Comment:
      "Tears down a Tapestry stage's self-hosted tool stacks: begin -> delete Grouparoo's stack and wait -> delete Airbyte's and wait -> report what remains on purpose. The execution input is {runId, trigger, purge}. Generated from state-machines/src/deprovision.ts by `npm run asl`: do not edit.",
    StartAt: "BeginDeprovisioning",
    TimeoutSeconds: provisionTimeoutSeconds(),
    States: STATES,
  };
}
