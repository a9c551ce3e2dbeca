/**
 * Writes state-machines/pipeline-run.asl.json from its TypeScript description
 * (state-machines/src/pipeline-run.ts). Run it after changing the description, or the retry
 * classes and timeouts in packages/core/src/pipeline: `npm run asl`.
 * test/unit/asl/definition.test.ts fails when the committed file differs from its output.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { pipelineRunDefinition } from "./pipeline-run";

export const PIPELINE_RUN_ASL_PATH = fileURLToPath(new URL("../pipeline-run.asl.json", import.meta.url));

/** The exact text of state-machines/pipeline-run.asl.json. */
export function renderPipelineRunAsl(): string {
  return `${JSON.stringify(pipelineRunDefinition(), null, 2)}\n`;
}

function main(): void {
  writeFileSync(PIPELINE_RUN_ASL_PATH, renderPipelineRunAsl());
  console.log(`wrote ${PIPELINE_RUN_ASL_PATH}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
