import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "@tapestry/local";
import { percentile } from "./stats";

/**
 * `tapestry validate` on the kickstart config as a user runs it (a child process on Node 24: tsx,
 * the CLI's modules, the config compiled and checked; no control plane), and the wall time of
 * `tapestry --version` beside it: what any command costs before it does anything.
 */

const NODE = join(REPO_ROOT, "node_modules", ".bin", "node");
const CLI = join(REPO_ROOT, "packages", "cli", "bin", "tapestry.js");

function timeCommand(args: readonly string[]): Promise<{ ms: number; code: number | null }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, ...args], { cwd: REPO_ROOT, stdio: "ignore" });
    child.on("error", reject);
    child.on("close", (code) => resolve({ ms: performance.now() - started, code }));
  });
}

export async function benchCliValidate(times = 7): Promise<string[]> {
  const lines: string[] = [];
  for (const args of [["validate"], ["--version"]]) {
    const sample: { ms: number; code: number | null }[] = [];
    for (let i = 0; i < times; i++) sample.push(await timeCommand(args));
    const ms = sample.map((s) => s.ms);
    const codes = [...new Set(sample.map((s) => s.code))].join("/");
    lines.push(
      `tapestry ${args.join(" ")} (kickstart config, ${times} runs, exit ${codes}): median ${(percentile(ms, 50) / 1000).toFixed(2)} s (min ${(Math.min(...ms) / 1000).toFixed(2)} s, max ${(Math.max(...ms) / 1000).toFixed(2)} s)`,
    );
  }
  return lines;
}
