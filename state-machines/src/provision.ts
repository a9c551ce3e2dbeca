import type { ProvisioningStep } from "@tapestry/core/events";
import { type ProvisionTaskName, provisionTimeoutSeconds } from "@tapestry/core/provisioning";
import {
  HEALTH_CHECK_INTERVAL_SECONDS,
  STACK_CHECK_INTERVAL_SECONDS,
} from "@tapestry/core/provisioning/stacks";
import type { PassState, PayloadTemplate, StateMachineDefinition, States, TaskState } from "./asl";
import { type ProvisionTaskSpec, provisionTask } from "./provision-task";

/**
 * The provision state machine, described in TypeScript; `npm run asl` writes it to
 * state-machines/provision.asl.json, the file AWS and the embedded control plane both run.
 *
 * validate -> [Airbyte's stack deployed, healthy, its credentials read | the warehouse bootstrapped]
 * -> ensure the Airbyte objects -> write the Grouparoo config -> Grouparoo's stack deployed and
 * healthy -> record outputs (ProvisioningSucceeded). A step (or a stack) the config has
 * nothing for is skipped. Every Task retries what its task can raise and a retry can cure (core
 * provisioning/task-errors.ts) and catches everything else into PublishProvisioningFailed, which
 * publishes ProvisioningFailed naming the step; nothing after a failed step runs. The execution's
 * input is `{ runId, trigger }`.
 */

/** The Task states, each with the core task it runs. */
export const PROVISION_TASK_STATES = {
  BeginProvisioning: "beginProvisioning",
  BootstrapWarehouse: "bootstrapWarehouse",
  DeployAirbyteStack: "deployToolStack",
  CheckAirbyteStack: "checkToolStack",
  CheckAirbyteHealth: "checkToolHealth",
  ReadAirbyteCredentials: "readAirbyteCredentials",
  EnsureAirbyteObjects: "ensureAirbyte",
  WriteGrouparooConfig: "writeGrouparooConfig",
  DeployGrouparooStack: "deployToolStack",
  CheckGrouparooStack: "checkToolStack",
  CheckGrouparooHealth: "checkToolHealth",
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
  DeployAirbyteStack: "deploy-tool-stacks",
  CheckAirbyteStack: "deploy-tool-stacks",
  CheckAirbyteHealth: "deploy-tool-stacks",
  ReadAirbyteCredentials: "deploy-tool-stacks",
  EnsureAirbyteObjects: "ensure-airbyte",
  WriteGrouparooConfig: "write-grouparoo-config",
  DeployGrouparooStack: "deploy-tool-stacks",
  CheckGrouparooStack: "deploy-tool-stacks",
  CheckGrouparooHealth: "deploy-tool-stacks",
  RecordOutputs: "record-outputs",
};

const RUN_REF: PayloadTemplate = { "runId.$": "$.runId", "trigger.$": "$.trigger" };

/** A Task state running its core task's function (provision-task.ts). */
function task(name: ProvisionTaskState, spec: ProvisionTaskSpec): TaskState {
  return provisionTask(name, PROVISION_TASK_STATES[name], spec);
}

/**
 * Where a step's failure goes: the step's name and the error at $.failedStep, then (or, inside a
 * branch of the Parallel, at the branch's end) PublishProvisioningFailed.
 */
function failedAt(state: keyof typeof PROVISION_STATE_STEPS, inBranch = false): States {
  const pass: PassState = {
    Type: "Pass",
    Parameters: { step: PROVISION_STATE_STEPS[state], "failure.$": "$.failure" },
    ResultPath: "$.failedStep",
    ...(inBranch ? { End: true as const } : { Next: "PublishProvisioningFailed" }),
  };
  return { [`${state}Failed`]: pass };
}

type Tool = "Airbyte" | "Grouparoo";
const toolName = (tool: Tool) => tool.toLowerCase();

/**
 * One tool's stack: deploy -> wait -> check (in progress: wait again; the operation it waited for
 * ended: deploy again) -> wait -> health check (not yet: wait again) -> `then`. The deploy's and the
 * health's deadlines are the tasks' (STACK_DEPLOY_TIMEOUT_MINUTES, TOOL_HEALTH_TIMEOUT_MINUTES).
 */
