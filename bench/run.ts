import { cpus, platform, release, totalmem } from "node:os";
import { TOOL_STACK_BUILDERS } from "../stacks/tools/builders";
import { benchAws } from "./aws";
import { benchBundles } from "./bundles";
import { benchCliValidate } from "./cli";
import { benchConfig, benchConnector } from "./foundation";
import { benchCliOnce, benchHandoff, benchTransitions } from "./pipeline";
import { benchStatusLoad } from "./status-load";
import { benchToolStacks } from "./tool-stacks";

/**
 * `npm run bench [-- <section> ...]`: prints figures and ratios; nothing here asserts a threshold.
 * Sections: config, connector, aws, tool-stacks, bundles, handoff, transitions, cli, validate, status-load (all by default).
 */
const SECTIONS = {
  config: benchConfig,
  connector: benchConnector,
  aws: benchAws,
  "tool-stacks": () => benchToolStacks(TOOL_STACK_BUILDERS),
  bundles: benchBundles,
  handoff: benchHandoff,
  transitions: benchTransitions,
  cli: benchCliOnce,
  validate: benchCliValidate,
  "status-load": benchStatusLoad,
} as const;

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in SECTIONS));
if (unknown.length > 0) {
  console.error(
    `unknown bench section ${unknown.join(", ")}: choose from ${Object.keys(SECTIONS).join(", ")}`,
  );
  process.exit(2);
}

console.log(
  `machine: ${cpus()[0]?.model ?? "unknown CPU"} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()} ${process.arch}, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`,
);
// each section prints as soon as it is done: the pipeline sections run in real time (about 3 minutes)
for (const [name, section] of Object.entries(SECTIONS)) {
  if (asked.length > 0 && !asked.includes(name)) continue;
  for (const line of await section()) console.log(line);
}
