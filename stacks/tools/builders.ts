import type { Stack } from "aws-cdk-lib";
import { AirbyteToolStack, airbyteToolStackProps } from "./airbyte-stack";
import { grouparooToolStackProps } from "./grouparoo-props";
import { GrouparooToolStack } from "./grouparoo-stack";
import type { ToolStackBuilders } from "./templates";

/** The real tool stacks, their props derived from the deployment's config (stacks/tools/templates.ts builds them). */
export const TOOL_STACK_BUILDERS: ToolStackBuilders = {
  airbyte: (app, stackName, deployment, env): Stack =>
    new AirbyteToolStack(app, stackName, {
      ...airbyteToolStackProps(deployment.config, deployment.stage),
      stackName,
      env,
    }),
  grouparoo: (app, stackName, deployment, env): Stack =>
    new GrouparooToolStack(app, stackName, {
      ...grouparooToolStackProps(deployment.config, deployment.stage),
      stackName,
      env,
    }),
};