function toolStackStates(tool: Tool, then: string, inBranch: boolean): States {
  const ref: PayloadTemplate = { "runId.$": "$.runId", tool: toolName(tool) };
  return {
    [`Deploy${tool}Stack`]: task(`Deploy${tool}Stack`, {
      comment: `${tool}'s stack: created when absent, updated when present (no changes is success), deleted and created again when it never came up, waited for when an earlier operation is going; StackDeployStarted`,
      parameters: { action: "deploy", ...ref, "previous.$": `$.${toolName(tool)}Stack` },
      resultPath: `$.${toolName(tool)}Stack`,
      next: `Wait${tool}Stack`,
    }),
    ...failedAt(`Deploy${tool}Stack`, inBranch),
    [`Wait${tool}Stack`]: {
      Type: "Wait",
      Comment: "CloudFormation works on; the state machine waits here, not a Lambda",
      Seconds: STACK_CHECK_INTERVAL_SECONDS,
      Next: `Check${tool}Stack`,
    },
    [`Check${tool}Stack`]: task(`Check${tool}Stack`, {
      comment: `Where ${tool}'s stack stands (DescribeStacks): StackDeployed with its outputs at the end; StackDeployFailed naming the first failed resource, or the deadline passed`,
      parameters: { action: "check", ...ref, "deploy.$": `$.${toolName(tool)}Stack` },
      resultPath: `$.${toolName(tool)}Checked`,
      next: `${tool}StackSettled`,
    }),
    ...failedAt(`Check${tool}Stack`, inBranch),
    [`${tool}StackSettled`]: {
      Type: "Choice",
      Choices: [
        {
          Variable: `$.${toolName(tool)}Checked.state`,
          StringEquals: "deployed",
          Next: `Wait${tool}Healthy`,
        },
        {
          Variable: `$.${toolName(tool)}Checked.state`,
          StringEquals: "start-again",
          Next: `Deploy${tool}Stack`,
        },
      ],
      Default: `Wait${tool}Stack`,
    },
    [`Wait${tool}Healthy`]: {
      Type: "Wait",
      Comment: `${tool} starts after its stack is up (Airbyte's install runs on the host): wait, then ask its health route`,
      Seconds: HEALTH_CHECK_INTERVAL_SECONDS,
      Next: `Check${tool}Health`,
    },
    [`Check${tool}Health`]: task(`Check${tool}Health`, {
      comment: `GET ${tool}'s health route at tools.${toolName(tool)}.baseUrl; past its deadline, fails naming the URL and what to check`,
      parameters: { action: "health", ...ref, "deployedAt.$": `$.${toolName(tool)}Checked.deployedAt` },
      resultPath: `$.${toolName(tool)}Health`,
      next: `${tool}Healthy`,
    }),
    ...failedAt(`Check${tool}Health`, inBranch),
    [`${tool}Healthy`]: {
      Type: "Choice",
      Choices: [{ Variable: `$.${toolName(tool)}Health.healthy`, BooleanEquals: true, Next: then }],
      Default: `Wait${tool}Healthy`,
    },
  };
}

const AIRBYTE_BRANCH: States = {
  AirbyteSelfHosted: {
    Type: "Choice",
    Choices: [{ Variable: "$.plan.deployAirbyteStack", BooleanEquals: true, Next: "DeployAirbyteStack" }],
    Default: "AirbyteExternal",
  },
  AirbyteExternal: { Type: "Succeed", Comment: "Airbyte is the user's: tools.airbyte.baseUrl as it is" },
  ...toolStackStates("Airbyte", "ReadAirbyteCredentials", true),
  ReadAirbyteCredentials: task("ReadAirbyteCredentials", {
    comment:
      "The application client id and secret the host wrote into the two secrets of tools.airbyte.auth are there (read, never passed on)",
    parameters: { action: "credentials", "runId.$": "$.runId" },
    resultPath: null,
    next: "AirbyteReady",
  }),
  ...failedAt("ReadAirbyteCredentials", true),
  AirbyteReady: { Type: "Succeed" },
};

const WAREHOUSE_BRANCH: States = {
  WarehouseDeclared: {
    Type: "Choice",
    Choices: [{ Variable: "$.plan.bootstrapWarehouse", BooleanEquals: true, Next: "BootstrapWarehouse" }],
    Default: "NoWarehouse",
  },
  NoWarehouse: { Type: "Succeed" },
  BootstrapWarehouse: task("BootstrapWarehouse", {
    comment:
      "The warehouse's versioned statements, one at a time; those applied before are skipped (a re-run resumes); WarehouseBootstrapped",
    parameters: RUN_REF,
    resultPath: "$.warehouse",
    next: "WarehouseReady",
  }),
  ...failedAt("BootstrapWarehouse", true),
  WarehouseReady: { Type: "Succeed" },
};

