import type { AwsDeployConfig, TapestryConfig } from "@tapestry/core/config";
import type { App } from "sst/constructs";

/**
 * What every stack of one deployment reads: the validated tapestry config and the names derived
 * from the stage. SST calls stack functions with `{ app, stack }` only, so the deployment is kept
 * beside its app rather than passed as an argument.
 */
export interface Deployment {
  readonly config: TapestryConfig;
  readonly stage: string;
  readonly aws: AwsDeployConfig;
  /** the prefix of every named resource: `tapestry-<stage>` (bus, archive, registry, schedule group) */
  readonly prefix: string;
  /** prod-like stages keep the ledger table and the event archive when their stack goes away */
  readonly retainData: boolean;
}

const deployments = new WeakMap<App, Deployment>();

export function bindDeployment(app: App, config: TapestryConfig): Deployment {
  const deployment: Deployment = {
    config,
    stage: app.stage,
    aws: config.aws,
    prefix: `tapestry-${app.stage}`,
    retainData: config.aws.retainDataOnStages.includes(app.stage),
  };
  deployments.set(app, deployment);
  return deployment;
}

export function useDeployment(app: App): Deployment {
  const deployment = deployments.get(app);
  if (!deployment) throw new Error("the Tapestry stacks were added without bindDeployment(app, config)");
  return deployment;
}
