import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { SelfHostableTool } from "./names";

/**
 * What the provision state machine's tool-stack function needs to deploy a self-hosted tool's
 * stack: per tool, the stack's name, its template's S3 URL (a template asset synthesized with the
 * app) and the CloudFormation parameters only the deployed app knows (network, parameter names,
 * bucket). Built by stacks/tools/templates.ts; consumed by stacks/provisioning.ts.
 */
export interface ToolStackTemplate {
  readonly stackName: string;
  readonly templateUrl: string;
  readonly parameters: Readonly<Record<string, string>>;
}

export interface ToolStackTemplates {
  /** only the tools the config self-hosts */
  readonly stacks: Partial<Readonly<Record<SelfHostableTool, ToolStackTemplate>>>;
  /** the CloudFormation service role the stacks are deployed with (passed as RoleARN) */
  readonly serviceRoleArn: string;
  /** the variables of the function that deploys them: TAPESTRY_TOOL_STACKS (JSON of `stacks`) and TAPESTRY_TOOL_STACKS_ROLE_ARN */
  readonly environment: Readonly<Record<string, string>>;
  /** grants a function what deploying and deleting the stacks takes: CloudFormation on the stacks by name, iam:PassRole on the service role, s3:GetObject on the templates */
  grantDeploy(fn: IFunction): void;
}
