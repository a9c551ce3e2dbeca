/**
 * Lambda for the tool-stack tasks of the provision and deprovision state machines
 * (Deploy/Check<Tool>Stack, Delete<Tool>Stack, Check<Tool>Deleted): a few CloudFormation calls per
 * invocation; the waiting is the state machines' Wait states.
 */
import type { ToolStackTaskDeps } from "@tapestry/core/provisioning/stacks";
import type { Context } from "aws-lambda";
import { createToolStackHandler } from "../provisioning/handlers";
import { logger } from "./runtime/powertools";
import { provisioningDeps } from "./runtime/provisioning";
import { deferredToolStackRecords } from "./runtime/tool-stack-records";
import { cloudFormationStacks, toolStackTemplates } from "./runtime/tool-stacks";

export function toolStackDeps(): ToolStackTaskDeps {
  return {
    ...provisioningDeps(),
    get templates() {
      return toolStackTemplates();
    },
    cfn: {
      describe: async (name) => cloudFormationStacks().describe(name),
      create: async (template) => cloudFormationStacks().create(template),
      update: async (template) => cloudFormationStacks().update(template),
      delete: async (name) => cloudFormationStacks().delete(name),
      events: async (name, since) => cloudFormationStacks().events(name, since),
    },
    records: deferredToolStackRecords(),
  };
}

// Built on the first invocation, kept for the container: the bundled config and the variables are
// read then, so a missing one fails that invocation by name rather than the cold start.
let built: ((event: unknown, context: Context) => Promise<unknown>) | undefined;

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  built ??= createToolStackHandler(toolStackDeps(), logger());
  return built(event, context);
};
