import type { AwsDeployConfig, TapestryConfig } from "@tapestry/core/config";
import type { App } from "sst/constructs";
import { EventPublishers } from "./event-publishers";

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
  /**
   * Prod-like stages (`aws.retainDataOnStages`) keep the ledger table, the event bus and its
   * archive and the dead-letter queues when their stacks go away.
   */
  readonly retainData: boolean;
  /**
   * `aws.adoptRetainedData` on a stage that keeps its data: the stacks use the kept table, bus,
   * archive and queues by name instead of creating them (a redeploy after `sst remove`). A stage
   * that keeps nothing has nothing to adopt, so the switch does nothing there.
   */
  readonly adoptRetainedData: boolean;
  /** The names of what a prod-like stage keeps: deterministic, so a redeploy finds them again. */
  readonly names: RetainedNames;
  /** The functions allowed to publish `tapestry.*` events, registered by `tapestryFunction`. */
  readonly publishers: EventPublishers;
  /** when the app is synthesized: a rate schedule's first fire is placed after it */
  readonly synthesizedAt: Date;
}

export interface RetainedNames {
  readonly bus: string;
  readonly archive: string;
  readonly ledgerTable: string;
}

/** The deployment of `config` to `stage`: every name and switch the stacks read, derived once. */
export function deploymentFor(stage: string, config: TapestryConfig, synthesizedAt = new Date()): Deployment {
  const prefix = `tapestry-${stage}`;
  const retainData = config.aws.retainDataOnStages.includes(stage);
  return {
    config,
    stage,
    aws: config.aws,
    prefix,
    retainData,
    adoptRetainedData: retainData && config.aws.adoptRetainedData,
    names: { bus: prefix, archive: prefix, ledgerTable: `${prefix}-ledger` },
    publishers: new EventPublishers(),
    synthesizedAt,
  };
}

const deployments = new WeakMap<App, Deployment>();

export function bindDeployment(app: App, config: TapestryConfig, synthesizedAt?: Date): Deployment {
  const deployment = deploymentFor(app.stage, config, synthesizedAt);
  deployments.set(app, deployment);
  return deployment;
}

export function useDeployment(app: App): Deployment {
  const deployment = deployments.get(app);
  if (!deployment) throw new Error("the Tapestry stacks were added without bindDeployment(app, config)");
  return deployment;
}
