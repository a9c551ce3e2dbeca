import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  provisionedObjectParameterName,
  provisionedObjectsPath,
  secretParameterName,
} from "@tapestry/core/adapters/aws";
import { secretReferences } from "@tapestry/core/config";
import { substituteAslPlaceholders } from "@tapestry/core/pipeline";
import {
  type AirbyteObjectKind,
  type DeprovisionFunction,
  PROVISION_FUNCTION_TIMEOUT_SECONDS,
  type ProvisionFunction,
  type ProvisioningFunction,
} from "@tapestry/core/provisioning";
import { warehouseNames, warehouseSecretAccess } from "@tapestry/core/provisioning/warehouse";
import { ArnFormat, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { NagSuppressions } from "cdk-nag";
import type { Function as SstFunction } from "sst/constructs";
import { type StackContext, use } from "sst/constructs";
import { useProject } from "sst/project.js";
import { type Deployment, useDeployment } from "./deployment";
import { allow, type EntryPoint, tapestryFunction } from "./lambda";
import { Ledger } from "./ledger";
import { tapestryStateMachine } from "./state-machine";
import type { ToolStackTemplates } from "./tools/contracts";
import { toolNetworkOf } from "./tools/network";
import { toolStackTemplates } from "./tools/templates";

export const PROVISION_ASL = "state-machines/provision.asl.json";
export const DEPROVISION_ASL = "state-machines/deprovision.asl.json";

/** Where Grouparoo's config files go in their bucket (functions/aws/write-grouparoo-config.ts GROUPAROO_CONFIG_PREFIX). */
const GROUPAROO_PREFIX = "grouparoo/";

/**
 * Provisioning (issue 9): the `provision` state machine (state-machines/provision.asl.json, its
 * placeholders filled) and its four task functions, each granted exactly what its step touches:
 * - provisioning-run: the runs and the lock (`PROV#` items of the ledger table) and the bus;
 * - bootstrap-warehouse: the admin's secrets (read) and the service users' private keys (read,
 *   written, tagged), SSM SecureStrings under /tapestry/<stage>/; Snowflake over the internet;
 * - ensure-airbyte: the Airbyte tool's and the sources' secrets and the loader's private key
 *   (read), and the parameters of the ids it records, one per declared object (read, written);
 * - write-grouparoo-config: the `grouparoo/` objects of this stack's bucket.
 * Started by POST /provisioning (stacks/status-api.ts). No secret is in any variable or in the
 * template: the functions read them by name. Issue 11's tool stacks plug into the state machine's
 * marked slot (DeployToolStacks).
 */
export function Provisioning({ stack, app }: StackContext) {
  const deployment = useDeployment(app);
  const { table } = use(Ledger);
  const { config } = deployment;

  const taskFunction = (
    id: string,
    placeholder: ProvisioningFunction,
    entry: EntryPoint,
    description: string,
    environment: Record<string, string> = {},
    // every task but the health check publishes its step's events (source tapestry.provisioning)
    publishesEvents = true,
  ) =>
    tapestryFunction(stack, id, deployment, {
      entry,
      description,
      environment: { TAPESTRY_LEDGER_TABLE: table.tableName, ...environment },
      bundleConfig: true,
      timeout: Duration.seconds(PROVISION_FUNCTION_TIMEOUT_SECONDS[placeholder]),
      publishesEvents,
    });
  // every task reads the run's record and saves it as its step ends
  const records = (fn: SstFunction) => allow(fn, ["dynamodb:GetItem", "dynamodb:PutItem"], [table.tableArn]);

  const run = taskFunction(
    "ProvisioningRun",
    "ProvisioningRunFunctionArn",
    "provisioning-run",
    "begins and ends a provisioning run (its lock, ProvisioningStarted, Succeeded, Failed)",
  );
  // the lock (a conditional put, its holder read, a conditional delete) and the run's record
  allow(run, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], [table.tableArn]);

  const bootstrap = taskFunction(
    "BootstrapWarehouse",
    "BootstrapWarehouseFunctionArn",
    "bootstrap-warehouse",
    "runs the warehouse's bootstrap statements in Snowflake",
  );
  records(bootstrap);
  if (config.warehouse) {
    const access = warehouseSecretAccess(warehouseNames(config.warehouse));
    allow(
      bootstrap,
      ["ssm:GetParameter"],
      secretArns(stack, deployment, [...access.read, ...access.readWrite]),
    );
    // a generated key is stored as a SecureString and tagged like every secret (SsmSecretStore)
    allow(
      bootstrap,
      ["ssm:PutParameter", "ssm:AddTagsToResource"],
      secretArns(stack, deployment, access.readWrite),
    );
  }

  const ensureAirbyte = taskFunction(
    "EnsureAirbyte",
    "EnsureAirbyteFunctionArn",
    "ensure-airbyte",
    "creates or updates the declared Airbyte objects by name",
  );
  records(ensureAirbyte);
  if (config.airbyte && config.warehouse) {
    const secrets = [
      // Airbyte's API credentials (not its webhook secret: provisioning never receives webhooks)
      ...secretReferences({ airbyte: config.tools.airbyte })
        .filter((reference) => reference.field.startsWith("tools.airbyte.auth."))
        .map((reference) => reference.name),
      ...config.airbyte.sources.flatMap((source) => Object.values(source.secrets)),
      warehouseNames(config.warehouse).users.airbyte.privateKeySecret,
    ];
    allow(ensureAirbyte, ["ssm:GetParameter"], secretArns(stack, deployment, [...new Set(secrets)]));
    allow(
      ensureAirbyte,
      ["ssm:GetParameter", "ssm:PutParameter"],
      provisionedObjectArns(stack, deployment, declaredAirbyteObjects(deployment)),
    );
  }

  const bucket = new Bucket(stack, "GrouparooConfig", {
    encryption: BucketEncryption.S3_MANAGED,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    versioned: true,
    // its files are written again by every run: nothing to keep but on a prod-like stage
    removalPolicy: deployment.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  NagSuppressions.addResourceSuppressions(bucket, [
    {
      id: "AwsSolutions-S1",
      reason:
        "Holds only Grouparoo's generated config files (no secret, no user data), rewritten by every provisioning run and versioned; each write is a ToolConfigured event on the bus and in its archive, which is the audit trail server access logs would duplicate",
    },
  ]);
  const writeGrouparoo = taskFunction(
    "WriteGrouparooConfig",
    "WriteGrouparooConfigFunctionArn",
    "write-grouparoo-config",
    "writes Grouparoo's config files to their bucket",
    { TAPESTRY_GROUPAROO_CONFIG_BUCKET: bucket.bucketName },
  );
  records(writeGrouparoo);
  allow(writeGrouparoo, ["s3:ListBucket"], [bucket.bucketArn]);
  allow(
    writeGrouparoo,
    ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
    [bucket.arnForObjects(`${GROUPAROO_PREFIX}*`)],
  );
  NagSuppressions.addResourceSuppressions(
    writeGrouparoo.role ?? writeGrouparoo,
    [
      {
        id: "AwsSolutions-IAM5",
        reason: `Grouparoo's files are objects whose names come from the config: the grant names the bucket's ${GROUPAROO_PREFIX} prefix and nothing wider`,
        appliesTo: [
          {
            regex: `/^Resource::<GrouparooConfig[0-9A-F]+\\.Arn>\\/${GROUPAROO_PREFIX.slice(0, -1)}\\/\\*$/g`,
          },
        ],
      },
    ],
    true,
  );

  // issue 11: the self-hosted tools' stacks (tools-network's templates; none when nothing is self-hosted)
  const templates = toolTemplatesFor(stack, deployment, bucket);
  const toolStack = taskFunction(
    "ToolStack",
    "ToolStackFunctionArn",
    "tool-stack",
    "deploys, checks and deletes the self-hosted tools' CloudFormation stacks",
    // without templates a self-hosted tool fails its deploy naming the fix (ToolStackNotConfiguredError)
    templates ? { ...templates.environment } : { TAPESTRY_TOOL_STACKS: "{}" },
  );
  // the run's record, and the stacks' records (`STACK#TOOLS` items: read, written, listed)
  allow(toolStack, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], [table.tableArn]);
  templates?.grantDeploy(toolStack);

  const toolHealth = taskFunction(
    "ToolHealth",
    "ToolHealthFunctionArn",
    "tool-health",
    "asks a self-hosted tool's health route; reads that Airbyte's host wrote its client credentials",
    {},
    false,
  );
  const airbyteAuth = config.tools.airbyte?.auth;
  if (config.provisioning?.hosting.airbyte === "self-hosted" && airbyteAuth?.kind === "client-credentials") {
    allow(
      toolHealth,
      ["ssm:GetParameter"],
      secretArns(stack, deployment, [airbyteAuth.clientIdSecret, airbyteAuth.clientSecretSecret]),
    );
  }

  const tasks: Record<ProvisionFunction, SstFunction> = {
    ProvisioningRunFunctionArn: run,
    BootstrapWarehouseFunctionArn: bootstrap,
    EnsureAirbyteFunctionArn: ensureAirbyte,
    WriteGrouparooConfigFunctionArn: writeGrouparoo,
    ToolStackFunctionArn: toolStack,
    ToolHealthFunctionArn: toolHealth,
  };
  const definition = substituteAslPlaceholders(
    readFileSync(join(useProject().paths.root, PROVISION_ASL), "utf8"),
    Object.fromEntries(Object.entries(tasks).map(([placeholder, fn]) => [placeholder, fn.functionArn])),
  );
  const stateMachine = tapestryStateMachine(stack, "Provision", {
    deployment,
    name: provisionName(deployment),
    definition,
    tasks: Object.values(tasks),
    whyErrorLogsOnly:
      "Logs at ERROR on purpose: every step of a provisioning run is a semantic event (ProvisioningStarted, WarehouseBootstrapped, ToolConfigured, ProvisioningSucceeded/Failed) on the bus and in its archive, and GET /provisioning answers the run with its steps",
  });

  // the deprovision state machine (DELETE /provisioning): its run's begin and end, and the tool-stack function
  const deprovisioningRun = taskFunction(
    "DeprovisioningRun",
    "DeprovisioningRunFunctionArn",
    "deprovisioning-run",
    "begins and ends a deprovisioning run (the lock, what remains, purge)",
  );
  allow(
    deprovisioningRun,
    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"],
    [table.tableArn],
  );
  const recordedIds = parameterArn(stack, provisionedObjectsPath(deployment.stage));
  allow(deprovisioningRun, ["ssm:GetParametersByPath"], [recordedIds.replace(/\/$/, "")]);
  allow(deprovisioningRun, ["ssm:DeleteParameters"], [`${recordedIds}*`]);
  NagSuppressions.addResourceSuppressions(
    deprovisioningRun.role ?? deprovisioningRun,
    [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "purge deletes the ids provisioning recorded, whose names come from the config's objects: the grant names their path (/tapestry/<stage>/provisioning/airbyte/) and nothing wider; the user's secrets are outside it",
        appliesTo: [
          {
            regex:
              "/^Resource::arn:<AWS::Partition>:ssm:.*:parameter\\/tapestry\\/.*\\/provisioning\\/airbyte\\/\\*$/g",
          },
        ],
      },
    ],
    true,
  );
  const deprovisionTasks: Record<DeprovisionFunction, SstFunction> = {
    DeprovisioningRunFunctionArn: deprovisioningRun,
    ToolStackFunctionArn: toolStack,
  };
  const deprovisionMachine = tapestryStateMachine(stack, "Deprovision", {
    deployment,
    name: `${deployment.prefix}-deprovision`,
    definition: substituteAslPlaceholders(
      readFileSync(join(useProject().paths.root, DEPROVISION_ASL), "utf8"),
      Object.fromEntries(
        Object.entries(deprovisionTasks).map(([placeholder, fn]) => [placeholder, fn.functionArn]),
      ),
    ),
    tasks: Object.values(deprovisionTasks),
    whyErrorLogsOnly:
      "Logs at ERROR on purpose: every step of a deprovisioning run is a semantic event (DeprovisioningStarted, StackDeleted, DeprovisioningSucceeded/Failed) on the bus and in its archive, and GET /provisioning answers the run",
  });

  stack.addOutputs({
    ProvisionStateMachineArn: stateMachine.stateMachineArn,
    DeprovisionStateMachineArn: deprovisionMachine.stateMachineArn,
    GrouparooConfigBucket: bucket.bucketName,
  });
  return { stateMachine, deprovisionStateMachine: deprovisionMachine, grouparooConfig: bucket };
}

