import type { TapestryConfig } from "@tapestry/core/config";
import { Tags } from "aws-cdk-lib";
import { type App, getStack } from "sst/constructs";
import { Alerts } from "./alerts";
import { bindDeployment } from "./deployment";
import { Events } from "./events";
import { Ledger } from "./ledger";
import { Pipelines } from "./pipelines";
import { Provisioning } from "./provisioning";
import { StatusApi } from "./status-api";
import { SST_CUSTOM_RESOURCE_HANDLER, TapestryStackSynthesizer } from "./synthesizer";
import { ToolNetwork, toolNetworkWanted } from "./tool-network";

/** Every stack of the control plane, in dependency order; Alerts last (its health alarms cover every function and queue). */
export const TAPESTRY_STACKS = [
  Events,
  Ledger,
  ToolNetwork,
  Pipelines,
  Provisioning,
  StatusApi,
  Alerts,
] as const;

/** The stacks a config's app has: ToolNetwork only when a tool is self-hosted. */
export function tapestryStacksFor(config: TapestryConfig): readonly (typeof TAPESTRY_STACKS)[number][] {
  return TAPESTRY_STACKS.filter((stack) => stack !== ToolNetwork || toolNetworkWanted(config));
}

/**
 * Adds the control plane to an SST app for a validated config: the one entry used by
 * sst.config.ts, `npm run synth` and the infrastructure tests alike.
 */
export function addTapestryStacks(
  app: App,
  config: TapestryConfig,
  options: { readonly synthesizedAt?: Date } = {},
): void {
  const deployment = bindDeployment(app, config, options.synthesizedAt);
  Tags.of(app).add("app", "tapestry");
  Tags.of(app).add("stage", app.stage);
  for (const stackFunction of tapestryStacksFor(config)) {
    // SST v2 gives every stack a Lambda (Node 22, AWS-managed policy) for the custom resources of
    // its own constructs (source maps, Auth, Script); these stacks use none of them, so it goes,
    // and the synthesizer does not publish its code.
    app.stack(stackFunction, { synthesizer: new TapestryStackSynthesizer() });
    getStack(stackFunction).node.tryRemoveChild(SST_CUSTOM_RESOURCE_HANDLER);
  }
  deployment.publishers.restrictBus();
}
