import { readFileSync } from "node:fs";
import { join } from "node:path";
import { secretParameterName } from "@tapestry/core/adapters/aws";
import { secretsPath } from "@tapestry/core/adapters/aws/ssm-secrets";
import { selfHostedTools } from "@tapestry/core/config";
import { App, BootstraplessSynthesizer, Fn, Stack } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Asset } from "aws-cdk-lib/aws-s3-assets";
import { NagSuppressions } from "cdk-nag";
import type { Construct } from "constructs";
import { useProject } from "sst/project.js";
import type { Deployment } from "../deployment";
import { allow } from "../lambda";
import { TOOL_STACK_BUILDERS } from "./builders";
import type { ToolStackTemplate, ToolStackTemplates } from "./contracts";
import { SELF_HOSTABLE_TOOLS, type SelfHostableTool, toolStackName } from "./names";
import type { ToolNetwork } from "./network";
import { toolStacksServiceRole } from "./service-role";

/**
 * Builds one tool's stack (stacks/tools/airbyte-stack.ts, grouparoo-stack.ts) in the tool
 * templates' own App, its config-derived props baked in, for the app's region (the load
 * balancers' access-log policies are regional); the account is left to the deployment.
 */
export type ToolStackBuilder = (
  app: App,
  stackName: string,
  deployment: Deployment,
  env: { readonly region: string },
) => Stack;
export type ToolStackBuilders = Readonly<Record<SelfHostableTool, ToolStackBuilder>>;

export interface ToolStackTemplatesProps {
  readonly deployment: Deployment;
  /** the deployment's tool network (`toolNetworkOf(deployment)`): present whenever a tool is self-hosted */
  readonly network: ToolNetwork | undefined;
  /** the Provisioning stack's bucket of Grouparoo's config files (their key prefix is `grouparoo/`) */
  readonly grouparooConfigBucketName: string;
  /** where the tool stacks' cloud assembly is written (default: the SST build output, `.sst/tool-stacks/<stage>`) */
  readonly outdir?: string;
}

/** The CloudFormation actions the deployer uses on a tool stack (helper prov-stacks' deployer). */
export const TOOL_STACK_DEPLOY_ACTIONS = [
  "cloudformation:CreateStack",
  "cloudformation:UpdateStack",
  "cloudformation:DeleteStack",
  "cloudformation:DescribeStacks",
  "cloudformation:DescribeStackEvents",
] as const;

/**
 * The self-hosted tools' stacks as template assets (ADR 0022), or undefined when the config hosts
 * none. The stacks are synthesized in their own App (never an SST stack: `sst deploy` uploads their
 * templates and nothing more), without a bootstrap rule and with no asset of their own, so each
 * template deploys alone from its S3 URL; what only the deployed app knows is passed as their
 * Parameters (the network, the Airbyte credentials' parameter names, Grouparoo's bucket and the
 * secrets' path). The service role they are deployed with is made here; the deployer function
 * gets `environment` and `grantDeploy`.
 */