/**
 * The tool stacks' templates for this deployment (stacks/tools/templates.ts): the ONE place
 * provisioning obtains them; none when no tool is self-hosted. A test can give hand-made ones
 * (setToolTemplatesForTests).
 */
export function toolTemplatesFor(
  stack: Stack,
  deployment: Deployment,
  bucket: Bucket,
): ToolStackTemplates | undefined {
  if (templatesOverride) return templatesOverride(stack, deployment, bucket);
  return toolStackTemplates(stack, {
    deployment,
    network: toolNetworkOf(deployment),
    grouparooConfigBucketName: bucket.bucketName,
  });
}

let templatesOverride: typeof toolTemplatesFor | undefined;

/** Tests: hand-made templates, as stacks/tools/templates.ts will build them. */
export function setToolTemplatesForTests(build: typeof toolTemplatesFor | undefined): void {
  templatesOverride = build;
}

/** The provision state machine's name: fixed, so its executions' ARNs are known without a lookup. */
export function provisionName(deployment: Deployment): string {
  return `${deployment.prefix}-provision`;
}

/**
 * Grants an action on the provision state machine's executions (DescribeExecution: is the run that
 * holds the lock still going?). An execution's ARN ends in its run id, which no template can know,
 * so the grant names `execution:<machine>:*` and nothing wider.
 */
