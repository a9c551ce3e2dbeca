/**
 * `npm run synth [-- --stage <name>] [-- --config <file>]`: writes every stack's CloudFormation
 * template to .sst/dist/ (the cloud assembly: `<stage>-tapestry-<Stack>.template.json` and the
 * functions' bundles as assets), offline, without AWS credentials. Exit 2 on a bad config or option.
 */
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { TapestryError } from "@tapestry/core/errors";
import { DEPLOYMENT_STAGE_NAME } from "@tapestry/core/names";
import { loadConfig } from "../packages/cli/src/load-config";
import { synthesizeOffline } from "../stacks/offline-synth";

const OUTDIR = ".sst/dist";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stage: { type: "string", default: "dev" },
      config: { type: "string", default: "tapestry.config.ts" },
    },
  });
  const stage = values.stage;
  if (!DEPLOYMENT_STAGE_NAME.pattern.test(stage)) {
    console.error(`--stage: expected ${DEPLOYMENT_STAGE_NAME.rule}, got ${JSON.stringify(stage)}`);
    return 2;
  }
  let config: Awaited<ReturnType<typeof loadConfig>>;
  try {
    config = await loadConfig(values.config);
  } catch (error) {
    if (!(error instanceof TapestryError)) throw error;
    console.error(error.message);
    return 2;
  }
  // a fresh assembly: assets of earlier synths would otherwise pile up beside the templates
  rmSync(OUTDIR, { recursive: true, force: true });
  const started = performance.now();
  const { app } = await synthesizeOffline(config, { stage, outdir: OUTDIR });
  const assembly = app.synth();
  for (const stack of assembly.stacks) {
    const resources = Object.keys((stack.template as { Resources?: object }).Resources ?? {}).length;
    console.log(`${resolve(stack.templateFullPath)}  (${resources} resources)`);
  }
  console.log(
    `${assembly.stacks.length} stacks for stage ${stage} in ${((performance.now() - started) / 1000).toFixed(1)} s; nothing was sent to AWS`,
  );
  return 0;
}

process.exitCode = await main();