export function toolStackTemplates(
  scope: Construct,
  props: ToolStackTemplatesProps,
  builders: ToolStackBuilders = TOOL_STACK_BUILDERS,
): ToolStackTemplates | undefined {
  const { deployment, network } = props;
  const tools = selfHostedTools(deployment.config);
  if (tools.length === 0) return undefined;
  if (!network) {
    throw new Error(
      "the config self-hosts a tool but the app has no tool network: the ToolNetwork stack must be built before the tool stacks' templates (stacks/index.ts)",
    );
  }
  const stack = Stack.of(scope);

  const app = new App({
    autoSynth: false,
    outdir: props.outdir ?? join(useProject().paths.out, "tool-stacks", deployment.stage),
    defaultStackSynthesizer: new BootstraplessSynthesizer(),
  });
  const env = { region: stack.region };
  const built = tools.map((tool) => ({
    tool,
    stack: builders[tool](app, toolStackName(deployment.stage, tool), deployment, env),
  }));
  const assembly = app.synth();

  const parameters = toolStackParameters({ ...props, network });
  const assets: Asset[] = [];
  const stacks: Partial<Record<SelfHostableTool, ToolStackTemplate>> = {};
  for (const { tool, stack: toolStack } of built) {
    const artifact = assembly.getStackByName(toolStack.stackName);
    const template = JSON.parse(readFileSync(artifact.templateFullPath, "utf8")) as CfnTemplateShape;
    const asset = new Asset(scope, `${TOOL_IDS[tool]}StackTemplate`, {
      path: artifact.templateFullPath,
      displayName: `${toolStack.stackName} template`,
    });
    assets.push(asset);
    stacks[tool] = {
      stackName: toolStack.stackName,
      templateUrl: asset.httpUrl,
      parameters: parametersFor(toolStack.stackName, template, parameters[tool]),
    };
  }

  const serviceRole = toolStacksServiceRole(scope, deployment);
  const stackArns = SELF_HOSTABLE_TOOLS.map((tool) =>
    stack.formatArn({
      service: "cloudformation",
      resource: "stack",
      resourceName: `${toolStackName(deployment.stage, tool)}/*`,
    }),
  );
  return {
    stacks,
    serviceRoleArn: serviceRole.roleArn,
    environment: {
      TAPESTRY_TOOL_STACKS: stack.toJsonString(stacks),
      TAPESTRY_TOOL_STACKS_ROLE_ARN: serviceRole.roleArn,
    },
    grantDeploy(fn: IFunction) {
      allow(fn, TOOL_STACK_DEPLOY_ACTIONS, stackArns);
      allow(fn, ["iam:PassRole"], [serviceRole.roleArn]);
      // CloudFormation reads a TemplateURL with the caller's permissions
      allow(
        fn,
        ["s3:GetObject"],
        assets.map((asset) => asset.bucket.arnForObjects(asset.s3ObjectKey)),
      );
      NagSuppressions.addResourceSuppressions(
        fn.role ?? fn,
        [
          {
            id: "AwsSolutions-IAM5",
            reason:
              "A stack's ARN ends in the id CloudFormation gives it at creation: the grant names the two tool stacks (stack/tapestry-<stage>-airbyte/* and -grouparoo/*) and no other",
            appliesTo: [
              {
                regex: `/^Resource::arn:<AWS::Partition>:cloudformation:.*:stack\\/${deployment.prefix}-(${SELF_HOSTABLE_TOOLS.join("|")})\\/\\*$/g`,
              },
            ],
          },
        ],
        true,
      );
    },
  };
}

const TOOL_IDS: Readonly<Record<SelfHostableTool, string>> = { airbyte: "Airbyte", grouparoo: "Grouparoo" };

interface CfnTemplateShape {
  readonly Parameters?: Record<string, { readonly Default?: unknown }>;
}

/**
 * Every Parameter of shared-s17.md's contract, per tool: the network for both, Airbyte's two
 * credential parameter names, Grouparoo's config bucket and the secrets' SSM path.
 */
export function toolStackParameters(props: {
  readonly deployment: Deployment;
  readonly network: ToolNetwork;
  readonly grouparooConfigBucketName: string;
}): Record<SelfHostableTool, Record<string, string>> {
  const { deployment, network } = props;
  const networkParameters = {
    VpcId: network.vpc.vpcId,
    PublicSubnetIds: Fn.join(",", [...network.publicSubnetIds]),
    PrivateSubnetIds: Fn.join(
      ",",
      network.privateSubnets.map((subnet) => subnet.subnetId),
    ),
    ControlPlaneEgressCidrs: Fn.join(",", [...network.egressCidrs]),
  };
  const airbyte: Record<string, string> = { ...networkParameters };
  if (selfHostedTools(deployment.config).includes("airbyte")) {
    const auth = deployment.config.tools.airbyte?.auth;
    if (auth?.kind !== "client-credentials") {
      throw new Error(
        'tools.airbyte.auth: a self-hosted Airbyte needs kind "client-credentials" (its host writes the application\'s client id and secret into the two secrets it names)',
      );
    }
    airbyte.AirbyteClientIdParameter = secretParameterName(deployment.stage, auth.clientIdSecret);
    airbyte.AirbyteClientSecretParameter = secretParameterName(deployment.stage, auth.clientSecretSecret);
  }
  return {
    airbyte,
    grouparoo: {
      ...networkParameters,
      GrouparooConfigBucket: props.grouparooConfigBucketName,
      SecretParameterPrefix: secretsPath(deployment.stage),
    },
  };
}

/**
 * The values for exactly the Parameters the template declares: one it declares without a default
 * that the app cannot fill, or one the app fills that it does not declare, is a broken contract
 * between the tool stack and this file, refused at synth rather than at CreateStack.
 */
function parametersFor(
  stackName: string,
  template: CfnTemplateShape,
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  const declared = template.Parameters ?? {};
  const missing = Object.entries(declared)
    .filter(([name, parameter]) => parameter.Default === undefined && !(name in values))
    .map(([name]) => name);
  const unknown = Object.keys(values).filter((name) => !(name in declared));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(
      `the template of ${stackName} does not match the parameters the app passes (shared contract, stacks/tools/templates.ts): ${[
        ...missing.map((name) => `${name} is declared without a default but never passed`),
        ...unknown.map((name) => `${name} is passed but not declared`),
      ].join("; ")}`,
    );
  }
  return { ...values };
}