export function allowOnProvisionExecutions(
  grantee: SstFunction,
  deployment: Deployment,
  action: string,
): void {
  const stack = Stack.of(grantee);
  const executions = stack.formatArn({
    service: "states",
    resource: "execution",
    resourceName: `${provisionName(deployment)}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  allow(grantee, [action], [executions]);
  NagSuppressions.addResourceSuppressions(
    grantee.role ?? grantee,
    [
      {
        id: "AwsSolutions-IAM5",
        reason: `${action} acts on one execution, whose ARN ends in its run id: the grant names the executions of the provision state machine (execution:${provisionName(deployment)}:*) and no others`,
        appliesTo: [
          {
            regex: `/^Resource::arn:<AWS::Partition>:states:.*:execution:${provisionName(deployment)}:\\*$/g`,
          },
        ],
      },
    ],
    true,
  );
}

/** The Airbyte objects the config declares, by kind and name: the ids ensure-airbyte records. */
export function declaredAirbyteObjects(
  deployment: Deployment,
): readonly { readonly kind: AirbyteObjectKind; readonly name: string }[] {
  const airbyte = deployment.config.airbyte;
  if (!airbyte) return [];
  return [
    { kind: "workspace", name: airbyte.workspace },
    { kind: "destination", name: airbyte.destination.name },
    ...airbyte.sources.map((source) => ({ kind: "source" as const, name: source.name })),
    ...airbyte.connections.map((connection) => ({ kind: "connection" as const, name: connection.name })),
  ];
}

/**
 * The parameters of the connections the pipelines' steps name (`connection: "<name>"`): what
 * start/poll/cancel-step and the reconciler read to resolve a name to its id, and nothing else.
 */
export function namedConnectionParameterArns(stack: Stack, deployment: Deployment): string[] {
  const names = deployment.config.pipelines.flatMap((pipeline) =>
    pipeline.stages.flatMap((stage) =>
      stage.steps.flatMap((step) =>
        step.tool === "airbyte" && step.connection !== undefined ? [step.connection] : [],
      ),
    ),
  );
  return provisionedObjectArns(
    stack,
    deployment,
    [...new Set(names)].map((name) => ({ kind: "connection" as const, name })),
  );
}

function provisionedObjectArns(
  stack: Stack,
  deployment: Deployment,
  objects: readonly { readonly kind: AirbyteObjectKind; readonly name: string }[],
): string[] {
  return objects.map(({ kind, name }) =>
    parameterArn(stack, provisionedObjectParameterName(deployment.stage, kind, name)),
  );
}

function secretArns(stack: Stack, deployment: Deployment, names: readonly string[]): string[] {
  return [...new Set(names)].map((name) => parameterArn(stack, secretParameterName(deployment.stage, name)));
}

function parameterArn(stack: Stack, parameter: string): string {
  // the parameter's name starts with "/", which formatArn would double
  return stack.formatArn({ service: "ssm", resource: "parameter", resourceName: parameter.slice(1) });
}
