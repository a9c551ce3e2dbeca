/**
 * The self-hosted tools' stacks as the tool-stack function deploys them (TAPESTRY_TOOL_STACKS,
 * TAPESTRY_TOOL_STACKS_ROLE_ARN) and CloudFormation's client: the tool-stack function's only.
 */
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudFormationToolStacks } from "@tapestry/core/adapters/aws/cloudformation-stacks";
import { STACK_TOOLS, type StackTemplate, type StackTool } from "@tapestry/core/provisioning/stacks";
import * as z from "zod";
import { EnvironmentError, env, once } from "./environment";

const templatesSchema = z.partialRecord(
  z.enum(STACK_TOOLS),
  z.object({
    stackName: z.string().min(1),
    templateUrl: z.string().url(),
    parameters: z.record(z.string(), z.string()),
  }),
);

/** The stacks by tool, parsed from TAPESTRY_TOOL_STACKS at the first call. */
export const toolStackTemplates = once((): Partial<Record<StackTool, StackTemplate>> => {
  const parsed = templatesSchema.safeParse(JSON.parse(env("TAPESTRY_TOOL_STACKS")));
  if (!parsed.success) {
    throw new EnvironmentError(
      `environment variable TAPESTRY_TOOL_STACKS is invalid (${parsed.error.issues[0]?.message ?? "unreadable"}): it should hold {"<tool>": {"stackName", "templateUrl", "parameters"}}`,
    );
  }
  return parsed.data;
});

export const cloudFormationStacks = once(
  () => new CloudFormationToolStacks(new CloudFormationClient({}), env("TAPESTRY_TOOL_STACKS_ROLE_ARN")),
);
