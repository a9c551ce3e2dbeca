import { arch, cpus, platform, totalmem } from "node:os";
import { benchConfig, benchConnector } from "./foundation";

/** `npm run bench`: prints figures and ratios; nothing here asserts a threshold. */
const lines = [
  `machine: ${cpus()[0]?.model ?? "unknown CPU"} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${arch()}, Node ${process.version}`,
  ...(await benchConfig()),
  ...(await benchConnector()),
];
for (const line of lines) console.log(line);
