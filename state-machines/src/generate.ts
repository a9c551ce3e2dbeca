/**
 * Writes the state machines' ASL files from their TypeScript descriptions:
 * state-machines/pipeline-run.asl.json (src/pipeline-run.ts) and state-machines/provision.asl.json
 * (src/provision.ts). Run it after changing a description, or the retry classes and timeouts in
 * packages/core/src/pipeline and packages/core/src/provisioning: `npm run asl`.
 * test/unit/asl/definition.test.ts and test/provisioning/asl.test.ts fail when a committed file
 * differs from its output.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { deprovisionDefinition } from "./deprovision";
import { pipelineRunDefinition } from "./pipeline-run";
import { provisionDefinition } from "./provision";

export const PIPELINE_RUN_ASL_PATH = fileURLToPath(new URL("../pipeline-run.asl.json", import.meta.url));
export const PROVISION_ASL_PATH = fileURLToPath(new URL("../provision.asl.json", import.meta.url));
export const DEPROVISION_ASL_PATH = fileURLToPath(new URL("../deprovision.asl.json", import.meta.url));

/** The exact text of state-machines/pipeline-run.asl.json. */
export function renderPipelineRunAsl(): string {
  return `${JSON.stringify(pipelineRunDefinition(), null, 2)}\n`;
}

/** The exact text of state-machines/provision.asl.json. */
export function renderProvisionAsl(): string {
  return `${JSON.stringify(provisionDefinition(), null, 2)}\n`;
}

/** The exact text of state-machines/deprovision.asl.json. */
export function renderDeprovisionAsl(): string {
  return `${JSON.stringify(deprovisionDefinition(), null, 2)}\n`;
}

function main(): void {
  for (const [path, text] of [
    [PIPELINE_RUN_ASL_PATH, renderPipelineRunAsl()],
    [PROVISION_ASL_PATH, renderProvisionAsl()],
    [DEPROVISION_ASL_PATH, renderDeprovisionAsl()],
  ] as const) {
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
