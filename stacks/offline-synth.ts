import type { TapestryConfig } from "@tapestry/core/config";
import type { Stack } from "aws-cdk-lib";
import { App, getStack } from "sst/constructs";
import { initProject } from "sst/project.js";
import { addTapestryStacks, type TAPESTRY_STACKS, tapestryStacksFor } from "./index";

export type StackName = (typeof TAPESTRY_STACKS)[number]["name"];

export interface OfflineSynthOptions {
  readonly stage: string;
  /** where the cloud assembly (every stack's template) is written by `app.synth()` */
  readonly outdir?: string;
  /** account and region the templates are made for; nothing is ever sent there */
  readonly account?: string;
  readonly region?: string;
  /** the synthesis time the stacks see (default: now) */
  readonly synthesizedAt?: Date;
}

export interface OfflineApp {
  readonly app: App;
  readonly stacks: ReadonlyMap<StackName, Stack>;
}

/**
 * Builds the whole app for `config` as `sst deploy` would (the functions bundled by SST's
 * esbuild into .sst/artifacts), without AWS credentials or any AWS call. SST looks up its
 * bootstrap stack in AWS while finishing an app unless it runs as a test (NODE_ENV=test), which is
 * why NODE_ENV is set here: the lookup only serves the source-map uploader, and the functions are
 * bundled without source maps. Bundles are written per construct path, so never run two at once.
 */
export async function synthesizeOffline(
  config: TapestryConfig,
  options: OfflineSynthOptions,
): Promise<OfflineApp> {
  process.env.NODE_ENV = "test";
  await initProject({ stage: options.stage });
  const app = new App(
    {
      mode: "deploy",
      stage: options.stage,
      name: "tapestry",
      region: options.region ?? "us-east-1",
      account: options.account ?? "123456789012",
    },
    options.outdir ? { outdir: options.outdir } : {},
  );
  addTapestryStacks(app, config, { synthesizedAt: options.synthesizedAt });
  await app.finish();
  // getStack reads the app made last: collect this app's stacks before another is made
  const stacks = new Map(
    tapestryStacksFor(config).map((stack) => [stack.name as StackName, getStack(stack)]),
  );
  return { app, stacks };
}
