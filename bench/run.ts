import { cpus, platform, release, totalmem } from "node:os";
import { benchConfig, benchConnector } from "./foundation";
import { benchCliOnce, benchHandoff, benchTransitions } from "./pipeline";

/** `npm run bench`: prints figures and ratios; nothing here asserts a threshold. */
console.log(
  `machine: ${cpus()[0]?.model ?? "unknown CPU"} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()} ${process.arch}, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`,
);
// each section prints as soon as it is done: the pipeline sections run in real time (about 3 minutes)
for (const section of [benchConfig, benchConnector, benchHandoff, benchTransitions, benchCliOnce]) {
  for (const line of await section()) console.log(line);
}
