import type { TapestryConfig } from "@tapestry/core/config";
import { Template } from "aws-cdk-lib/assertions";
import { type OfflineApp, type StackName, synthesizeOffline } from "../../stacks/offline-synth";

export type { StackName };

/** The fake account and region the tests synthesize for (never contacted). */
export const TEST_ACCOUNT = "123456789012";
export const TEST_REGION = "eu-central-1";

export interface SynthesizedApp extends OfflineApp {
  template(name: StackName): Template;
  /** every stack's template, as CloudFormation JSON */
  templates(): readonly { readonly stack: StackName; readonly json: CfnTemplate }[];
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
}

export async function synthesize(
  config: TapestryConfig,
  stage = "test",
  options: { readonly synthesizedAt?: Date } = {},
): Promise<SynthesizedApp> {
  const synthesized = await synthesizeOffline(config, {
    stage,
    account: TEST_ACCOUNT,
    region: TEST_REGION,
    synthesizedAt: options.synthesizedAt,
  });
  const cache = new Map<StackName, Template>();
  const template = (name: StackName): Template => {
    let found = cache.get(name);
    if (!found) {
      const stack = synthesized.stacks.get(name);
      if (!stack) throw new Error(`no stack ${name}`);
      found = Template.fromStack(stack);
      cache.set(name, found);
    }
    return found;
  };
  return {
    ...synthesized,
    template,
    templates: () =>
      [...synthesized.stacks.keys()].map((stack) => ({
        stack,
        json: template(stack).toJSON() as CfnTemplate,
      })),
  };
}
