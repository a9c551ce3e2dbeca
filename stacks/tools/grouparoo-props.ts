import { createHash } from "node:crypto";
import type { TapestryConfig } from "@tapestry/core/config";
import { grouparooConfigBundle } from "@tapestry/core/provisioning";
import { toolStackName } from "./names";

/**
 * What the Grouparoo tool stack takes from a parsed config besides the provisioning section
 * (stacks/tools/grouparoo-stack.ts), computed here so the caller that synthesizes the stack
 * (stacks/tools/templates.ts) and the tests build it the same way.
 */

/** An app option's secret: Grouparoo reads `optionEnv` (GROUPAROO_OPTION__APP__<NAME>, ADR 0021), ECS fills it from the SSM parameter `${SecretParameterPrefix}<secretName>`. */
export interface GrouparooAppSecret {
  readonly optionEnv: string;
  readonly secretName: string;
}

/**
 * The app options' secrets Grouparoo's generated config files reference (the warehouse reporter's
 * private key, the Mailchimp API key): the same list the files' environment.json names. None when
 * the config declares no grouparoo section (the stack then runs Grouparoo with no app).
 */
export function grouparooAppSecrets(config: TapestryConfig): GrouparooAppSecret[] {
  if (!config.grouparoo || !config.warehouse) return [];
  return grouparooConfigBundle(config).environment.map((e) => ({
    optionEnv: e.variable,
    secretName: e.secret,
  }));
}

/**
 * A digest of the config files the provision run writes to `grouparoo/` before it deploys the
 * stack. It is an environment value of the tasks, so changed files make a changed task definition
 * and CloudFormation rolls the services (whose init container copies the new files); unchanged
 * files leave the stack as it is (ADR 0025). Undefined when the config declares no grouparoo
 * section (no file is written: Grouparoo is then configured in its own UI).
 */
export function grouparooConfigDigest(config: TapestryConfig): string | undefined {
  // no grouparoo section: the provision run writes no file, Grouparoo is configured in its UI
  if (!config.grouparoo || !config.warehouse) return undefined;
  const hash = createHash("sha256");
  for (const file of grouparooConfigBundle(config).files) {
    hash.update(file.path).update("\0").update(file.content).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * Everything GrouparooToolStack takes from a parsed config that self-hosts Grouparoo (the caller
 * adds `env`, the app's account and region): `new GrouparooToolStack(app, id, { ...props, env })`.
 */
export function grouparooToolStackProps(config: TapestryConfig, stage: string) {
  const hosting = config.provisioning;
  const tool = config.tools.grouparoo;
  if (hosting?.hosting.grouparoo !== "self-hosted" || !tool) {
    throw new Error(
      "the config does not self-host Grouparoo (provisioning.hosting.grouparoo and tools.grouparoo)",
    );
  }
  return {
    stackName: toolStackName(stage, "grouparoo"),
    stage,
    hosting,
    grouparooUrl: new URL(tool.baseUrl).origin,
    appSecrets: grouparooAppSecrets(config),
    apiKeySecret: tool.apiKeySecret,
    ...optional("configDigest", grouparooConfigDigest(config)),
  };
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
