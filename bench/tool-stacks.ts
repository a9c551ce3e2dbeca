import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { App, Stack } from "aws-cdk-lib";
import { deploymentFor } from "../stacks/deployment";
import { synthesizeOffline } from "../stacks/offline-synth";
import { createToolNetwork } from "../stacks/tools/network";
import { type ToolStackBuilders, toolStackTemplates } from "../stacks/tools/templates";
import kickstart from "../tapestry.config";

/** CloudFormation's quotas a template must fit (docs: CloudFormation quotas). */
export const CLOUDFORMATION_LIMITS = {
  /** a template body passed by S3 URL, as the tool stacks are */
  templateBytesViaS3: 1_000_000,
  /** a template body passed inline (TemplateBody), for comparison */
  templateBytesInline: 51_200,
  resources: 500,
} as const;

/** The kickstart config with both tools self-hosted in a new VPC of two NAT gateways, behind a certificate. */
export function selfHostedKickstart(): TapestryConfig {
  const config = structuredClone(kickstart);
  return parseConfig(
    {
      ...config,
      tools: {
        ...config.tools,
        airbyte: { ...config.tools.airbyte, baseUrl: "https://airbyte.rain-shield.example/api/public/v1" },
      },
      provisioning: {
        hosting: { airbyte: "self-hosted", grouparoo: "self-hosted" },
        network: { vpc: "new", natGateways: 2 },
        allowedCidrs: ["203.0.113.0/24"],
        certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0f9a3c1e-5b7d-4c2a-9e8f-1a2b3c4d5e6f",
      },
    },
    "bench: self-hosted kickstart",
  );
}

/**
 * The self-hosted app offline: how long the synth takes with the tool network and the tool-facing
 * functions placed in it, beside the kickstart's; and how long
 * their own App takes and how each template compares with CloudFormation's limits.
 */
export async function benchToolStacks(builders: ToolStackBuilders): Promise<string[]> {
  const lines: string[] = [];
  const synthSeconds = async (config: TapestryConfig, stage: string) => {
    const started = performance.now();
    const { app } = await synthesizeOffline(config, { stage });
    app.synth();
    return (performance.now() - started) / 1000;
  };
  await synthSeconds(parseConfig(structuredClone(kickstart)), "bench"); // loads aws-cdk-lib, starts esbuild
  const external = await synthSeconds(parseConfig(structuredClone(kickstart)), "bench");
  const selfHosted = await synthSeconds(selfHostedKickstart(), "bench");
  lines.push(
    `synth, both tools self-hosted (ToolNetwork stack, tool-facing functions in its VPC): ${selfHosted.toFixed(1)} s; kickstart (no tool hosted): ${external.toFixed(1)} s; ${(selfHosted / external).toFixed(2)}x`,
  );
  lines.push(...toolTemplateLines(builders));
  return lines;
}

/** The tool stacks' own App: synth time and each template's size and resource count against the limits. */
export function toolTemplateLines(builders: ToolStackBuilders): string[] {
  const outdir = mkdtempSync(join(tmpdir(), "bench-tool-stacks-"));
  try {
    const config = selfHostedKickstart();
    const app = new App();
    const stack = new Stack(app, "Provisioning", { env: { account: "123456789012", region: "us-east-1" } });
    const deployment = deploymentFor("bench", config);
    const network = createToolNetwork(stack, deployment);
    if (!network) throw new Error("the bench config self-hosts no tool");
    const started = performance.now();
    const templates = toolStackTemplates(
      stack,
      { deployment, network, grouparooConfigBucketName: "bench-grouparoo-config", outdir },
      builders,
    );
    const seconds = (performance.now() - started) / 1000;
    const lines = [`tool stacks' own App (synthesized and shipped as assets): ${seconds.toFixed(2)} s`];
    for (const [tool, shipped] of Object.entries(templates?.stacks ?? {})) {
      const file = join(outdir, `${shipped.stackName}.template.json`);
      const bytes = statSync(file).size;
      const resources = Object.keys(
        (JSON.parse(readFileSync(file, "utf8")) as { Resources: object }).Resources,
      ).length;
      const ratio = (value: number, limit: number) => `${((value / limit) * 100).toFixed(1)}%`;
      lines.push(
        `template ${tool}: ${(bytes / 1024).toFixed(1)} KiB = ${ratio(bytes, CLOUDFORMATION_LIMITS.templateBytesViaS3)} of the 1 MB limit via S3 (${ratio(bytes, CLOUDFORMATION_LIMITS.templateBytesInline)} of 51,200 B inline); ${resources} resources = ${ratio(resources, CLOUDFORMATION_LIMITS.resources)} of 500`,
      );
    }
    return lines;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
