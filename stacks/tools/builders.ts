import type { Stack } from "aws-cdk-lib";
import { AirbyteToolStack } from "./airbyte-stack";
import { grouparooToolStackProps } from "./grouparoo-props";
import { GrouparooToolStack } from "./grouparoo-stack";
import type { ToolStackBuilders } from "./templates";

/** The real tool stacks, their props derived from the deployment's config (stacks/tools/templates.ts builds them). */
export const TOOL_STACK_BUILDERS: ToolStackBuilders = {
  airbyte: (app, stackName, deployment, env): Stack => {
    const { config, stage } = deployment;
    const hosting = config.provisioning;
    const tool = config.tools.airbyte;
    if (!hosting || !tool)
      throw new Error(
        "the config does not self-host Airbyte (provisioning.hosting.airbyte and tools.airbyte)",
      );
    return new AirbyteToolStack(app, stackName, {
      stackName,
      env,
      stage,
      hosting,
      airbyteUrl: new URL(tool.baseUrl).origin,
    });
  },
  grouparoo: (app, stackName, deployment, env): Stack =>
    new GrouparooToolStack(app, stackName, {
      ...grouparooToolStackProps(deployment.config, deployment.stage),
      stackName,
      env,
    }),
};