const STATES: States = {
  BeginProvisioning: task("BeginProvisioning", {
    comment:
      "validate: the config declares something to provision; take the stage's provisioning lock (one run at a time); ProvisioningStarted; which steps and stacks this run has",
    parameters: { action: "begin", ...RUN_REF },
    resultPath: "$.plan",
    next: "AirbyteStackAndWarehouse",
  }),
  ...failedAt("BeginProvisioning"),
  AirbyteStackAndWarehouse: {
    Type: "Parallel",
    Comment:
      "Airbyte's stack (deploy, wait, healthy, credentials) while the warehouse is bootstrapped: an install takes up to 30 minutes. A branch that fails ends with $.failedStep, so that both finish and the first step's failure is published",
    Parameters: { "runId.$": "$.runId", "trigger.$": "$.trigger", "plan.$": "$.plan", airbyteStack: {} },
    Branches: [
      { StartAt: "WarehouseDeclared", States: WAREHOUSE_BRANCH },
      { StartAt: "AirbyteSelfHosted", States: AIRBYTE_BRANCH },
    ],
    ResultSelector: { "warehouse.$": "$[0]", "airbyte.$": "$[1]" },
    ResultPath: "$.first",
    Next: "WarehouseFailed",
  },
  WarehouseFailed: {
    Type: "Choice",
    Choices: [{ Variable: "$.first.warehouse.failedStep", IsPresent: true, Next: "PublishWarehouseFailure" }],
    Default: "AirbyteStackFailed",
  },
  PublishWarehouseFailure: {
    Type: "Pass",
    Parameters: {
      "step.$": "$.first.warehouse.failedStep.step",
      "failure.$": "$.first.warehouse.failedStep.failure",
    },
    ResultPath: "$.failedStep",
    Next: "PublishProvisioningFailed",
  },
  AirbyteStackFailed: {
    Type: "Choice",
    Choices: [
      { Variable: "$.first.airbyte.failedStep", IsPresent: true, Next: "PublishAirbyteStackFailure" },
    ],
    Default: "AirbyteDeclared",
  },
  PublishAirbyteStackFailure: {
    Type: "Pass",
    Parameters: {
      "step.$": "$.first.airbyte.failedStep.step",
      "failure.$": "$.first.airbyte.failedStep.failure",
    },
    ResultPath: "$.failedStep",
    Next: "PublishProvisioningFailed",
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
    Default: "GrouparooSelfHosted",
  },
  WriteGrouparooConfig: task("WriteGrouparooConfig", {
    comment:
      "Grouparoo's config files from the config, where Grouparoo reads them (its stack's init container copies them); a ToolConfigured each",
    parameters: RUN_REF,
    resultPath: "$.grouparoo",
    next: "GrouparooSelfHosted",
  }),
  ...failedAt("WriteGrouparooConfig"),
  GrouparooSelfHosted: {
    Type: "Choice",
    Choices: [{ Variable: "$.plan.deployGrouparooStack", BooleanEquals: true, Next: "FirstGrouparooDeploy" }],
    Default: "RecordOutputs",
  },
  FirstGrouparooDeploy: {
    Type: "Pass",
    Comment: "no earlier deploy of this run to resume",
    Parameters: {},
    ResultPath: "$.grouparooStack",
    Next: "DeployGrouparooStack",
  },
  ...toolStackStates("Grouparoo", "RecordOutputs", false),
  RecordOutputs: task("RecordOutputs", {
    comment:
      "ProvisioningSucceeded with what was done to the tools' objects and stacks (their outputs are in StackDeployed and GET /stacks); the lock freed",
    parameters: { action: "finish", ...RUN_REF },
    resultPath: "$.outputs",
    next: "ProvisioningSucceeded",
  }),
  ...failedAt("RecordOutputs"),
  ProvisioningSucceeded: { Type: "Succeed" },
  PublishProvisioningFailed: task("PublishProvisioningFailed", {
    comment:
      "ProvisioningFailed naming the step that failed and why; the lock freed. Nothing after that step ran",
    parameters: {
      action: "fail",
      ...RUN_REF,
      "step.$": "$.failedStep.step",
      "failure.$": "$.failedStep.failure",
    },
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
      "One provisioning run of a Tapestry stage: validate -> [Airbyte's stack deployed and healthy | the warehouse bootstrapped] -> ensure the Airbyte objects -> write the Grouparoo config -> Grouparoo's stack deployed and healthy -> record outputs. A step with nothing configured is skipped; a failed step publishes ProvisioningFailed and nothing after it runs; a re-run resumes (what was done is found done). The execution input is {runId, trigger}. Generated from state-machines/src/provision.ts by `npm run asl`: do not edit. Function ARN placeholders are filled at deploy time and by the embedded runner.",
    StartAt: "BeginProvisioning",
    TimeoutSeconds: provisionTimeoutSeconds(),
    States: STATES,
  };
}
